from odoo import models
from odoo.exceptions import UserError
from odoo.tools import float_compare, float_is_zero, formatLang

from .order_cancel_reconciled_plan import Finding


class OrderCancelReconciledEngineStock(models.AbstractModel):
    """The stock side: pending transfers cancelled, delivered goods returned."""

    _name = "order.cancel.reconciled.engine.stock"
    _description = "Cancellation engine: deliveries and returns"

    def _get_stock_findings(self, plan, options):
        if options.stock_action == "none":
            return []
        findings = []
        serials = plan.done_pickings.move_line_ids.lot_id
        if serials:
            findings.append(Finding(self.env._("Serial/lot numbers to return: %s.", ", ".join(serials.mapped("name")))))
        return findings + self._get_received_goods_findings(plan, options)

    def _get_received_goods_findings(self, plan, options):
        """Goods received (a purchase's receipts) go back from where they are now, and only if
        they are still there: sold or used, they cannot be returned. Validated now, the return
        refuses the run; prepared, it waits in the warehouse, which the preview says."""
        _ = self.env._
        findings = []
        needed = {}
        for move, quantity in self._get_returnable_quantities(plan.done_pickings).items():
            if not self._is_received(move):
                continue
            location = self._get_goods_location(move)
            if not location:
                message = _(
                    "The goods of %(receipt)s are partly still in %(location)s and partly moved on in the "
                    "warehouse: finish or return its internal transfers first.",
                    receipt=move.picking_id.name,
                    location=move.location_dest_id.display_name,
                )
                findings.append(Finding(message, blocking=True))
                continue
            key = (move.product_id, location)
            needed[key] = needed.get(key, 0.0) + quantity
        available = self._get_unreserved_quantities(needed)
        for (product, location), quantity in needed.items():
            left = available.get((product, location), 0.0)
            if float_compare(left, quantity, precision_rounding=product.uom_id.rounding) >= 0:
                continue
            values = {
                "quantity": formatLang(self.env, quantity, dp="Product Unit of Measure"),
                "uom": product.uom_id.name,
                "product": product.display_name,
                "location": location.display_name,
                "left": formatLang(self.env, max(left, 0.0), dp="Product Unit of Measure"),
            }
            if options.stock_action == "return_validate":
                message = _(
                    "%(quantity)s %(uom)s of %(product)s should go back, but only %(left)s are on hand and free in "
                    "%(location)s: the rest was sold, used or reserved. Choose “Prepare returns” to let the "
                    "warehouse return them when they are back, or leave the goods as they are.",
                    **values,
                )
                findings.append(Finding(message, blocking=True))
            else:
                message = _(
                    "%(quantity)s %(uom)s of %(product)s should go back, but only %(left)s are on hand and free in "
                    "%(location)s: the return waits in the warehouse until they are.",
                    **values,
                )
                findings.append(Finding(message))
        return findings

    @staticmethod
    def _is_received(move):
        return move.location_id.usage == "supplier" and move.location_dest_id.usage == "internal"

    def _get_goods_location(self, move):
        """Where the goods of a done receipt move are now: its destination, or where the done
        next steps of a multi-step reception took all of them; False when they are split."""
        onward = move.move_dest_ids.filtered(lambda dest: dest.state == "done" and not dest.origin_returned_move_id)
        moved = sum(onward.mapped("product_qty"))
        rounding = move.product_id.uom_id.rounding
        if float_is_zero(moved, precision_rounding=rounding):
            return move.location_dest_id
        if float_compare(moved, move.product_qty, precision_rounding=rounding) < 0:
            return self.env["stock.location"]
        locations = self.env["stock.location"].union(*(self._get_goods_location(dest) for dest in onward))
        return locations if len(locations) == 1 else self.env["stock.location"]

    def _get_unreserved_quantities(self, needed):
        """Per (product, location) asked: what is on hand and not reserved in it and below it."""
        if not needed:
            return {}
        products = self.env["product.product"].union(*(product for product, _location in needed))
        locations = self.env["stock.location"].union(*(location for _product, location in needed))
        groups = self.env["stock.quant"]._read_group(
            [("product_id", "in", products.ids), ("location_id", "child_of", locations.ids)],
            ["product_id", "location_id"],
            ["quantity:sum", "reserved_quantity:sum"],
        )
        available = {}
        for product, quant_location, quantity, reserved in groups:
            for location in locations:
                if quant_location.parent_path.startswith(location.parent_path):
                    key = (product, location)
                    available[key] = available.get(key, 0.0) + quantity - reserved
        return available

    def _step_cancel_pending_pickings(self, plan, options, log):
        pickings = plan.pending_pickings
        vals_list = [
            {
                "kind": "picking_cancel",
                "picking_id": move.picking_id.id,
                "product_id": move.product_id.id,
                "quantity": move.product_uom_qty,
                "uom_id": move.product_uom.id,
            }
            for move in pickings.move_ids.filtered(lambda move: move.state not in ("done", "cancel"))
        ]
        pickings.action_cancel()
        self._add_log_lines(log, vals_list)

    def _step_return_delivered_goods(self, plan, options, log):
        if options.stock_action == "none":
            return
        quantities = self._get_returnable_quantities(plan.done_pickings)
        vals_list = []
        for picking in plan.done_pickings:
            if not any(move in quantities for move in picking.move_ids):
                continue
            return_picking = self._create_return(picking, quantities)
            if options.stock_action == "return_validate":
                self._validate_return(return_picking)
            vals_list += [
                {
                    "kind": "picking_return",
                    "picking_id": picking.id,
                    "result_picking_id": return_picking.id,
                    "product_id": move.product_id.id,
                    "quantity": move.product_uom_qty,
                    "uom_id": move.product_uom.id,
                }
                for move in return_picking.move_ids
            ]
        self._add_log_lines(log, vals_list)

    def _get_returnable_quantities(self, pickings):
        """Per done move, in the product's unit: what neither moved on to a next step nor came back.

        In a multi-step route, goods still in pack/output are returned from the step that put them
        there; goods that left with the final delivery are returned from it. Goods received from a
        vendor are returned from their receipt, from where they are now (see _create_return).
        """
        quantities = {}
        for move in pickings.move_ids.filtered(lambda move: move.state == "done" and not move.scrapped):
            gone = move.returned_move_ids.filtered(lambda ret: ret.state != "cancel")
            if not self._is_received(move):
                # Received goods moved on in the warehouse are still ours: they go back from there.
                gone |= move.move_dest_ids.filtered(
                    lambda dest: dest.state == "done" and not dest.origin_returned_move_id
                )
            quantity = move.product_qty - sum(gone.mapped("product_qty"))
            if not float_is_zero(quantity, precision_rounding=move.product_id.uom_id.rounding):
                quantities[move] = quantity
        return quantities

    def _create_return(self, picking, quantities):
        wizard = (
            self.env["stock.return.picking"]
            .with_context(active_model="stock.picking", active_id=picking.id, active_ids=picking.ids)
            .create({"picking_id": picking.id})
        )
        for line in wizard.product_return_moves:
            line.write({"quantity": quantities.get(line.move_id, 0.0), "to_refund": True})
        return_picking = wizard._create_return()
        received = picking.move_ids.filtered(lambda move: self._is_received(move) and move in quantities)
        locations = self.env["stock.location"].union(*(self._get_goods_location(move) for move in received))
        if len(locations) == 1 and locations != return_picking.location_id:
            # A multi-step reception took the goods on to stock: they leave from there.
            return_picking.location_id = locations
            return_picking.action_assign()
        return return_picking

    def _validate_return(self, return_picking):
        for move in return_picking.move_ids:
            move.quantity = move.product_uom_qty
        return_picking.move_ids.picked = True
        return_picking.with_context(skip_backorder=True, skip_sms=True).button_validate()
        if return_picking.state != "done":
            raise UserError(
                self.env._("Return %s could not be validated: validate it from Inventory.", return_picking.name)
            )
