from odoo import Command
from odoo.tests import tagged

from .common import CancelReconciledCommon


@tagged("post_install", "-at_install")
class TestEngineStock(CancelReconciledCommon):
    """What happens to deliveries: pending ones cancelled, delivered goods returned."""

    def quantity_in(self, product, location):
        return sum(self.env["stock.quant"]._gather(product, location, strict=True).mapped("quantity"))

    def returns_of(self, order):
        return order.picking_ids.filtered("return_id")

    def test_undelivered_order(self):
        order = self.create_order()
        invoice = self.invoice(order)
        self.pay(invoice)
        delivery = order.picking_ids

        logs, _action = self.cancel(order)

        self.assertEqual(delivery.state, "cancel")
        self.assertFalse(self.returns_of(order))
        self.assertRecordValues(
            logs.line_ids.filtered(lambda line: line.kind == "picking_cancel"),
            [{"picking_id": delivery.id, "product_id": self.product_a.id, "quantity": 2.0}],
        )
        self.assertEqual(self.on_hand(self.product_a), 100.0)

    def test_fully_delivered_return_prepared(self):
        order, _invoice, _payment = self.paid_delivered_order([(self.product_a, 2.0), (self.product_b, 3.0)])

        logs, _action = self.cancel(order)

        returned = self.returns_of(order)
        self.assertEqual(returned.state, "assigned", "ready for the warehouse to validate")
        self.assertEqual(
            {(move.product_id, move.product_uom_qty) for move in returned.move_ids},
            {(self.product_a, 2.0), (self.product_b, 3.0)},
        )
        self.assertTrue(all(returned.move_ids.mapped("to_refund")))
        self.assertEqual(self.on_hand(self.product_a), 98.0)
        return_lines = logs.line_ids.filtered(lambda line: line.kind == "picking_return")
        self.assertEqual(len(return_lines), 2)
        # Each line says what came back (the log's list and its PDF show this description).
        for line in return_lines:
            product, delivery = line.product_id.display_name, line.picking_id.name
            self.assertEqual(line.name, f"{returned.name} returns {product} from {delivery}")

    def test_return_validate_restores_quantities_on_hand(self):
        order, _invoice, _payment = self.paid_delivered_order([(self.product_a, 2.0), (self.product_b, 3.0)])
        self.assertEqual((self.on_hand(self.product_a), self.on_hand(self.product_b)), (98.0, 97.0))

        self.cancel(order, stock_action="return_validate")

        self.assertEqual(self.returns_of(order).state, "done")
        self.assertEqual((self.on_hand(self.product_a), self.on_hand(self.product_b)), (100.0, 100.0))
        self.assertEqual(order.order_line.mapped("qty_delivered"), [0.0, 0.0])

    def test_stock_action_none_leaves_deliveries(self):
        order, _invoice, _payment = self.paid_delivered_order()

        self.cancel(order, stock_action="none")

        self.assertFalse(self.returns_of(order))
        self.assertEqual(self.on_hand(self.product_a), 98.0)

    def test_partial_delivery_with_backorder(self):
        order = self.create_order([(self.product_a, 5.0)])
        first = self.deliver(order, {self.product_a: 3.0})
        backorder = order.picking_ids - first
        self.assertEqual(backorder.state, "assigned")
        self.pay(self.invoice(order))

        self.cancel(order, stock_action="return_validate")

        self.assertEqual(backorder.state, "cancel")
        returned = self.returns_of(order)
        self.assertEqual(returned.return_id, first)
        self.assertEqual(returned.move_ids.product_uom_qty, 3.0)
        self.assertEqual(self.on_hand(self.product_a), 100.0)

    def prepare_return(self, delivery, quantity):
        """A return of `quantity` of a one-product delivery, prepared by hand as from its button."""
        wizard = (
            self.env["stock.return.picking"]
            .with_context(active_model="stock.picking", active_id=delivery.id, active_ids=delivery.ids)
            .create({"picking_id": delivery.id})
        )
        wizard.product_return_moves.quantity = quantity
        return wizard._create_return()

    def test_already_returned_goods_are_not_returned_twice(self):
        order, _invoice, _payment = self.paid_delivered_order([(self.product_a, 4.0)])
        first_return = self.prepare_return(order.picking_ids, 1.0)
        first_return.move_ids.quantity = 1.0
        first_return.move_ids.picked = True
        first_return.button_validate()

        self.cancel(order, stock_action="return_validate")

        new_return = self.returns_of(order) - first_return
        self.assertEqual(new_return.move_ids.product_uom_qty, 3.0)
        self.assertEqual(self.on_hand(self.product_a), 100.0)

    def test_a_pending_return_cancelled_gives_its_goods_back_to_return(self):
        # The plan reads 3 to return beside a prepared return of 1; the run cancels that return
        # (a pending transfer of the order), so all 4 go back with the run's own return.
        order, _invoice, _payment = self.paid_delivered_order([(self.product_a, 4.0)])
        pending_return = self.prepare_return(order.picking_ids, 1.0)
        self.assertIn(pending_return, order.picking_ids)

        self.cancel(order, stock_action="return_validate")

        self.assertEqual(pending_return.state, "cancel")
        new_return = self.returns_of(order) - pending_return
        self.assertEqual(new_return.move_ids.product_uom_qty, 4.0)
        self.assertEqual(new_return.state, "done")
        self.assertEqual(self.on_hand(self.product_a), 100.0)

    def test_two_step_delivery_with_goods_in_output(self):
        self.warehouse.delivery_steps = "pick_ship"
        order = self.create_order([(self.product_a, 2.0)])
        pick = order.picking_ids.filtered(lambda p: p.picking_type_id == self.warehouse.pick_type_id)
        pick.move_ids.quantity = 2.0
        pick.move_ids.picked = True
        pick.button_validate()
        ship = order.picking_ids - pick  # chained steps are created one after the other
        self.assertEqual(ship.state, "assigned")
        output = pick.location_dest_id
        self.assertEqual(self.quantity_in(self.product_a, output), 2.0)
        self.pay(self.invoice(order))

        self.cancel(order, stock_action="return_validate")

        self.assertEqual(ship.state, "cancel")
        returned = self.returns_of(order)
        self.assertEqual(returned.return_id, pick, "the goods in output go back from the picking step")
        self.assertEqual(returned.state, "done")
        self.assertEqual(self.quantity_in(self.product_a, output), 0.0)
        self.assertEqual(self.quantity_in(self.product_a, self.stock_location), 100.0)

    def test_two_step_delivery_fully_shipped_returns_the_shipment_only(self):
        self.warehouse.delivery_steps = "pick_ship"
        order = self.create_order([(self.product_a, 2.0)])
        for picking_type in (self.warehouse.pick_type_id, self.warehouse.out_type_id):
            picking = order.picking_ids.filtered(lambda p, t=picking_type: p.picking_type_id == t)
            picking.move_ids.quantity = 2.0
            picking.move_ids.picked = True
            picking.button_validate()
        self.pay(self.invoice(order))

        self.cancel(order, stock_action="return_validate")

        returned = self.returns_of(order)
        self.assertEqual(returned.return_id.picking_type_id, self.warehouse.out_type_id)
        self.assertEqual(returned.move_ids.product_uom_qty, 2.0)
        self.assertEqual(self.quantity_in(self.product_a, self.stock_location), 100.0)

    def test_serial_tracked_product(self):
        product = self.env["product.product"].create(
            {
                "name": "Serial",
                "is_storable": True,
                "tracking": "serial",
                "invoice_policy": "order",
                "list_price": 10.0,
                "taxes_id": [Command.clear()],
            }
        )
        lots = self.env["stock.lot"].create([{"name": f"SN-{index}", "product_id": product.id} for index in range(3)])
        for lot in lots:
            self.env["stock.quant"]._update_available_quantity(product, self.stock_location, 1.0, lot_id=lot)
        order = self.create_order([(product, 2.0)])
        delivery = order.picking_ids
        delivery.move_ids.picked = True
        delivery.button_validate()
        delivered_lots = delivery.move_line_ids.lot_id
        self.assertEqual(len(delivered_lots), 2)
        self.pay(self.invoice(order))

        self.cancel(order, stock_action="return_validate")

        returned = self.returns_of(order)
        self.assertEqual(returned.state, "done")
        self.assertEqual(returned.move_line_ids.lot_id, delivered_lots, "the delivered serials come back")
        self.assertEqual(product.with_context(warehouse_id=self.warehouse.id).qty_available, 3.0)
