from odoo import models
from odoo.exceptions import UserError
from odoo.tools import float_is_zero

from .order_cancel_reconciled_plan import Finding


class OrderCancelReconciledEngineStock(models.AbstractModel):
    """The stock side: pending transfers cancelled, delivered goods returned."""

    _name = "order.cancel.reconciled.engine.stock"
    _description = "Cancellation engine: deliveries and returns"

    def _get_stock_findings(self, plan, options):
        serials = plan.done_pickings.move_line_ids.lot_id
        if serials and options.stock_action != "none":
            return [Finding(self.env._("Serial/lot numbers to return: %s.", ", ".join(serials.mapped("name"))))]
        return []

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
        there; goods that left with the final delivery are returned from it.
        """
        quantities = {}
        for move in pickings.move_ids.filtered(lambda move: move.state == "done" and not move.scrapped):
            gone = move.returned_move_ids.filtered(lambda ret: ret.state != "cancel")
            gone |= move.move_dest_ids.filtered(lambda dest: dest.state == "done" and not dest.origin_returned_move_id)
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
        return wizard._create_return()

    def _validate_return(self, return_picking):
        for move in return_picking.move_ids:
            move.quantity = move.product_uom_qty
        return_picking.move_ids.picked = True
        return_picking.with_context(skip_backorder=True, skip_sms=True).button_validate()
        if return_picking.state != "done":
            raise UserError(
                self.env._("Return %s could not be validated: validate it from Inventory.", return_picking.name)
            )
