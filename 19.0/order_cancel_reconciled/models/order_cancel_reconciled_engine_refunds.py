from collections import defaultdict

from odoo import fields, models
from odoo.tools import float_is_zero

from .order_cancel_reconciled_plan import Finding

REFUNDABLE = ("full_only", "partial")


class OrderCancelReconciledEngineRefunds(models.AbstractModel):
    """Refunds: the money freed from the order goes back the way it came. A payment made online
    (a transaction of a provider that refunds) is refunded through the provider: the run records
    the refund to send, and a scheduled action sends it once the cancellation is committed (money
    a provider has sent cannot be rolled back with a failed run); the provider's answer comes
    later and its refund payment is then matched with the freed credit. Any other payment is
    refunded by an outbound payment in its journal, to be made by hand."""

    _name = "order.cancel.reconciled.engine.refunds"
    _description = "Cancellation engine: refunds"

    # ------------------------------------------------------------------------------------------
    # Which way the money goes back
    # ------------------------------------------------------------------------------------------

    def _get_refund_transaction(self, line, amount):
        """(transaction, why not): the online transaction that refunds `amount` of this freed
        payment line through its provider, or an empty one and why it cannot (False when the
        payment was not made online)."""
        _ = self.env._
        payment = line.move_id.origin_payment_id
        tx = payment.sudo().payment_transaction_id
        none = self.env["payment.transaction"]
        if not tx or line.balance > 0:
            return none, False
        provider = tx.provider_id
        method = tx.payment_method_id.primary_payment_method_id or tx.payment_method_id
        supports = {provider.support_refund, method.support_refund}
        if tx.state != "done" or tx.operation == "refund":
            return none, _("its online transaction %s is not confirmed", tx.reference)
        if provider.state == "disabled" or "none" in supports or not supports <= set(REFUNDABLE):
            return none, _("%s does not refund this payment online", provider.name)
        currency = tx.currency_id
        if currency != line.currency_id:
            return none, _("its online transaction is in another currency")
        if "full_only" in supports and currency.compare_amounts(amount, tx.amount) != 0:
            return none, _("%s refunds only whole payments, and this order freed a part of it", provider.name)
        if currency.compare_amounts(amount, self._get_refundable_amount(tx)) > 0:
            return none, _("%s has less left to refund on this payment", provider.name)
        # As Odoo's own Refund button: only a user who may change the transaction sends money out.
        if not tx.with_env(self.env(su=False)).has_access("write"):
            return none, _("refunds through %s are sent by users allowed to refund payments", provider.name)
        return tx, False

    def _get_refundable_amount(self, tx, exclude=None):
        """What the transaction may still refund: its amount less every refund asked of it,
        answered or not (Odoo counts only the refunds whose payment exists), and less the
        refunds recorded to send; ``exclude``'s own refund is not counted."""
        exclude = exclude or self.env["sale.order.cancel.reconciled.log.line"]
        refunds = tx.child_transaction_ids.filtered(
            lambda child: (
                child.operation == "refund"
                and child.state not in ("cancel", "error")
                and child != exclude.refund_transaction_id
            )
        )
        to_send = (
            self.env["sale.order.cancel.reconciled.log.line"]
            .sudo()
            .search(
                [
                    ("online_transaction_id", "=", tx.id),
                    ("refund_state", "=", "to_send"),
                    ("refund_transaction_id", "=", False),
                    ("id", "!=", exclude.id),
                ]
            )
        )
        return tx.amount - sum(abs(refund.amount) for refund in refunds) - sum(to_send.mapped("amount"))

    def _get_refund_ways(self, plan):
        """Per freed payment line: (amount in its currency, transaction or empty, why not)."""
        ways = {}
        for line, amount in self._get_freed_amounts(plan).items():
            amount = line.currency_id.round(amount - self._money_sign(line) * self._get_non_money(plan, line))
            ways[line] = (amount, *self._get_refund_transaction(line, amount))
        return ways

    def _get_non_money(self, plan, line):
        """The part of what this freed line frees that was discounts and write-offs: the posted
        reversal's once the run made it, this line's share of the plan's before."""
        if line in plan.writeoff_reversals:
            return sum(plan.writeoff_reversals[line].mapped("amount_currency"))
        non_money = 0.0
        for share in plan.writeoffs:
            if line in share.freed:
                total = sum(share_line.amount_currency for share_line in share.lines)
                non_money += total * share.freed[line] / sum(share.freed.values())
        return non_money

    def _is_refundable_online(self, plan):
        """True when every payment this order frees goes back through its provider: one answer
        for the company's approval rule, the preview and the refund step."""
        ways = self._get_refund_ways(plan)
        return bool(ways) and all(tx and not reason for _amount, tx, reason in ways.values())

    def _get_refund_findings(self, plan, options):
        """An online payment that cannot go back through its provider is refunded by hand."""
        if options.payment_action != "refund":
            return []
        findings = []
        for line, (_amount, _tx, reason) in self._get_refund_ways(plan).items():
            if reason:
                message = self.env._(
                    "%(payment)s cannot be refunded online: %(reason)s. The refund is booked as an outbound "
                    "payment to make by hand; or keep the money as customer credit.",
                    payment=line.move_id.origin_payment_id.display_name,
                    reason=reason,
                )
                findings.append(Finding(message))
        return findings

    # ------------------------------------------------------------------------------------------
    # Refunding
    # ------------------------------------------------------------------------------------------

    @staticmethod
    def _get_freed_amounts(plan):
        """Per freed payment line, what it freed from this order's documents, in its currency."""
        freed = defaultdict(float)
        for match in plan.external_matches:
            freed[match.counterpart_line] += match.amount
        return freed

    def _refund_freed_money(self, plan, log):
        """Give back, per freed payment line, exactly the money freed from this order's documents:
        only the money received (the posted reversal of this order's share of the entry's
        discounts and write-offs tells how much of the freed amount was not money)."""
        vals_list = []
        for line, (amount, tx, _reason) in self._get_refund_ways(plan).items():
            if float_is_zero(amount, precision_rounding=line.currency_id.rounding):
                continue
            reversal_line = plan.writeoff_reversals.get(line, self.env["account.move.line"])
            if tx:
                vals_list.append(self._refund_through_provider(line, reversal_line, tx, amount))
            else:
                vals_list.append(self._refund_by_payment(plan, line, reversal_line, amount))
        self._add_log_lines(log, vals_list)
        if any(vals.get("refund_state") == "to_send" for vals in vals_list):
            # Sent once this run is committed, each refund in a transaction of its own.
            self.env.ref("order_cancel_reconciled.ir_cron_send_provider_refunds")._trigger()

    def _refund_through_provider(self, line, reversal_line, tx, amount):
        ratio = amount / abs(line.amount_currency) if line.amount_currency else 1.0
        return {
            "kind": "payment_refund",
            "payment_id": line.move_id.origin_payment_id.id,
            "counterpart_move_id": line.move_id.id,
            "online_transaction_id": tx.id,
            "refund_state": "to_send",
            "freed_line_id": line.id,
            "writeoff_reversal_line_id": reversal_line[:1].id,
            "amount": amount,
            "currency_id": line.currency_id.id,
            "amount_company": line.company_currency_id.round(abs(line.balance) * ratio),
            "date": fields.Date.context_today(self),
        }

    def _refund_by_payment(self, plan, line, reversal_line, amount):
        refund = self.env["account.payment"].create(self._prepare_refund_payment_vals(plan.order, line, amount))
        refund.action_post()
        refund_line = refund.move_id.line_ids.filtered(lambda refund_line: refund_line.account_id == line.account_id)
        (refund_line | line | reversal_line).filtered(lambda open_line: not open_line.reconciled).reconcile()
        return {
            "kind": "payment_refund",
            "payment_id": line.move_id.origin_payment_id.id,
            "counterpart_move_id": line.move_id.id,
            "result_payment_id": refund.id,
            "amount": refund.amount,
            "currency_id": line.currency_id.id,
            "amount_company": abs(refund.amount_company_currency_signed),
            "date": refund.date,
        }

    def _prepare_refund_payment_vals(self, order, line, amount):
        journal = line.move_id.origin_payment_id.journal_id or line.journal_id
        if journal.type not in ("bank", "cash"):
            journal = self.env["account.journal"].search(
                [*self.env["account.journal"]._check_company_domain(order.company_id), ("type", "=", "bank")], limit=1
            )
        return {
            # A credit freed on the receivable (money received) goes back out, and vice versa.
            "payment_type": "outbound" if line.balance < 0 else "inbound",
            "partner_type": order._get_cancel_reconciled_partner_type(),
            "partner_id": line.partner_id.id or order.partner_id.commercial_partner_id.id,
            "amount": amount,
            "currency_id": line.currency_id.id,
            "journal_id": journal.id,
            "date": fields.Date.context_today(self),
            "destination_account_id": line.account_id.id,
            "memo": self.env._("Refund: %s cancelled", order.name),
        }
