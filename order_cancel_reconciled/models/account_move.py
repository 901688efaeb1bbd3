from typing import NamedTuple

from odoo import models

from odoo.addons.sale.models.account_move import AccountMove as SaleAccountMove

from .order_cancel_reconciled_caller_guard import caller_checked
from .order_cancel_reconciled_plan import ORDERS_IN_RUN


class CreditStatus(NamedTuple):
    """How the customer's portal shows a settled credit note, or an invoice it reversed, instead
    of "Paid": ``state`` is applied (to invoices), refunded (by a payment or a bank transfer),
    credited (anything else) or reversed (an invoice); ``documents`` are the invoices or credit
    notes on the other side; ``label`` says it in the reader's language."""

    state: str
    documents: object
    label: str


class AccountMove(models.Model):
    _name = "account.move"
    _inherit = ["account.move", "sale.order.cancel.reconciled.log.mixin"]
    _cancel_reconciled_log_line_fields = ("invoice_id", "result_move_id", "counterpart_move_id")

    @caller_checked
    def action_open_cancel_reconciled_logs(self):
        return self._action_open_cancel_reconciled_logs()

    # ------------------------------------------------------------------------------------------
    # A credit note is never "paid"
    # ------------------------------------------------------------------------------------------

    def _invoice_paid_hook(self):
        """sale writes "Invoice X paid" on the orders of every customer document that becomes
        paid; a credit note of a cancelled order becomes "paid" by being matched with its invoice,
        and no money moves. Only sale's message is left out for those: the hooks of the modules
        sale builds on still run for them."""
        credit_notes = self._get_cancel_reconciled_credit_notes_applied()
        result = super(AccountMove, self - credit_notes)._invoice_paid_hook()
        if credit_notes:
            super(SaleAccountMove, credit_notes)._invoice_paid_hook()
        return result

    def _get_cancel_reconciled_credit_notes_applied(self):
        """The customer credit notes of orders cancelled by this addon (orders with a cancellation
        log: the log exists from the start of the run) that are settled by invoices alone."""
        credit_notes = self.filtered(lambda move: move.move_type == "out_refund" and move.state == "posted")
        if not credit_notes:
            return credit_notes
        orders = credit_notes.sudo().line_ids.sale_line_ids.order_id
        # The orders of the run under way have their log already: no need to look for it.
        in_run = self.env.cr.cache.get(ORDERS_IN_RUN, ())
        cancelled = orders.filtered(lambda order: (order._name, order.id) in in_run)
        if orders - cancelled:
            cancelled |= (
                self.env["sale.order.cancel.reconciled.log"]
                .sudo()
                .search([("order_id", "in", (orders - cancelled).ids)])
                .order_id
            )
        return credit_notes.filtered(
            lambda move: (
                move.sudo().line_ids.sale_line_ids.order_id & cancelled
                and move._get_cancel_reconciled_portal_status().state == "applied"
            )
        )

    def _get_cancel_reconciled_portal_status(self):
        """A CreditStatus for a posted customer credit note settled in full, or for an invoice its
        credit note reversed; None for anything else (Odoo's own status then says it). Read
        elevated: the customer sees their documents, not the payments matched with them."""
        self.ensure_one()
        move = self.sudo()
        if move.state != "posted":
            return None
        counterparts = self.env["account.move"].sudo()
        for partial in move._get_all_reconciled_invoice_partials():
            if not partial["is_exchange"]:
                counterparts |= partial["aml"].move_id
        _ = self.env._
        if move.move_type == "out_invoice" and move.payment_state == "reversed":
            credit_notes = counterparts.filtered(lambda other: other.move_type == "out_refund")
            names = ", ".join(credit_notes.mapped("name"))
            return CreditStatus("reversed", credit_notes, _("Reversed by %s", names) if names else _("Reversed"))
        if move.move_type != "out_refund" or not counterparts or not move.currency_id.is_zero(move.amount_residual):
            return None
        documents = counterparts.filtered(lambda other: other.is_invoice(include_receipts=True))
        money = counterparts.filtered(lambda other: other.origin_payment_id or other.statement_line_id)
        if documents == counterparts:
            return CreditStatus("applied", documents, _("Applied to %s", ", ".join(documents.mapped("name"))))
        if money == counterparts:
            return CreditStatus("refunded", documents, _("Refunded"))
        return CreditStatus("credited", documents, _("Credited"))
