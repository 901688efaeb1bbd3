import logging
import threading
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models, modules
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from .order_cancel_reconciled_plan import (
    REFUND_ACTIVITY_XMLID,
    REFUND_IN_FLIGHT,
    REFUND_MAX_ATTEMPTS,
    REFUND_TO_CHECK,
    report_cron_progress,
)

_logger = logging.getLogger(__name__)

# The first wait after a refusal; it doubles at each attempt.
FIRST_WAIT = timedelta(minutes=5)
# Lines waiting for the provider's answer: settled by it whatever a person decided meanwhile.
ANSWERABLE = ("sending", "pending", "unknown", "held", "failed", "kept")


class OrderCancelReconciledEngineOutbox(models.AbstractModel):
    """Provider refunds, sent exactly once or handed to a person, never twice, never lost.

    A cancellation records each provider refund as a log line "to send". The scheduled action
    sends them one per transaction, outbox style:

    1. Facts first: what the provider may still refund and the freed credit still open on the
       customer's account must cover the refund; when not, the line is "on hold" for a person.
    2. The intent is committed: the refund transaction (its reference is what the provider
       sees) is created and the line marked "sending" before the provider is called.
    3. The provider is called. Its answer is committed: "pending" (accepted; settled when the
       provider confirms), or, when the provider's code refused (an Odoo provider raises a
       UserError or ValidationError: nothing was refunded), "to send" again later with a
       growing wait, then "not refunded" for a person after REFUND_MAX_ATTEMPTS.
    4. Any other exception (a timeout, a connection reset) or a process killed during the call
       leaves the line "sending": the outcome is unknown, so it is never sent again blindly. The
       provider's answer settles it (a refund transaction for that payment and amount); without
       an answer after the company's delay, it goes to a person as "outcome unknown".

    A refund the provider made but that cannot be matched with the freed credit is "refunded,
    to match" with an accountant's to-do: no text ever asks for a second refund.
    """

    _name = "order.cancel.reconciled.engine.outbox"
    _description = "Cancellation engine: sending provider refunds"

    # ------------------------------------------------------------------------------------------
    # The scheduled action
    # ------------------------------------------------------------------------------------------

    @api.model
    def _cron_send_provider_refunds(self):
        """Send the next due refund, one per call: the scheduler commits between calls. Two runs
        at once never take the same refund. Refunds sent long ago without an answer go to a
        person first."""
        engine = self.sudo()
        engine._flag_unanswered_refunds()
        line = engine._lock_next_refund()
        if line:
            engine._send_provider_refund(line)
        line_model = engine.env["sale.order.cancel.reconciled.log.line"]
        remaining = line_model.search_count(engine._get_due_refund_domain()) if line else 0
        report_cron_progress(self.env, len(line), remaining)
        return line

    def _get_due_refund_domain(self):
        return [
            ("refund_state", "=", "to_send"),
            "|",
            ("refund_next_try", "=", False),
            ("refund_next_try", "<=", fields.Datetime.now()),
        ]

    def _lock_next_refund(self):
        line_model = self.env["sale.order.cancel.reconciled.log.line"]
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT id FROM %s WHERE refund_state = 'to_send'"
                " AND (refund_next_try IS NULL OR refund_next_try <= %s)"
                " ORDER BY refund_next_try NULLS FIRST, id LIMIT 1 FOR UPDATE SKIP LOCKED",
                SQL.identifier(line_model._table),
                fields.Datetime.now(),
            )
        )
        row = self.env.cr.fetchone()
        line = line_model.browse(row[0] if row else [])
        line.invalidate_recordset()
        return line

    def _commit_refund_step(self):
        """Make what was written so far durable before money moves. Under test, where one
        transaction holds a whole test, a flush stands for it; the real-process checks of
        ``make test`` kill a process between the commits."""
        self.env.flush_all()
        testing = modules.module.current_test or getattr(threading.current_thread(), "testing", False)
        if not testing:
            # The one commit the outbox is about: the intent must survive the provider's answer.
            self.env.cr.commit()  # pylint: disable=invalid-commit

    # ------------------------------------------------------------------------------------------
    # Sending one refund
    # ------------------------------------------------------------------------------------------

    def _send_provider_refund(self, line):
        if line.refund_state != "to_send":
            return
        hold = self._get_refund_hold_reason(line)
        if hold:
            line.write({"refund_state": "held", "refund_error": hold})
            self._hand_refund_to_person(line, self.env._("A provider refund is on hold"), hold)
            return
        tx = line.online_transaction_id
        # Step 2: the intent, with the refund transaction a retry reuses (same reference).
        refund_tx = line.refund_transaction_id
        if not refund_tx or refund_tx.state != "draft":
            refund_tx = tx._create_child_transaction(line.amount, is_refund=True)
        line.write(
            {
                "refund_state": "sending",
                "refund_transaction_id": refund_tx.id,
                "refund_attempts": line.refund_attempts + 1,
                "refund_sent_at": fields.Datetime.now(),
                "refund_next_try": False,
            }
        )
        self._commit_refund_step()
        # Step 3: the call, on the refund transaction itself: Odoo 19 creates the refund
        # transaction and sends it in two steps (payment.transaction._refund), which is what lets
        # the intent be committed in between. A process killed from here to the next commit
        # leaves "sending".
        try:
            with self.env.cr.savepoint():
                refund_tx._log_sent_message()
                refund_tx._send_refund_request()
        except (UserError, ValidationError) as error:
            self._refund_refused(line, error.args[0])
            return
        except Exception as error:  # whatever broke during the call, its outcome is unknown
            _logger.warning(
                "Refund %s through %s: no clear answer (%s); waiting for the provider's notification.",
                refund_tx.reference,
                tx.provider_id.name,
                error,
            )
            detail = f"{type(error).__name__}: {error}"
            line.write(
                {
                    "refund_error": self.env._(
                        "No clear answer from %(provider)s (%(error)s): the refund may have been made. It is not "
                        "sent again; the provider's notification settles it, or a person checks.",
                        provider=tx.provider_id.name,
                        error=detail,
                    )
                }
            )
            return
        line.write({"refund_state": "pending", "refund_error": False})
        self._settle_provider_refunds(line.refund_transaction_id)

    def _refund_refused(self, line, message):
        """The provider's code said no: nothing was refunded. Tried again later, then a person."""
        if line.refund_attempts < REFUND_MAX_ATTEMPTS:
            wait = FIRST_WAIT * 2 ** (line.refund_attempts - 1)
            line.write(
                {
                    "refund_state": "to_send",
                    "refund_next_try": fields.Datetime.now() + wait,
                    "refund_error": self.env._(
                        "%(provider)s did not take the refund (%(error)s): tried again at %(when)s UTC.",
                        provider=line.online_transaction_id.provider_id.name,
                        error=message,
                        when=fields.Datetime.to_string(fields.Datetime.now() + wait),
                    ),
                }
            )
            return
        line.write({"refund_state": "failed", "refund_error": message})
        self._report_failed_refund(line)

    def _get_refund_hold_reason(self, line):
        """Why this refund must not go out now, with the figures, or False. Checked when sending:
        the world may have changed since the cancellation."""
        _ = self.env._
        currency = line.currency_id
        tx = line.online_transaction_id
        left = self._get_refundable_amount(tx, exclude=line)
        if currency.compare_amounts(line.amount, left) > 0:
            return _(
                "%(provider)s has %(left)s left to refund on this payment, less than the %(amount)s to refund: "
                "a refund was made meanwhile. Check the customer's account before sending it again.",
                provider=tx.provider_id.name,
                left=currency.format(max(left, 0.0)),
                amount=currency.format(line.amount),
            )
        still_open = self._get_open_freed_credit(line)
        if currency.compare_amounts(line.amount, still_open) > 0:
            return _(
                "Only %(open)s of the %(amount)s freed by the cancellation is still open on the customer's account: "
                "it was used meanwhile (another invoice, another refund). Check the customer's account, then send "
                "the refund again or keep the credit.",
                open=currency.format(max(still_open, 0.0)),
                amount=currency.format(line.amount),
            )
        return False

    def _get_open_freed_credit(self, line):
        """What of the credit this cancellation freed is still open on the customer's account:
        the freed line's residual, less its discounts' reversal still to match, less what other
        refunds of the same credit have spoken for."""
        freed = line.freed_line_id
        if not freed:
            return 0.0
        open_credit = abs(freed.amount_residual_currency)
        reversal = line.writeoff_reversal_line_id
        if reversal and not reversal.reconciled:
            open_credit -= abs(reversal.amount_residual_currency)
        others = line.search(
            [("freed_line_id", "=", freed.id), ("refund_state", "in", REFUND_IN_FLIGHT), ("id", "!=", line.id)]
        )
        for other in others:
            open_credit -= other.amount
            if other.writeoff_reversal_line_id and not other.writeoff_reversal_line_id.reconciled:
                open_credit -= abs(other.writeoff_reversal_line_id.amount_residual_currency)
        return open_credit

    # ------------------------------------------------------------------------------------------
    # Refunds without an answer
    # ------------------------------------------------------------------------------------------

    def _flag_unanswered_refunds(self):
        """A refund sent longer ago than its company's delay without an answer goes to a person:
        the provider may or may not have refunded it."""
        now = fields.Datetime.now()
        lines = self.env["sale.order.cancel.reconciled.log.line"].search([("refund_state", "=", "sending")])
        for line in lines:
            hours = line.company_id.cancel_refund_unknown_hours
            if line.refund_sent_at and line.refund_sent_at > now - timedelta(hours=hours):
                continue
            refund_tx = line.refund_transaction_id
            note = self.env._(
                "Outcome unknown: %(provider)s was asked to refund %(amount)s (reference %(reference)s) on "
                "%(when)s UTC and has not answered. Check the provider before refunding: if it refunded, its "
                "notification settles this line; if not, send the refund again.",
                provider=line.online_transaction_id.provider_id.name,
                amount=line.currency_id.format(line.amount),
                reference=refund_tx.reference,
                when=fields.Datetime.to_string(line.refund_sent_at),
            )
            line.write({"refund_state": "unknown", "refund_error": note})
            self._hand_refund_to_person(line, self.env._("A provider refund has no answer"), note)

    # ------------------------------------------------------------------------------------------
    # The provider's answer (called when a refund transaction is post-processed or fails)
    # ------------------------------------------------------------------------------------------

    def _settle_provider_refunds(self, refund_txs):
        """Match each confirmed refund's payment with the credit it gives back; record a refused
        one on its log for a person: the credit stays open, nothing went out."""
        line_model = self.env["sale.order.cancel.reconciled.log.line"].sudo()
        refund_txs = refund_txs.filtered(lambda tx: tx.operation == "refund")
        lines = line_model.search([("refund_transaction_id", "in", refund_txs.ids), ("refund_state", "in", ANSWERABLE)])
        for tx in refund_txs - lines.refund_transaction_id:
            # A provider that answers with a transaction of its own (made from its notification
            # when it did not find ours): the line that asked that payment for that amount.
            lines |= self._find_line_for_provider_refund(tx)
        for line in lines:
            tx = line.refund_transaction_id
            if tx.state == "done" and tx.payment_id:
                self._match_refund(line)
            elif tx.state in ("error", "cancel") and line.refund_state in ("sending", "pending", "unknown"):
                line.write({"refund_state": "failed", "refund_error": tx.state_message or tx.state})
                self._report_failed_refund(line)

    def _find_line_for_provider_refund(self, tx):
        line_model = self.env["sale.order.cancel.reconciled.log.line"]
        if tx.state not in ("pending", "authorized", "done"):
            # A refused or cancelled transaction (our replaced one too) answers no line.
            return line_model
        candidates = line_model.search(
            [
                ("online_transaction_id", "=", tx.source_transaction_id.id),
                ("refund_state", "in", ("sending", "pending", "unknown")),
            ]
        )
        line = candidates.filtered(
            lambda line: (
                line.currency_id.compare_amounts(line.amount, abs(tx.amount)) == 0
                and line.refund_transaction_id.state == "draft"
            )
        )[:1]
        if line:
            self._adopt_refund_transaction(line, tx)
        return line

    def _adopt_refund_transaction(self, line, tx):
        prepared = line.refund_transaction_id
        line.refund_transaction_id = tx
        if prepared and prepared != tx and prepared.state == "draft":
            # Never sent under this reference: it must not count as a refund asked.
            prepared._set_canceled(state_message=self.env._("Replaced by the provider's %s.", tx.reference))

    def _match_refund(self, line):
        """Match the refund's payment with the freed credit (and its discounts' reversal): done,
        or "refunded, to match" with an accountant's to-do when it cannot be matched."""
        payment = line.refund_transaction_id.payment_id
        payment_line = payment.move_id.line_ids.filtered(lambda aml: aml.account_id == line.freed_line_id.account_id)
        to_match = payment_line | line.freed_line_id | line.writeoff_reversal_line_id
        to_match.filtered(lambda aml: not aml.reconciled).reconcile()
        if payment_line and payment_line.reconciled:
            line.write({"refund_state": "done", "result_payment_id": payment.id, "refund_error": False})
            self._close_refund_activity(line)
            return
        note = self.env._(
            "Refunded by %(provider)s: %(payment)s could not be matched with the credit the cancellation freed "
            "(booked on another account, or the credit was used meanwhile). The customer has their money: "
            "match %(payment)s with the customer's open items, do not refund again.",
            provider=line.online_transaction_id.provider_id.name,
            payment=payment.name,
        )
        line.write({"refund_state": "to_match", "result_payment_id": payment.id, "refund_error": note})
        self._hand_refund_to_person(line, self.env._("A provider refund to match"), note)

    # ------------------------------------------------------------------------------------------
    # Telling a person
    # ------------------------------------------------------------------------------------------

    def _report_failed_refund(self, line):
        note = self.env._(
            "The provider did not refund %(amount)s: %(error)s. Nothing went out: the credit stays open on the "
            "customer's account. Send the refund again, refund it another way, or keep it as credit.",
            amount=line.currency_id.format(line.amount),
            error=line.refund_error,
        )
        self._hand_refund_to_person(line, self.env._("A provider refund failed"), note)

    def _hand_refund_to_person(self, line, summary, note):
        """A note on the log and a to-do on the order: for the log's author when a billing user
        (billing users decide on refunds), else for the company's billing administrators."""
        log = line.log_id
        body = Markup("<p>%s</p>") % note
        log.message_post(body=body, subtype_xmlid="mail.mt_note")
        company = log.company_id
        deciders = log.user_id & self.env.ref("account.group_account_invoice").sudo().all_user_ids
        if not deciders:
            deciders = self.env.ref("account.group_account_manager").sudo().all_user_ids
        deciders = deciders.filtered(lambda user: not user.share and user.active and company in user.company_ids)
        order = log._get_cancelled_order().sudo()
        for user in deciders:
            order.activity_schedule(REFUND_ACTIVITY_XMLID, user_id=user.id, summary=summary, note=body)

    def _close_refund_activity(self, line):
        """The order's refund to-do is done once none of its refunds waits for a person."""
        log = line.log_id
        waiting = log.line_ids.filtered(lambda other: other.refund_state in REFUND_TO_CHECK)
        if not waiting:
            log._get_cancelled_order().sudo().activity_unlink([REFUND_ACTIVITY_XMLID])
