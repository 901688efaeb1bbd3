from collections import defaultdict
from datetime import datetime
from typing import NamedTuple

from odoo import fields, http
from odoo.exceptions import AccessError, MissingError
from odoo.http import request
from odoo.tools import SQL, format_date

from odoo.addons.sale.controllers.portal import CustomerPortal

# How the customer reads a provider refund's state (REFUND_STATES): what we know of the money.
# "kept" is not here: that money is the customer's credit.
REFUND_STATES_FOR_CUSTOMER = {
    "to_send": "processing",
    "sending": "processing",
    "unknown": "processing",
    "held": "processing",
    "pending": "sent",
    "done": "confirmed",
    # The provider refunded; matching it in the books is the accountant's business.
    "to_match": "confirmed",
    "failed": "failed",
}


class CancelledOrderMoney(NamedTuple):
    """One sentence of a cancelled order's money box, in the customer's words: ``state`` is a
    CSS hook (credit, refund_processing, refund_sent, refund_confirmed, refund_failed,
    refund_manual, payment_cancelled)."""

    state: str
    text: str


class CancelledOrderSummary(NamedTuple):
    """What the customer's page of an order cancelled with this addon says."""

    date: object  # the cancellation's date, in the customer's time zone
    title: str  # "This order was cancelled on <date>."
    at_request: bool
    money: list  # of CancelledOrderMoney


