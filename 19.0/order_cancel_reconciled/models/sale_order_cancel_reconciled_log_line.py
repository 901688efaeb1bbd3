from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from .order_cancel_reconciled_plan import REFUND_STATES

LINE_KINDS = [
    ("unreconcile", "Unreconciled match"),
    ("credit_note", "Credit note"),
    ("invoice_cancel", "Cancelled invoice"),
    ("payment_cancel", "Cancelled payment"),
    ("payment_refund", "Refund payment"),
    ("writeoff_reversal", "Discount or write-off reversed"),
    ("picking_cancel", "Cancelled transfer"),
    ("picking_return", "Return"),
]


class SaleOrderCancelReconciledLogLine(models.Model):
    _name = "sale.order.cancel.reconciled.log.line"
    _inherit = ["order.cancel.reconciled.caller.guard"]
    _description = "Effect of a reconciled order cancellation"
    _order = "log_id, sequence, id"

    log_id = fields.Many2one("sale.order.cancel.reconciled.log", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="log_id.company_id", store=True)
    sequence = fields.Integer()
    kind = fields.Selection(LINE_KINDS, required=True)
    name = fields.Char(string="Description", compute="_compute_name", compute_sudo=True)
    exchange_move_id = fields.Many2one(
        "account.move",
        string="Exchange Difference Reversed",
        ondelete="set null",
        help="The exchange difference entry of an unreconciled match, reversed with it.",
    )
    invoice_id = fields.Many2one("account.move", ondelete="set null")
    counterpart_move_id = fields.Many2one(
        "account.move",
        string="Counterpart Entry",
        ondelete="set null",
        help="The entry on the other side of an unreconciled match: a payment, a bank transaction or another document.",
    )
    result_move_id = fields.Many2one("account.move", string="Resulting Entry", ondelete="set null")
    payment_id = fields.Many2one("account.payment", ondelete="set null")
    result_payment_id = fields.Many2one("account.payment", string="Refund Payment", ondelete="set null")
    # A refund through the payment provider: its transaction, and where the provider's answer is.
    online_transaction_id = fields.Many2one("payment.transaction", string="Online Payment", ondelete="set null")
    refund_transaction_id = fields.Many2one("payment.transaction", ondelete="set null", index="btree_not_null")
    refund_provider_id = fields.Many2one(related="online_transaction_id.provider_id")
    partner_id = fields.Many2one(related="log_id.partner_id")
    refund_state = fields.Selection(REFUND_STATES, string="Refund Status", index="btree_not_null")
    refund_attempts = fields.Integer(readonly=True, help="How many times the refund was handed to the provider's code.")
    refund_next_try = fields.Datetime(readonly=True, help="When a refund the provider did not take is tried again.")
    refund_sent_at = fields.Datetime(
        string="Refund Sent On", readonly=True, help="When the refund was last handed to the provider."
    )
    refund_error = fields.Text(string="Refund Note", help="The provider's answer, or why a person must look.")
    freed_line_id = fields.Many2one("account.move.line", string="Freed Credit", ondelete="set null")
    writeoff_reversal_line_id = fields.Many2one("account.move.line", ondelete="set null")
    amount = fields.Monetary(currency_field="currency_id")
    currency_id = fields.Many2one("res.currency")
    amount_company = fields.Monetary(currency_field="company_currency_id", string="Amount (Company Currency)")
    company_currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    date = fields.Date()
    picking_id = fields.Many2one("stock.picking", string="Transfer", ondelete="set null")
    result_picking_id = fields.Many2one("stock.picking", string="Return", ondelete="set null")
    product_id = fields.Many2one("product.product", ondelete="set null")
    quantity = fields.Float(digits="Product Unit of Measure")
    uom_id = fields.Many2one("uom.uom", string="Unit of Measure", ondelete="set null")

    @api.depends(
        "kind",
        "invoice_id",
        "counterpart_move_id",
        "result_move_id",
        "payment_id",
        "result_payment_id",
        "exchange_move_id",
        "picking_id",
        "result_picking_id",
        "amount",
        "currency_id",
        # A refund through the provider is described by where it stands until its payment exists.
        "refund_state",
        "online_transaction_id",
    )
    @api.depends_context("lang")
    def _compute_name(self):
        for line in self:
            line.name = line._describe()

    def _describe(self):
        """The line in words, in the reader's language."""
        _ = self.env._
        counterpart = self.payment_id.display_name or self.counterpart_move_id.name
        if self.kind == "unreconcile":
            name = _(
                "%(document)s unreconciled from %(counterpart)s", document=self.invoice_id.name, counterpart=counterpart
            )
            if self.exchange_move_id:
                name += _(" (exchange difference %s reversed)", self.exchange_move_id.name)
            return name
        if self.kind == "credit_note":
            return _(
                "%(invoice)s reversed by %(credit_note)s",
                invoice=self.invoice_id.name,
                credit_note=self.result_move_id.name,
            )
        if self.kind == "invoice_cancel":
            return _("%s cancelled", self.invoice_id.name or self.invoice_id.display_name)
        if self.kind == "payment_cancel":
            return _("%s cancelled", self.payment_id.display_name)
        if self.kind == "payment_refund" and not self.result_payment_id:
            # A refund through the provider before the provider refunded (or when it did not):
            # no refund payment to name yet, so where it stands.
            states = dict(self._fields["refund_state"]._description_selection(self.env))
            return _(
                "Refund of %(amount)s freed from %(origin)s through %(provider)s: %(state)s",
                amount=self.currency_id.format(self.amount),
                origin=counterpart,
                provider=self.refund_provider_id.name or _("the payment provider"),
                state=states.get(self.refund_state, "-"),
            )
        if self.kind == "payment_refund":
            return _(
                "%(refund)s refunds %(amount)s freed from %(origin)s",
                refund=self.result_payment_id.display_name,
                amount=self.currency_id.format(self.amount),
                origin=counterpart,
            )
        if self.kind == "writeoff_reversal":
            return _(
                "%(entry)s reverses %(amount)s of discounts and write-offs booked with %(payment)s",
                entry=self.result_move_id.name,
                amount=self.currency_id.format(self.amount),
                payment=counterpart,
            )
        if self.kind == "picking_cancel":
            return _("%s cancelled", self.picking_id.name)
        if self.kind == "picking_return":
            # A line per product of the return: what came back, not only which transfer.
            return _(
                "%(return_picking)s returns %(product)s from %(picking)s",
                return_picking=self.result_picking_id.name,
                product=self.product_id.display_name,
                picking=self.picking_id.name,
            )
        return dict(self._fields["kind"]._description_selection(self.env)).get(self.kind, "")

    # ------------------------------------------------------------------------------------------
    # A billing user's decision on a provider refund that waits for a person
    # ------------------------------------------------------------------------------------------

    def _check_refund_decider(self, states):
        """Billing users decide: they may see every log and change payment transactions, as
        Odoo's own Refund button asks. Each line must wait for this decision."""
        if not self.env.user.has_group("account.group_account_invoice"):
            raise AccessError(self.env._("Only billing users decide on refunds that wait for a person."))
        self.check_access("read")
        wrong = self.filtered(lambda line: line.kind != "payment_refund" or line.refund_state not in states)
        if wrong:
            raise UserError(
                self.env._(
                    "This refund does not wait for that decision: %s.",
                    # Billing users read every log: its name reveals nothing they may not see.
                    ", ".join(f"{line.sudo().log_id.name} ({line.refund_state or '-'})" for line in wrong),
                )
            )

    def _log_refund_decision(self, text):
        for line in self:
            line.log_id.sudo().message_post(
                body=Markup("<p>%s</p>") % text, subtype_xmlid="mail.mt_note", author_id=self.env.user.partner_id.id
            )
            self.env["order.cancel.reconciled.engine"].sudo()._close_refund_activity(line.sudo())

    def action_refund_send_again(self):
        """Send again a refund that the provider refused, that was held, or whose outcome was
        unknown once a person has checked in the provider's dashboard that nothing went out.
        The same refund transaction (its reference) is used; the checks run again when sending."""
        self._check_refund_decider(("unknown", "held", "failed"))
        lines = self.sudo()
        lines.write({"refund_state": "to_send", "refund_attempts": 0, "refund_next_try": False, "refund_error": False})
        self._log_refund_decision(self.env._("%s checked the refund and sent it again.", self.env.user.name))
        self.env.ref("order_cancel_reconciled.ir_cron_send_provider_refunds").sudo()._trigger()
        return True

    def action_refund_keep_credit(self):
        """Keep the freed money as the customer's credit instead of refunding it. A refund whose
        outcome is unknown keeps its transaction: a late answer of the provider still settles it."""
        self._check_refund_decider(("to_send", "unknown", "held", "failed"))
        for line in self.sudo():
            refund_tx = line.refund_transaction_id
            if line.refund_state != "unknown" and refund_tx.state == "draft":
                refund_tx._set_canceled(state_message=self.env._("Not sent: kept as customer credit."))
            line.write({"refund_state": "kept", "refund_next_try": False})
        self._log_refund_decision(self.env._("%s kept the money as customer credit.", self.env.user.name))
        return True

    def action_refund_check_matched(self):
        """A refund made but not matched: once an accountant matched it, or to try again."""
        self._check_refund_decider(("to_match",))
        engine = self.env["order.cancel.reconciled.engine"].sudo()
        for line in self.sudo():
            engine._match_refund(line)
            if line.refund_state != "done":
                raise UserError(
                    self.env._(
                        "%s is still not matched: match it with the customer's open items first.",
                        line.result_payment_id.name,
                    )
                )
        self._log_refund_decision(self.env._("%s confirmed the refund is matched.", self.env.user.name))
        return True
