"""Approved requests run later, by the scheduled action, in a world that may have changed: the
rules are read again, a busy order is tried again, and "paid online, refundable" means what the
refund step will do."""

from unittest.mock import patch

from odoo.tests import tagged

from .common import CancelReconciledCommon
from .test_batch import raise_serialization_failure
from .test_cancel_requests import REQUEST, CancelRequestCommon

ENGINE = "order.cancel.reconciled.engine"


@tagged("post_install", "-at_install")
class TestCancelRequestRuns(CancelRequestCommon):
    def auto_rules(self, **rules):
        self.env.company.write({"cancel_request_auto": True, **rules})

    def test_rules_are_read_again_when_the_request_runs(self):
        self.auto_rules(cancel_request_auto_undelivered=True)
        order = self.paid_order()
        request = self.request_for(order)[1]
        self.assertEqual(request.state, "approved")
        # The warehouse ships the order before the scheduled action runs.
        self.deliver(order)
        self.run_cron()
        self.assertEqual(order.state, "sale", "not cancelled with the company defaults")
        self.assertEqual(request.state, "requested", "back to the members")
        self.assertIn("goods were delivered", request.error)
        self.assertIn("no longer approve", request.message_ids[0].body)
        self.assertTrue(order.activity_ids.filtered(lambda activity: "approve or refuse" in activity.summary))
        self.assertFalse(self.env["sale.order.cancel.reconciled.log"].search([("order_id", "=", order.id)]))

    def test_a_conflict_leaves_the_request_approved_for_a_later_run(self):
        self.auto_rules()
        order = self.paid_order()
        request = self.request_for(order)[1]
        engine = self.registry[ENGINE]
        original = engine._run

        def conflicting_run(self, orders, options):
            raise_serialization_failure(self.env)

        with patch.object(engine, "_run", conflicting_run):
            self.run_cron()
        self.assertEqual((request.state, request.attempts), ("approved", 1), "not a failure: tried again later")
        self.assertTrue(request.next_try)
        self.assertFalse(request.error)
        self.assertEqual(order.state, "sale")
        # Not due yet: the next run passes it over; once due, it is cancelled.
        self.assertFalse(self.env[REQUEST]._cron_process_approved())
        request.sudo().next_try = False
        self.assertTrue(original)
        self.run_cron()
        self.assertEqual((request.state, order.state), ("done", "cancel"))

    def test_paid_online_refundable_is_what_the_refund_step_does(self):
        """A provider that refunds only whole payments cannot give back one order's share of a
        payment for two orders: the rule must not approve what the refund step then refuses."""
        self.auto_rules(cancel_request_auto_online_only=True)
        provider = self.env.ref("payment.payment_provider_demo").sudo()
        order, other = self.create_order(), self.create_order([(self.product_b, 1.0)])
        invoices = self.invoice(order) | self.invoice(other)
        payment = CancelReconciledCommon.pay_online.__func__(type(self), invoices)
        provider.support_refund = "full_only"
        request = self.request_for(order)[1]
        self.assertEqual(request.state, "requested")
        self.assertIn("not paid only by online payments that can be refunded", request.message_ids[0].body)
        wizard = self.env["sale.order.cancel.reconciled"].create(
            {"order_ids": [(6, 0, order.ids)], "payment_action": "refund"}
        )
        self.assertIn("refunds only whole payments", str(wizard.preview_html))
        self.assertTrue(payment)
