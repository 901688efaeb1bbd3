"""Provider refunds are sent exactly once or handed to a person: never twice, never lost.

The provider is Odoo's simulated one (payment_demo). Where a test needs the provider to time
out or refuse, its refund request is replaced for that test by one that does, counting the
requests that reached it; the crash itself (a process killed with SIGKILL between the provider's
answer and the commit) is checked with real processes by ``scripts/check_refund_crash.py``."""

from contextlib import contextmanager
from datetime import timedelta
from unittest.mock import patch

import requests

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger
from odoo.tools.safe_eval import safe_eval

from ..models.order_cancel_reconciled_plan import REFUND_MAX_ATTEMPTS
from .common import CancelReconciledCommon

ENGINE = "order.cancel.reconciled.engine"
OUTBOX_LOGGER = "odoo.addons.order_cancel_reconciled.models.order_cancel_reconciled_engine_outbox"


def time_out(tx):
    """The provider's answer never comes back: the request may or may not have been made."""
    raise requests.exceptions.ReadTimeout("read timed out")


@tagged("post_install", "-at_install")
class TestRefundOutbox(CancelReconciledCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls.env.ref("payment.payment_provider_demo").sudo()
        cls.env.user.partner_id.email = "cancelling.user@example.com"
        cls.accountant = cls.new_user(
            "outbox_accountant", "account.group_account_invoice,sales_team.group_sale_salesman"
        )

    # -- helpers ------------------------------------------------------------------------------

    def online_order(self, name, amount=None):
        partner = self.env["res.partner"].create({"name": name, "email": "customer@example.com"})
        order = self.create_order(partner=partner)
        invoice = self.invoice(order)
        payment = self.pay_online(invoice, amount=amount)
        return order, partner, payment

    def cancel_refunding(self, order):
        engine = self.env[ENGINE]
        logs = engine._run(order, engine._prepare_options(self.env.company, payment_action="refund"))
        return logs.line_ids.filtered(lambda line: line.kind == "payment_refund")

    def run_outbox(self):
        """The scheduled action, called while it says some remain (the scheduler does so)."""
        for _call in range(20):
            if not self.env[ENGINE]._cron_send_provider_refunds():
                break

    @contextmanager
    def recorded_provider(self, behaviour=None):
        """The demo provider's refund request, recorded; ``behaviour(tx)`` may raise instead
        of refunding (a timeout, a refusal) for the transactions it chooses."""
        calls = []
        model = self.registry["payment.transaction"]
        original = model._send_refund_request

        def send_refund_request(refund_tx):
            # Odoo 19 sends the refund transaction itself (created before, here committed before).
            tx = refund_tx.source_transaction_id
            calls.append((tx.reference, -refund_tx.amount))
            if behaviour:
                behaviour(tx)
            original(refund_tx)
            calls[-1] += (refund_tx.reference,)

        with patch.object(model, "_send_refund_request", send_refund_request):
            yield calls

    def provider_notifies(self, refund_tx):
        """The provider's notification that it refunded, as its webhook brings it, then Odoo's
        post-processing (its scheduled action)."""
        refund_tx.sudo()._process("demo", {"reference": refund_tx.reference, "simulated_state": "done"})
        refund_tx.sudo()._post_process()

    def refund_activities(self, order):
        activity_type = self.env.ref("order_cancel_reconciled.mail_activity_type_refund_check")
        return order.activity_ids.filtered(lambda activity: activity.activity_type_id == activity_type)

    # -- tests --------------------------------------------------------------------------------

    def test_intent_and_its_reference_exist_before_the_provider_is_called(self):
        order, partner, payment = self.online_order("Intent Customer")
        line = self.cancel_refunding(order)
        seen = {}

        def before_call(tx):
            # What a retry after a crash here would find: the line sending, its refund reference.
            seen.update(
                state=line.refund_state, refund=line.refund_transaction_id.reference, attempts=line.refund_attempts
            )

        with self.recorded_provider(before_call) as calls:
            self.run_outbox()
        self.assertEqual(seen["state"], "sending")
        self.assertTrue(seen["refund"])
        self.assertEqual(seen["attempts"], 1)
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls[0][2], seen["refund"], "the provider's code got the prepared refund, its reference")
        refunds = payment.sudo().payment_transaction_id.child_transaction_ids
        self.assertEqual(len(refunds), 1, "one refund transaction, not a second one made by the provider's code")
        self.assertEqual(line.refund_state, "pending")
        self.provider_notifies(line.refund_transaction_id)
        self.assertEqual(line.refund_state, "done")
        self.assert_books(partner, "refund")

    def test_a_refund_not_made_yet_reads_as_waiting_for_the_provider(self):
        """Before the provider has refunded, the log line has no refund payment to name: it says
        how much goes back through which provider and where the refund stands."""
        order, _partner, payment = self.online_order("Waiting Customer")
        line = self.cancel_refunding(order)
        self.assertEqual(line.refund_state, "to_send")
        provider = payment.sudo().payment_transaction_id.provider_id

        self.assertNotIn("False", line.name)
        self.assertIn(provider.name, line.name)
        self.assertIn(line.currency_id.format(line.amount), line.name)
        self.assertIn("To send", line.name)
        self.run_outbox()
        self.provider_notifies(line.refund_transaction_id)
        self.assertEqual(line.refund_state, "done")
        self.assertIn(line.result_payment_id.name, line.name)

    def test_timeout_on_one_refund_is_not_sent_again_and_the_next_one_is_sent(self):
        first, first_partner, first_payment = self.online_order("Timeout Customer")
        second, second_partner, _payment = self.online_order("Next Customer")
        first_line, second_line = self.cancel_refunding(first), self.cancel_refunding(second)
        timing_out = first_payment.sudo().payment_transaction_id

        def time_out(tx):
            if tx == timing_out:
                raise requests.exceptions.ReadTimeout("read timed out")

        with self.recorded_provider(time_out) as calls, mute_logger(OUTBOX_LOGGER):
            self.run_outbox()
            self.run_outbox()
        self.assertEqual([reference for reference, *_rest in calls].count(timing_out.reference), 1, "asked once")
        self.assertEqual(len(calls), 2, "the next refund was sent")
        self.assertEqual(second_line.refund_state, "pending")
        self.assertEqual(first_line.refund_state, "sending", "outcome unknown: never sent again blindly")
        self.assertIn("No clear answer", first_line.refund_error)
        self.assertEqual(first_line.refund_attempts, 1)
        # The provider had refunded after all: its notification settles the line.
        self.provider_notifies(first_line.refund_transaction_id)
        self.provider_notifies(second_line.refund_transaction_id)
        self.assertEqual((first_line.refund_state, second_line.refund_state), ("done", "done"))
        self.assert_books(first_partner, "refund")
        self.assert_books(second_partner, "refund")

    def test_refusal_is_tried_again_with_the_same_reference_then_handed_to_a_person(self):
        order, partner, _payment = self.online_order("Refused Customer")
        line = self.cancel_refunding(order)

        answer = "Demo: the provider is down for maintenance."  # the provider's words, not ours

        def refuse(tx):
            raise ValidationError(answer)

        with self.recorded_provider(refuse) as calls:
            self.run_outbox()
            self.assertEqual(line.refund_state, "to_send")
            self.assertGreater(line.refund_next_try, fields.Datetime.now(), "not before its wait")
            self.run_outbox()
            self.assertEqual(len(calls), 1, "a refused refund waits before it is tried again")
            for _attempt in range(REFUND_MAX_ATTEMPTS - 1):
                line.sudo().refund_next_try = fields.Datetime.now() - timedelta(seconds=1)
                self.run_outbox()
        self.assertEqual(len(calls), REFUND_MAX_ATTEMPTS)
        references = line.online_transaction_id.sudo().child_transaction_ids.mapped("reference")
        self.assertEqual(len(references), 1, "every attempt carried the same refund reference")
        self.assertEqual(line.refund_state, "failed")
        self.assertTrue(self.refund_activities(order))
        note = line.log_id.message_ids[0].body
        self.assertIn("Nothing went out", note)
        self.assertNotIn("by hand", note)
        self.assertAlmostEqual(self.receivable_balance(partner), -order.amount_total, msg="the credit stays open")
        # A billing user sends it again once the provider is back.
        line.with_user(self.accountant).action_refund_send_again()
        with self.recorded_provider() as calls:
            self.run_outbox()
        self.assertEqual(len(calls), 1)
        self.provider_notifies(line.refund_transaction_id)
        self.assertEqual(line.refund_state, "done")
        self.assertFalse(self.refund_activities(order), "the to-do is done with the decision")
        self.assert_books(partner, "refund")

    def test_no_answer_after_the_delay_goes_to_a_person_with_what_to_check(self):
        order, partner, _payment = self.online_order("Silent Customer")
        line = self.cancel_refunding(order)

        with self.recorded_provider(time_out) as calls, mute_logger(OUTBOX_LOGGER):
            self.run_outbox()
        self.env.company.cancel_refund_unknown_hours = 2
        line.sudo().refund_sent_at = fields.Datetime.now() - timedelta(hours=1)
        self.run_outbox()
        self.assertEqual(line.refund_state, "sending", "still within the delay")
        line.sudo().refund_sent_at = fields.Datetime.now() - timedelta(hours=3)
        with self.recorded_provider() as later_calls:
            self.run_outbox()
        self.assertFalse(later_calls, "an unknown outcome is never sent again by itself")
        self.assertEqual(line.refund_state, "unknown")
        reference = line.refund_transaction_id.reference
        for fact in ("Outcome unknown", self.provider.name, reference, "Check the provider before refunding"):
            self.assertIn(fact, line.refund_error)
        self.assertTrue(self.refund_activities(order))
        self.assertEqual(len(calls), 1)
        # The provider's late answer still settles it.
        self.provider_notifies(line.refund_transaction_id)
        self.assertEqual(line.refund_state, "done")
        self.assert_books(partner, "refund")

    def test_provider_answering_with_its_own_refund_transaction_settles_the_line(self):
        order, partner, payment = self.online_order("Own Reference Customer")
        line = self.cancel_refunding(order)

        with self.recorded_provider(time_out), mute_logger(OUTBOX_LOGGER):
            self.run_outbox()
        prepared = line.refund_transaction_id
        # Some providers' notifications make their own refund transaction when they find none.
        source = payment.sudo().payment_transaction_id
        own = source._create_child_transaction(order.amount_total, is_refund=True)
        own._set_done()
        own._post_process()
        self.assertEqual(line.refund_transaction_id, own)
        self.assertEqual(prepared.state, "cancel", "the prepared one never went out: it counts for nothing")
        self.assertEqual(line.refund_state, "done")
        self.assert_books(partner, "refund")

    def test_a_cancelled_refund_of_the_same_amount_answers_no_line(self):
        order, _partner, payment = self.online_order("Cancelled Other Refund Customer")
        line = self.cancel_refunding(order)

        with self.recorded_provider(time_out), mute_logger(OUTBOX_LOGGER):
            self.run_outbox()
        prepared = line.refund_transaction_id
        # Another refund of the same payment and amount, cancelled: it is not this line's answer.
        other = payment.sudo().payment_transaction_id._create_child_transaction(order.amount_total, is_refund=True)
        other._set_canceled()
        self.assertEqual(line.refund_transaction_id, prepared)
        self.assertEqual((line.refund_state, prepared.state), ("sending", "draft"))

    def test_credit_used_meanwhile_holds_the_refund_with_the_figures(self):
        order, partner, _payment = self.online_order("Credit Used Customer")
        line = self.cancel_refunding(order)
        # Before the scheduled action runs, an accountant uses the freed credit on a new invoice.
        other = self.create_order([(self.product_b, 1.0)], partner=partner)
        other_invoice = self.invoice(other)
        other_invoice.js_assign_outstanding_line(line.freed_line_id.id)
        used = other_invoice.amount_total
        with self.recorded_provider() as calls:
            self.run_outbox()
        self.assertFalse(calls, "nothing was asked of the provider")
        self.assertEqual(line.refund_state, "held")
        currency = line.currency_id
        self.assertIn(currency.format(order.amount_total - used), line.refund_error)
        self.assertIn(currency.format(line.amount), line.refund_error)
        self.assertTrue(self.refund_activities(order))
        # The accountant keeps what is left as credit.
        with self.assertRaises(AccessError):
            line.with_user(
                self.new_user("outbox_salesman", "sales_team.group_sale_salesman")
            ).action_refund_keep_credit()
        line.with_user(self.accountant).action_refund_keep_credit()
        self.assertEqual(line.refund_state, "kept")
        self.assertAlmostEqual(self.receivable_balance(partner), -(order.amount_total - used))
        self.assert_entries_balanced()

    def test_refund_made_but_not_matched_asks_to_match_never_to_refund_again(self):
        order, partner, _payment = self.online_order("To Match Customer")
        line = self.cancel_refunding(order)
        with self.recorded_provider():
            self.run_outbox()
        # The provider refunded; meanwhile the credit was used on another invoice.
        other = self.create_order([(self.product_b, 1.0)], partner=partner)
        other_invoice = self.invoice(other)
        other_invoice.js_assign_outstanding_line(line.freed_line_id.id)
        self.provider_notifies(line.refund_transaction_id)
        self.assertEqual(line.refund_state, "to_match")
        self.assertTrue(line.result_payment_id)
        self.assertIn("do not refund again", line.refund_error)
        self.assertNotIn("by hand", line.log_id.message_ids[0].body)
        self.assertTrue(self.refund_activities(order))
        with self.assertRaisesRegex(Exception, "still not matched"):
            line.with_user(self.accountant).action_refund_check_matched()
        self.assertEqual(line.refund_state, "to_match")

    def test_a_refund_made_meanwhile_is_held_not_sent_and_not_refunded_by_hand(self):
        order, _partner, payment = self.online_order("Refunded Meanwhile Customer")
        line = self.cancel_refunding(order)
        # Someone refunds it at the provider meanwhile (Odoo 19: _refund creates and sends it).
        payment.sudo().payment_transaction_id._refund()
        with self.recorded_provider() as calls:
            self.run_outbox()
        self.assertFalse(calls)
        self.assertEqual(line.refund_state, "held")
        self.assertIn("left to refund", line.refund_error)
        self.assertNotIn("by hand", line.refund_error)

    def test_only_billing_users_decide_and_only_on_waiting_refunds(self):
        order, _partner, _payment = self.online_order("Decider Customer")
        line = self.cancel_refunding(order)
        member = self.new_user(
            "outbox_member", "sales_team.group_sale_salesman_all_leads,order_cancel_reconciled.group_cancel_reconciled"
        )
        with self.assertRaises(AccessError):
            line.with_user(member).action_refund_send_again()
        with self.assertRaisesRegex(Exception, "does not wait for that decision"):
            line.with_user(self.accountant).action_refund_send_again()
        self.assertEqual(line.refund_state, "to_send")

    def test_billing_users_reach_the_refunds_to_check_by_the_menus(self):
        menu = self.env.ref("order_cancel_reconciled.sale_order_cancel_reconciled_log_line_menu_refunds")
        action = menu.action.sudo()
        self.assertEqual(menu.parent_id, self.env.ref("order_cancel_reconciled.menu_review"))
        visible = self.env["ir.ui.menu"].with_user(self.accountant)._visible_menu_ids()
        self.assertIn(menu.id, visible)
        self.assertIn(menu.parent_id.parent_id.id, visible, "Invoicing itself")
        order, _partner, _payment = self.online_order("Menu Customer")
        line = self.cancel_refunding(order)
        line.sudo().write({"refund_state": "held", "refund_error": "figures"})
        lines_model = self.env[action.res_model].with_user(self.accountant)
        views = lines_model.get_views([(action.view_id.id, "list"), (action.search_view_id.id, "search")])
        self.assertIn("action_refund_send_again", views["views"]["list"]["arch"])
        domain = [*safe_eval(action.domain), ("refund_state", "in", ("to_match", "unknown", "held", "failed"))]
        self.assertEqual(lines_model.search(domain), line, "the To Check filter lists it")