class CancelRequestPortal(CustomerPortal):
    # ------------------------------------------------------------------------------------------
    # Your Orders: the orders cancelled after confirmation stay there, marked cancelled
    # ------------------------------------------------------------------------------------------

    def _prepare_orders_domain(self, partner):
        """Confirmed orders, and the orders this addon cancelled (it cancels confirmed orders
        only: its log is the proof the order was one); Odoo lists "sale" orders only. Read
        elevated: customers read no logs; which orders they see is still the portal's domain."""
        domain = super()._prepare_orders_domain(partner)
        logs = request.env["sale.order.cancel.reconciled.log"].sudo()._search([("order_id", "!=", False)])
        cancelled = [
            "&",
            ("state", "=", "cancel"),
            ("id", "in", logs.subselect(SQL.identifier(logs.table, "order_id"))),
        ]
        return [
            element
            for leaf in domain
            for element in (["|", leaf, *cancelled] if tuple(leaf) == ("state", "=", "sale") else [leaf])
        ]

    def _get_page_view_values(self, document, access_token, values, session_history, no_breadcrumbs, **kwargs):
        if document._name == "sale.order" and document.state == "cancel":
            summary = self._get_cancelled_order_summary(document)
            if summary:
                values["cancel_summary"] = summary
                # Its neighbours in "previous / next" are the customer's orders, not quotations.
                session_history = "my_orders_history"
        return super()._get_page_view_values(document, access_token, values, session_history, no_breadcrumbs, **kwargs)

    # ------------------------------------------------------------------------------------------
    # The cancelled order's page: when, why, and what became of the money
    # ------------------------------------------------------------------------------------------

    def _get_cancelled_order_summary(self, order):
        """The summary of the order's cancellations by this addon, from their logs (read elevated,
        the order's only), or None when it was not cancelled by this addon."""
        logs = request.env["sale.order.cancel.reconciled.log"].sudo().search([("order_id", "=", order.id)])
        if not logs:
            return None
        latest = logs[:1]  # newest first
        date = fields.Datetime.context_timestamp(request.env.user, latest.date).date()
        at_request = any(cancel_request.state == "done" for cancel_request in order.sudo().cancel_request_ids)
        return CancelledOrderSummary(
            date=date,
            title=request.env._("This order was cancelled on %s.", format_date(request.env, date)),
            at_request=at_request,
            money=self._get_cancelled_order_money(logs),
        )

    def _get_cancelled_order_money(self, logs):
        """What became of the money the customer had paid, line by line, never calling a credit
        "paid": kept as credit, refunded online (with what the provider said), refunded by us, or
        a payment cancelled."""
        env = request.env
        _ = env._
        money = []
        credits = defaultdict(float)
        for log in logs:
            lines = log.line_ids
            if log.payment_action == "keep":
                for currency, amount in self._get_kept_credit(log).items():
                    credits[currency] += amount
            for line in lines.filtered(lambda line: line.kind == "payment_cancel"):
                money.append(
                    CancelledOrderMoney(
                        "payment_cancelled",
                        _("Your payment of %s was cancelled.", line.currency_id.format(line.amount)),
                    )
                )
            for line in lines.filtered(lambda line: line.kind == "payment_refund"):
                if line.refund_state == "kept":
                    credits[line.currency_id] += line.amount
                elif line.online_transaction_id:
                    money.append(self._describe_online_refund(line))
                else:
                    money.append(
                        CancelledOrderMoney(
                            "refund_manual",
                            _(
                                "We refunded %(amount)s on %(date)s.",
                                amount=line.currency_id.format(line.amount),
                                date=format_date(env, line.date),
                            ),
                        )
                    )
        for currency, amount in credits.items():
            if currency.compare_amounts(amount, 0.0) > 0:
                credit = _("A credit of %s was added to your account for your next orders.", currency.format(amount))
                money.insert(0, CancelledOrderMoney("credit", credit))
        return money

    @staticmethod
    def _get_kept_credit(log):
        """Per currency, the money freed from the customer's payments that the cancellation kept
        on their account: what was unreconciled from entries other than the order's own
        documents, less what was not money (the reversal of discounts and write-offs)."""
        lines = log.line_ids
        documents = lines.filtered(lambda line: line.kind in ("credit_note", "invoice_cancel")).invoice_id
        credit = defaultdict(float)
        for line in lines.filtered(lambda line: line.kind == "unreconcile"):
            if line.counterpart_move_id in documents:
                continue
            # A payment frees money received against an invoice; an outbound one against a
            # credit note freed money the customer had already received back.
            sign = -1 if line.invoice_id.move_type == "out_refund" else 1
            credit[line.currency_id] += sign * line.amount
        for line in lines.filtered(lambda line: line.kind == "writeoff_reversal"):
            # A discount's reversal debits the receivable (less credit), an excess written off
            # credits it (more credit).
            receivable = line.result_move_id.line_ids.filtered(
                lambda move_line: move_line.account_id.account_type == "asset_receivable"
            )
            credit[line.currency_id] -= sum(receivable.mapped("amount_currency"))
        return credit

    def _describe_online_refund(self, line):
        env = request.env
        _ = env._
        state = REFUND_STATES_FOR_CUSTOMER.get(line.refund_state, "processing")
        amount = line.currency_id.format(line.amount)
        provider = line.online_transaction_id.provider_id.name
        if state == "processing":
            text = _(
                "A refund of %(amount)s through %(provider)s is being processed.", amount=amount, provider=provider
            )
        elif state == "failed":
            text = _(
                "The refund of %(amount)s through %(provider)s did not go through: we are looking into it, and the "
                "amount stays on your account meanwhile.",
                amount=amount,
                provider=provider,
            )
        else:
            sent_on = line.refund_sent_at or line.date
            if isinstance(sent_on, datetime):
                sent_on = fields.Datetime.context_timestamp(env.user, sent_on).date()
            text = _(
                "A refund of %(amount)s was sent on %(date)s through %(provider)s.",
                amount=amount,
                date=format_date(env, sent_on),
                provider=provider,
            )
            days = line.log_id.company_id.cancel_refund_days
            if days:
                text += " " + _("It usually arrives within %s days.", days)
            if state == "confirmed":
                # When the provider's answer reached us (the refund's last change of state).
                confirmed = line.refund_transaction_id.last_state_change or line.write_date
                text += " " + _(
                    "%(provider)s confirmed the refund on %(date)s.",
                    provider=provider,
                    date=format_date(env, fields.Datetime.context_timestamp(env.user, confirmed).date()),
                )
            else:
                text += " " + _("Waiting for %s to confirm it.", provider)
        return CancelledOrderMoney(f"refund_{state}", text)

    # ------------------------------------------------------------------------------------------
    # Asking to cancel
    # ------------------------------------------------------------------------------------------

    @http.route(["/my/orders/<int:order_id>/request_cancel"], type="http", auth="public", methods=["POST"])
    def portal_order_request_cancel(self, order_id, access_token=None, reason_id=None, comment=None, **kwargs):
        """The customer asks to cancel a confirmed order: the owner logged in, or anyone with the
        order's access token, as for the order's page (CSRF is checked by the route)."""
        try:
            order_sudo = self._document_check_access("sale.order", order_id, access_token=access_token)
        except (AccessError, MissingError):
            return request.redirect("/my")
        if request.env.user._is_internal():
            # The request is the customer's: a member of staff cancels from the back office,
            # under their own name, never as the customer.
            outcome = "internal_user"
        else:
            Request = request.env["sale.order.cancel.reconciled.request"].sudo()
            reason = self._get_cancel_request_reason(reason_id)
            outcome = Request._request_from_portal(order_sudo, reason, str(comment or "").strip())
        return request.redirect(order_sudo.get_portal_url(query_string=f"&cancel_request={outcome}"))

    @staticmethod
    def _get_cancel_request_reason(reason_id):
        """The reason the form sent, or none: whatever else was posted (a digit int() refuses or
        reads as another, a negative or unknown id), the request then says "choose one of the
        reasons"."""
        reasons = request.env["sale.order.cancel.reconciled.reason"].sudo()
        raw = str(reason_id or "")
        if not (raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**31):
            return reasons
        return reasons.browse(int(raw)).exists()
