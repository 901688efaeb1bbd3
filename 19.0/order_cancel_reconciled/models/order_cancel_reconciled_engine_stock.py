from odoo import Command, fields, models
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
        serials = plan.done_pickings.move_line_ids.lot_id if plan.preview else None
        if serials:
            findings.append(Finding(self.env._("Serial/lot numbers to return: %s.", ", ".join(serials.mapped("name")))))
        return findings + self._get_stock_lock_findings(plan) + self._get_received_goods_findings(plan, options)

    def _get_stock_lock_findings(self, plan):
        """Odoo 19 refuses a transfer dated in a locked fiscal period (stock_account): a return,
        dated today, cannot be made while the fiscal year is locked through today. Refused up
        front, as the run would fail on it."""
        if not plan.done_pickings:
            return []
        if self.env["ir.config_parameter"].sudo().get_param("stock_account.skip_lock_date_check"):
            return []
        company = plan.order.company_id
        today = fields.Date.context_today(self)
        locked = company._get_lock_date_violations(
            today, fiscalyear=True, sale=False, purchase=False, tax=False, hard=True
        )
        if not locked:
            return []
        message = self.env._(
            "The fiscal year of %(company)s is locked through today: returns dated today cannot be made. "
            "Choose “Leave the deliveries as they are”, or ask the accountant to move the lock date.",
            company=company.name,
        )
        return [Finding(message, blocking=True)]

    def _get_received_goods_findings(self, plan, options):
        """Goods received (a purchase's receipts) go back from where they are now in the
        warehouse, and only what is still there and free: goods delivered or used since are
        not returned (a warning), goods split between steps of a reception are refused, and
        what the run needs beyond what is free refuses an immediate return or leaves a prepared
        one waiting, which the preview says. Earlier orders of the same run count first."""
        _ = self.env._
        findings = []
        needed = {}
        if not self._has_received_goods(plan.done_pickings):
            # Delivered goods only: the run reads what to return when it returns them, with the
            # records Odoo's return reads too.
            return findings
        received = plan.done_pickings.move_ids.filtered(
            lambda move: move.state == "done" and not move.scrap_id and self._is_received(move)
        )
        quantities = plan.returnable = self._get_returnable_quantities(plan.done_pickings)
        for move in received:
            quantity = quantities.get(move, 0.0)
            whereabouts = self._get_received_whereabouts(move)
            left_warehouse = move.product_qty - self._get_returned_quantity(move) - sum(whereabouts.values())
            if float_compare(left_warehouse, 0.0, precision_rounding=move.product_id.uom_id.rounding) > 0:
                message = _(
                    "%(quantity)s %(uom)s of %(product)s received with %(receipt)s already left the warehouse "
                    "(delivered or used): they are not returned.",
                    quantity=formatLang(self.env, left_warehouse, dp="Product Unit of Measure"),
                    uom=move.product_id.uom_id.name,
                    product=move.product_id.display_name,
                    receipt=move.picking_id.name,
                )
                findings.append(Finding(message))
            if not whereabouts:
                continue
            if len(whereabouts) > 1:
                message = _(
                    "The goods of %(receipt)s are partly in %(locations)s: finish or return its internal transfers "
                    "first, then cancel.",
                    receipt=move.picking_id.name,
                    locations=", ".join(location.display_name for location in whereabouts),
                )
                findings.append(Finding(message, blocking=True))
                continue
            location = next(iter(whereabouts))
            for lot, lot_quantity in self._get_received_lots(move, quantity).items():
                key = (move.product_id, location, lot)
                needed[key] = needed.get(key, 0.0) + lot_quantity
        available = self._get_unreserved_quantities(needed, plan)
        for key, quantity in needed.items():
            product, location, lot = key
            left = available.get(key, 0.0) - plan.claimed.get(key, 0.0)
            plan.claimed[key] = plan.claimed.get(key, 0.0) + quantity
            if float_compare(left, quantity, precision_rounding=product.uom_id.rounding) >= 0:
                continue
            values = {
                "quantity": formatLang(self.env, quantity, dp="Product Unit of Measure"),
                "uom": product.uom_id.name,
                "product": f"{product.display_name} ({lot.name})" if lot else product.display_name,
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

    def _has_received_goods(self, pickings):
        """Whether a done move of these transfers received goods (_is_received), in one query:
        a sale's deliveries have none, and reading their moves and locations here would be read
        again by their return, after Odoo's steps have emptied the cache."""
        if not pickings:
            return False
        domain = [
            ("picking_id", "in", pickings.ids),
            ("state", "=", "done"),
            ("scrap_id", "=", False),
            ("location_id.usage", "=", "supplier"),
            ("location_dest_id.usage", "=", "internal"),
        ]
        return bool(self.env["stock.move"].search(domain, limit=1, order="id"))

    @staticmethod
    def _get_returned_quantity(move):
        return sum(move.returned_move_ids.filtered(lambda ret: ret.state != "cancel").mapped("product_qty"))

    def _get_received_whereabouts(self, move, quantity=None):
        """{location: quantity} of a done receipt move's goods still in the warehouse: in its
        destination, or where the done next steps of a multi-step reception took them. What
        left the warehouse (a delivery, a production) is not in it."""
        rounding = move.product_id.uom_id.rounding
        if quantity is None:
            quantity = move.product_qty - self._get_returned_quantity(move)
        whereabouts = {}
        rest = quantity
        onward = move.move_dest_ids.filtered(lambda dest: dest.state == "done" and not dest.origin_returned_move_id)
        for dest in onward:
            share = min(dest.product_qty - self._get_returned_quantity(dest), rest)
            if float_compare(share, 0.0, precision_rounding=rounding) <= 0:
                continue
            rest -= share
            if dest.location_dest_id.usage in ("internal", "transit"):
                for location, moved in self._get_received_whereabouts(dest, share).items():
                    whereabouts[location] = whereabouts.get(location, 0.0) + moved
        if float_compare(rest, 0.0, precision_rounding=rounding) > 0:
            whereabouts[move.location_dest_id] = whereabouts.get(move.location_dest_id, 0.0) + rest
        return whereabouts

    def _get_received_lots(self, move, quantity):
        """{lot: quantity} of what goes back of a receipt move: its own lots, or no lot."""
        if move.product_id.tracking == "none":
            return {self.env["stock.lot"]: quantity}
        lots = {}
        for line in move.move_line_ids:
            lots[line.lot_id] = lots.get(line.lot_id, 0.0) + line.quantity_product_uom
        return lots

    def _get_unreserved_quantities(self, needed, plan):
        """Per (product, location, lot) asked: what is on hand and not reserved in the location
        and below it. Reservations the run frees count as free: those of the plan's own pending
        transfers (a reception's next step waiting to put the goods away) and of the transfers
        waiting for goods bought for them (plan.released_moves)."""
        if not needed:
            return {}
        products = self.env["product.product"].union(*(key[0] for key in needed))
        locations = self.env["stock.location"].union(*(key[1] for key in needed))
        groups = self.env["stock.quant"]._read_group(
            [("product_id", "in", products.ids), ("location_id", "child_of", locations.ids)],
            ["product_id", "location_id", "lot_id"],
            ["quantity:sum", "reserved_quantity:sum"],
        )
        own = (plan.pending_pickings.move_ids | plan.released_moves).move_line_ids
        own_reserved = {}
        for line in own:
            key = (line.product_id, line.location_id, line.lot_id)
            own_reserved[key] = own_reserved.get(key, 0.0) + line.quantity_product_uom
        available = {}
        for product, quant_location, lot, quantity, reserved in groups:
            free = quantity - reserved + own_reserved.get((product, quant_location, lot), 0.0)
            for location in locations:
                if quant_location.parent_path.startswith(location.parent_path):
                    for key in ((product, location, lot), (product, location, self.env["stock.lot"])):
                        if key in needed:
                            available[key] = available.get(key, 0.0) + free
                            break
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
        quantities = plan.returnable
        if quantities is None or plan.pending_pickings:
            # A pending return cancelled by the run gives its goods back to return.
            quantities = self._get_returnable_quantities(plan.done_pickings)
        # Goods bought for another transfer go back: it lets them go, and looks for others after.
        released = plan.released_moves.filtered(lambda move: move.state not in ("done", "cancel"))
        released._do_unreserve()
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
        released._action_assign()
        self._add_log_lines(log, vals_list)

    def _get_returnable_quantities(self, pickings):
        """Per done move, in the product's unit: what neither moved on to a next step nor came back.

        In a multi-step route, goods still in pack/output are returned from the step that put them
        there; goods that left with the final delivery are returned from it. Goods received from a
        vendor are returned from their receipt, from where they are now (see _create_return).
        """
        quantities = {}
        for move in pickings.move_ids.filtered(lambda move: move.state == "done" and not move.scrap_id):
            if self._is_received(move):
                # Received goods moved on in the warehouse are still ours: they go back from where
                # they are; those delivered or used since are not.
                quantity = sum(self._get_received_whereabouts(move).values())
            else:
                gone = move.returned_move_ids.filtered(lambda ret: ret.state != "cancel")
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
        # Where received goods are now, read before the return counts as taking them back.
        sources = {
            move: next(iter(self._get_received_whereabouts(move)), move.location_dest_id)
            for move in picking.move_ids
            if self._is_received(move) and move in quantities
        }
        return_picking = wizard._create_return()
        self._return_received_goods_from_where_they_are(return_picking, sources)
        return return_picking

    def _return_received_goods_from_where_they_are(self, return_picking, sources):
        """A return of received goods leaves from where they are now (`sources`: per receipt
        move; after a multi-step reception, stock), reserving the received lots. Odoo's return
        takes them from the receipt's destination and chains the return to the receipt, which
        would reserve only what is still there."""
        moves = return_picking.move_ids.filtered(lambda move: move.origin_returned_move_id in sources)
        if not moves:
            return
        return_picking.do_unreserve()
        locations = {move: sources[move.origin_returned_move_id] for move in moves}
        if len(set(locations.values())) == 1:
            return_picking.location_id = next(iter(locations.values()))
        for move, location in locations.items():
            move.write(
                {"location_id": location.id, "move_orig_ids": [Command.clear()], "procure_method": "make_to_stock"}
            )
        for move in moves:
            if move.product_id.tracking == "none":
                continue
            lots = self._get_received_lots(move.origin_returned_move_id, move.product_qty)
            for lot, quantity in lots.items():
                move._update_reserved_quantity(quantity, move.location_id, lot_id=lot, strict=False)
            move._recompute_state()
        return_picking.action_assign()

    def _validate_return(self, return_picking):
        for move in return_picking.move_ids:
            if self._is_received(move.origin_returned_move_id):
                # Goods going out of our stock: only what is reserved, never a negative stock.
                if float_compare(move.quantity, move.product_uom_qty, precision_rounding=move.product_uom.rounding) < 0:
                    raise UserError(
                        self.env._(
                            "Return %(picking)s could not be validated: %(product)s is not all on hand in "
                            "%(location)s.",
                            picking=return_picking.name,
                            product=move.product_id.display_name,
                            location=move.location_id.display_name,
                        )
                    )
                continue
            move.quantity = move.product_uom_qty
        return_picking.move_ids.picked = True
        return_picking.with_context(skip_backorder=True, skip_sms=True).button_validate()
        if return_picking.state != "done":
            raise UserError(
                self.env._("Return %s could not be validated: validate it from Inventory.", return_picking.name)
            )
