from odoo import Command, api, fields, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.order_cancel_reconciled.models.order_cancel_reconciled_caller_guard import caller_checked
from odoo.addons.order_cancel_reconciled.models.order_cancel_reconciled_plan import (
    FROM_BUTTON_KEY,
    MAX_ORDERS,
    Finding,
    is_plain_cancel_allowed,
    plain_cancel_checked,
)

GROUP_XMLID = "purchase_order_cancel_reconciled.group_cancel_reconciled_purchase"
RECONCILED_STATES = ("partial", "paid", "in_payment")
# A purchase order's own defaults: the sales defaults of the company are about customers.
DEFAULT_OPTIONS = {"invoice_action": "reverse", "payment_action": "keep", "stock_action": "return"}


class PurchaseOrder(models.Model):
    _name = "purchase.order"
    _inherit = ["purchase.order", "order.cancel.reconciled.mixin"]
    _cancel_reconciled_group = GROUP_XMLID
    _cancel_reconciled_log_kind = "purchase"
    _cancel_reconciled_log_field = "purchase_order_id"

    cancel_reconciled_log_ids = fields.One2many(
        "sale.order.cancel.reconciled.log",
        "purchase_order_id",
        string="Cancellation Logs",
        readonly=True,
        groups=f"account.group_account_invoice,{GROUP_XMLID}",
    )
    cancel_reconciled_log_count = fields.Integer(
        compute="_compute_cancel_reconciled_log_count", groups=f"account.group_account_invoice,{GROUP_XMLID}"
    )
    has_posted_bills = fields.Boolean(
        compute="_compute_has_posted_bills",
        compute_sudo=True,
        help="Confirmed with posted vendor bills: only the full cancellation undoes it.",
    )

    @api.depends("state", "invoice_ids.state")
    def _compute_has_posted_bills(self):
        for order in self:
            order.has_posted_bills = order.state == "purchase" and bool(order._get_cancel_reconciled_documents())

    def _compute_cancel_reconciled_log_count(self):
        counts = dict(
            self.env["sale.order.cancel.reconciled.log"]._read_group(
                [("purchase_order_id", "in", self.ids)], ["purchase_order_id"], ["__count"]
            )
        )
        for order in self:
            order.cancel_reconciled_log_count = counts.get(order, 0)

    @caller_checked
    def action_open_cancel_reconciled_logs(self):
        return self.cancel_reconciled_log_ids._get_records_action(name=self.env._("Order Cancellation Logs"))

    # ------------------------------------------------------------------------------------------
    # The faces: the dialog and the API
    # ------------------------------------------------------------------------------------------

    @caller_checked
    def action_cancel_reconciled(self, from_cancel=False):
        """Open the dialog that cancels these purchase orders with their payments, bills and
        receipts; ``from_cancel``: a person pressed Odoo's Cancel (the dialog says why it opened)."""
        return {
            "name": self.env._("Cancel Reconciled Purchase Orders"),
            "type": "ir.actions.act_window",
            "res_model": "purchase.order.cancel.reconciled",
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_ids": self.ids, "default_opened_from_cancel": bool(from_cancel)},
        }

    @caller_checked
    def cancel_reconciled(self, invoice_action=None, payment_action=None, stock_action=None, reason_id=None, note=None):
        """Cancel these purchase orders with their payments, vendor bills and receipts; return the logs.

        The server-side API, as ``sale.order.cancel_reconciled()``: the same run as the dialog's
        Confirm, all-or-nothing, checked as the real user. An option left out is the purchase
        default: bills reversed by a vendor credit note, the freed money kept as vendor credit,
        the received goods prepared for return.
        """
        if len(self) > MAX_ORDERS:
            raise ValidationError(self.env._("At most %(max)s orders can be cancelled in one request.", max=MAX_ORDERS))
        self._check_cancel_reconciled_access()
        options = self.env["order.cancel.reconciled.engine"]._prepare_options(
            self.company_id[:1] or self.env.company,
            invoice_action=invoice_action or DEFAULT_OPTIONS["invoice_action"],
            payment_action=payment_action or DEFAULT_OPTIONS["payment_action"],
            stock_action=stock_action or DEFAULT_OPTIONS["stock_action"],
            reason_id=reason_id,
            note=note,
        )
        return self.env["order.cancel.reconciled.engine"]._run(self, options)

    # ------------------------------------------------------------------------------------------
    # The guard: Odoo refuses to cancel a purchase order with posted bills (or a locked one); a
    # person who clicked Cancel is led to the full cancellation (members) or told who can.
    # ------------------------------------------------------------------------------------------

    @caller_checked
    def button_cancel(self):
        if self.env.context.get(FROM_BUTTON_KEY) and not is_plain_cancel_allowed(self):
            with_bills = self.filtered("has_posted_bills")
            if with_bills:
                if self.env.user.has_group(GROUP_XMLID):
                    # Every selected order, as on the sales side: those without bills show as
                    # blocked in the preview, never silently left out.
                    return self.action_cancel_reconciled(from_cancel=True)
                raise UserError(with_bills._ask_a_member_message())
        return super().button_cancel()

    @caller_checked
    def write(self, vals):
        # Whatever path cancels it or takes it back to a draft (button_draft, a write by hand), a
        # purchase order whose bills are paid does not leave "purchase" alone: only the
        # full cancellation may. Facts, not the caller's context, decide.
        if "state" in vals and vals["state"] != "purchase" and not is_plain_cancel_allowed(self):
            reconciled = self.filtered(
                lambda order: (
                    order.state not in ("cancel", vals["state"])
                    and any(
                        move.payment_state in RECONCILED_STATES
                        for move in order.sudo()._get_cancel_reconciled_documents()
                    )
                )
            )
            if reconciled:
                raise UserError(
                    self.env._(
                        "%(orders)s: confirmed with paid vendor bills. Cancel them with "
                        "purchase.order.cancel_reconciled() (members of “Cancel reconciled purchase orders”), "
                        "which also undoes the payments, bills and receipts.",
                        orders=reconciled._short_names(),
                    )
                )
        return super().write(vals)

    def _ask_a_member_message(self):
        members = self._get_cancel_reconciled_members()
        return self.env._(
            "Purchase orders with posted vendor bills (%(orders)s): cancelling them must also undo their payments, "
            "bills and receipts. Only members of “Cancel reconciled purchase orders” can do this. Who to ask: "
            "%(members)s.",
            orders=self._short_names(),
            members=", ".join(members[:5].mapped("name")) or self.env._("your administrator"),
        )

    def _not_a_member_message(self):
        return self.env._(
            "Only members of the group “Cancel reconciled purchase orders” may cancel purchase orders whose "
            "vendor bills are posted or paid. Ask your administrator to add you to it."
        )

    def _refused_orders_message(self, refused_ids):
        return self.env._(
            "These purchase orders do not exist or you may not access them (check the companies selected in the "
            "company switcher): %s.",
            self._shown_ids(refused_ids),
        )

    # ------------------------------------------------------------------------------------------
    # Hooks of the cancellation engine (order.cancel.reconciled.mixin)
    # ------------------------------------------------------------------------------------------

    def _get_cancel_reconciled_pickings(self):
        # Goods shipped by the vendor straight to a customer (dropship) are the customer's: they
        # come back with the sale order's cancellation or a return from the customer, not here.
        pickings = self.picking_ids.filtered(
            lambda picking: not (picking.state == "done" and picking._is_direct_to_customer())
        )
        # The next steps of a multi-step reception still waiting (put away, quality) go with the
        # order: their moves are not the order's lines', so they are not in its picking_ids.
        return pickings | self._get_waiting_reception_steps().picking_id

    def _get_reception_chain(self):
        """The moves of the next steps of a multi-step reception (inside the warehouse)."""
        chain = self.env["stock.move"]
        moves = self.order_line.move_ids
        while moves:
            moves = moves.move_dest_ids.filtered(lambda move: move.location_dest_id.usage in ("internal", "transit"))
            moves -= chain
            chain |= moves
        return chain

    def _get_waiting_reception_steps(self):
        """Moves of the reception's next steps not done yet (put away, quality)."""
        return self._get_reception_chain().filtered(lambda move: move.state not in ("done", "cancel"))

    def _get_cancel_reconciled_released_moves(self):
        return self._get_waiting_outside_moves()

    def _get_waiting_outside_moves(self):
        """Moves out of the warehouse (a customer's delivery, a production) waiting for these
        goods: bought to order."""
        inside = self.order_line.move_ids | self._get_reception_chain()
        outside = (inside.move_dest_ids | self.order_line.move_dest_ids).filtered(
            lambda move: move.location_dest_id.usage not in ("internal", "transit")
        )
        return outside.filtered(lambda move: move.state not in ("done", "cancel"))

    def _get_cancel_reconciled_findings(self, plan, options):
        if options.stock_action == "none":
            return []
        findings = []
        waiting = self._get_waiting_outside_moves()
        if waiting and self.picking_ids.filtered(lambda picking: picking.state == "done"):
            message = self.env._(
                "%(order)s bought goods for %(transfers)s: the return takes them back to the vendor, and these "
                "transfers then wait for other stock.",
                order=self.name,
                transfers=", ".join(waiting.picking_id.mapped("name")) or ", ".join(waiting.mapped("reference")),
            )
            findings.append(Finding(message))
        shipped = self.picking_ids.filtered(
            lambda picking: picking.state == "done" and picking._is_direct_to_customer()
        )
        return findings + [
            Finding(
                self.env._(
                    "%(picking)s went from the vendor straight to %(customer)s: its goods are not returned with this "
                    "cancellation; they come back with the customer's return or the sale order's cancellation.",
                    picking=picking.name,
                    customer=(self.dest_address_id or picking.location_dest_id).display_name,
                )
            )
            for picking in shipped
        ]

    def _get_cancel_reconciled_orders_of(self, invoices):
        return invoices.invoice_line_ids.purchase_line_id.order_id

    def _get_cancel_reconciled_partner_type(self):
        return "supplier"

    def _get_cancel_reconciled_credit_name(self):
        return self.env._("vendor credit")

    def _is_cancel_reconciled_quotation(self):
        return self.state in ("draft", "sent", "to approve")

    def _is_cancel_reconciled_locked(self):
        return self.locked and self.state == "purchase"

    def _cancel_reconciled_cancel_order(self):
        """Cancel the order once its bills and receipts are undone. Odoo's Cancel refuses orders
        with posted bills, which a cancellation keeps for the history (reversed), and locked ones:
        its own last step, the state, is written here, after the moves still waiting are cancelled
        like its Cancel does."""
        moves = self.order_line.move_ids.filtered(lambda move: move.state not in ("done", "cancel"))
        moves._action_cancel()
        # A delivery waiting for these goods (bought to order) is no longer chained to them: it
        # takes its goods from stock, like after Odoo's Cancel.
        waiting = self._get_waiting_outside_moves()
        for move in waiting:
            if move.move_orig_ids:
                move.move_orig_ids = [Command.clear()]
        waiting.write({"procure_method": "make_to_stock"})
        waiting._recompute_state()
        with plain_cancel_checked(self):
            self.write({"state": "cancel"})
        if hasattr(self, "_activity_cancel_on_sale"):
            # With sale_purchase: the salespeople of the sale orders it served are told, as by Odoo's Cancel.
            self._activity_cancel_on_sale()
