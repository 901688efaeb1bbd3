"""Customers ask to cancel on the portal; the company's rules or a member decide; the scheduled
action cancels the approved orders."""

from datetime import timedelta

from psycopg2.errors import UniqueViolation

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CancelReconciledCommon

REQUEST = "sale.order.cancel.reconciled.request"


class CancelRequestCommon(CancelReconciledCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.write(
            {
                "cancel_request_portal": True,
                "cancel_request_auto": False,
                "cancel_request_auto_undelivered": False,
                "cancel_request_auto_days": 0,
                "cancel_request_auto_max_amount": 0.0,
                "cancel_request_auto_online_only": False,
            }
        )
        cls.reason = cls.env.ref("order_cancel_reconciled.reason_customer_request")
        cls.reason.show_on_portal = True
        cls.internal_reason = cls.env.ref("order_cancel_reconciled.reason_damaged")
        cls.internal_reason.show_on_portal = False
        cls.customer.email = "customer@example.com"

    def paid_order(self, deliver=False):
        order = self.create_order()
        if deliver:
            self.deliver(order)
        self.pay(self.invoice(order))
        return order

    def request_for(self, order, comment="Ordered twice"):
        outcome = self.env[REQUEST].sudo()._request_from_portal(order.sudo(), self.reason, comment)
        return outcome, order.cancel_request_ids[:1]

    def run_cron(self):
        while self.env[REQUEST]._cron_process_approved():
            pass


@tagged("post_install", "-at_install")
class TestCancelRequestRules(CancelRequestCommon):
    def test_request_waits_for_a_member_and_tells_everyone(self):
        order = self.paid_order()
        outcome, request = self.request_for(order)
        self.assertEqual((outcome, request.state, request.channel), ("sent", "requested", "portal"))
        self.assertIn("We have received your request", order.message_ids[0].body)
        self.assertEqual(order.message_ids[0].partner_ids, self.customer)
        self.assertTrue(order.activity_ids.filtered(lambda activity: "approve or refuse" in activity.summary))
        # One open request per order.
        self.assertEqual(self.request_for(order)[0], "already_requested")
        self.assertEqual(len(order.cancel_request_ids), 1)

    def test_refusals_create_nothing(self):
        quotation = self.create_order(confirm=False)
        cancelled = self.create_order()
        cancelled._action_cancel()
        order = self.paid_order()
        Request = self.env[REQUEST].sudo()
        self.assertEqual(Request._request_from_portal(quotation, self.reason, ""), "not_confirmed")
        self.assertEqual(Request._request_from_portal(cancelled, self.reason, ""), "not_confirmed")
        self.assertEqual(Request._request_from_portal(order, self.internal_reason, ""), "reason")
        self.assertEqual(
            Request._request_from_portal(order, self.env["sale.order.cancel.reconciled.reason"], ""), "reason"
        )
        self.assertEqual(Request._request_from_portal(order, self.reason, "x" * 2001), "comment_too_long")
        self.env.company.cancel_request_portal = False
        self.assertEqual(Request._request_from_portal(order, self.reason, ""), "not_allowed")
        self.assertFalse(Request.search([("order_id", "in", (quotation | cancelled | order).ids)]))

    def auto_rules(self, **rules):
        self.env.company.write({"cancel_request_auto": True, **rules})

    def test_auto_approval_each_condition_and_its_negation(self):
        cases = [
            ("nothing delivered", {"cancel_request_auto_undelivered": True}, {"deliver": True}),
            ("within days", {"cancel_request_auto_days": 10}, {"age_days": 30}),
            ("up to an amount", {"cancel_request_auto_max_amount": 500.0}, {"limit": 100.0}),
            ("paid online only", {"cancel_request_auto_online_only": True}, {}),
        ]
        for name, rules, breaking in cases:
            with self.subTest(condition=name):
                self.auto_rules(**rules)
                holds = self.paid_order()
                if name == "paid online only":
                    holds = self.paid_online_order()
                self.assertEqual(self.request_for(holds)[1].state, "approved", f"{name}: holds")
                broken = self.paid_order(deliver=breaking.get("deliver", False))
                if "age_days" in breaking:
                    broken.date_order = fields.Datetime.now() - timedelta(days=breaking["age_days"])
                if "limit" in breaking:
                    self.env.company.cancel_request_auto_max_amount = breaking["limit"]
                request = self.request_for(broken)[1]
                self.assertEqual(request.state, "requested", f"{name}: does not hold")
                self.assertIn("Not approved automatically", request.message_ids[0].body)
                self.env.company.write(
                    {
                        "cancel_request_auto_undelivered": False,
                        "cancel_request_auto_days": 0,
                        "cancel_request_auto_max_amount": 0.0,
                        "cancel_request_auto_online_only": False,
                    }
                )

    def paid_online_order(self):
        """An order paid online: its payment comes from a done transaction of Odoo's simulated
        provider, which refunds (payment_demo)."""
        provider = self.env.ref("payment.payment_provider_demo").sudo()
        provider.write({"state": "test", "company_id": self.env.company.id})
        self.assertIn(provider.support_refund, ("full_only", "partial"))
        order = self.create_order()
        invoice = self.invoice(order)
        transaction = (
            self.env["payment.transaction"]
            .sudo()
            .create(
                {
                    "provider_id": provider.id,
                    "payment_method_id": provider.payment_method_ids[:1].id,
                    "amount": invoice.amount_total,
                    "currency_id": invoice.currency_id.id,
                    "partner_id": self.customer.id,
                    "invoice_ids": [Command.set(invoice.ids)],
                    "reference": f"online-{order.name}",
                }
            )
        )
        transaction._set_done()
        payment = self.pay(invoice)
        payment.payment_transaction_id = transaction
        self.assertIn(invoice.payment_state, ("in_payment", "paid"))
        return order

    def test_rules_never_approve_what_the_engine_would_refuse(self):
        self.auto_rules()
        order = self.create_order()
        other = self.create_order([(self.product_b, 1.0)])
        # An invoice billing two orders: only the two together can be cancelled.
        invoice = (order | other)._create_invoices()
        invoice.action_post()
        self.pay(invoice)
        request = self.request_for(order)[1]
        self.assertEqual(request.state, "requested")
        self.assertIn("also bills", request.message_ids[0].body)

    def test_scheduled_action_cancels_approved_requests_and_returns_refused_ones(self):
        self.auto_rules()
        self.env.company.cancel_reconciled_payment_action = "refund"
        good, bad = self.paid_order(), self.create_order()
        invoice = self.invoice(bad, post=False)
        invoice.invoice_date = fields.Date.today() - timedelta(days=400)
        invoice.action_post()
        self.pay(invoice)
        good_request, bad_request = self.request_for(good)[1], self.request_for(bad)[1]
        self.assertEqual({good_request.state, bad_request.state}, {"approved"})
        # Between approval and the run, the period of the second order's invoice gets locked, and
        # the company's default becomes cancelling invoices, which a locked period refuses.
        self.env.company.fiscalyear_lock_date = fields.Date.today() - timedelta(days=200)
        self.env.company.cancel_reconciled_invoice_action = "cancel"
        self.run_cron()
        self.assertEqual(good_request.state, "done")
        self.assertEqual(good.state, "cancel")
        self.assertEqual(good_request.log_id.order_id, good)
        self.assertTrue(good_request.log_id.line_ids.filtered(lambda line: line.kind == "payment_refund"))
        self.assertIn("cancelled", good.message_ids.filtered(lambda message: message.subject)[0].subject)
        # The rules are read again when the request runs: the engine would now refuse it, so the
        # request goes back to the members with the reason, nothing done.
        self.assertEqual(bad_request.state, "requested")
        self.assertIn("before the lock date", bad_request.error)
        self.assertEqual(bad.state, "sale", "nothing half-done")
        self.assertEqual(bad.invoice_ids.payment_state, "paid")
        self.assertTrue(bad.activity_ids.filtered(lambda activity: "approve or refuse" in activity.summary))
        # A second run does nothing twice.
        logs = self.env["sale.order.cancel.reconciled.log"].search_count([("order_id", "in", (good | bad).ids)])
        self.assertFalse(self.env[REQUEST]._cron_process_approved())
        self.assertEqual(
            self.env["sale.order.cancel.reconciled.log"].search_count([("order_id", "in", (good | bad).ids)]), logs
        )

    def test_analysis_counts_requests_cancellations_and_refunds(self):
        self.auto_rules()
        self.env.company.cancel_reconciled_payment_action = "refund"
        partner = self.env["res.partner"].create({"name": "Analysis Customer"})
        requested, kept = self.create_order(partner=partner), self.create_order(partner=partner)
        self.pay(self.invoice(requested))
        self.request_for(requested)
        self.run_cron()
        self.assertEqual(requested.state, "cancel")
        self.env.flush_all()
        Analysis = self.env["sale.order.cancel.reconciled.analysis"]
        row = Analysis.search([("order_id", "=", requested.id)])
        self.assertRecordValues(
            row,
            [
                {
                    "cancelled_count": 1,
                    "request_count": 1,
                    "channel": "rule",  # the request was approved by the company's rules
                    "reason_id": self.reason.id,
                    "amount_refunded": requested.amount_total,
                    "categ_id": self.product_a.categ_id.id,
                }
            ],
        )
        self.assertGreaterEqual(row.hours_to_cancel, 0.0)
        groups = Analysis._read_group(
            [("partner_id", "=", partner.id)], [], ["order_count:sum", "cancelled_count:sum", "cancellation_rate:avg"]
        )
        self.assertEqual(groups, [(2, 1, 50.0)], "one of the two confirmed orders is cancelled")
        manager = self.new_user("analysis_manager", "sales_team.group_sale_manager")
        self.assertEqual(Analysis.with_user(manager).search_count([("order_id", "in", (requested | kept).ids)]), 2)
        menu = self.env.ref("order_cancel_reconciled.sale_order_cancel_reconciled_analysis_menu")
        self.assertIn(menu, self.env["ir.ui.menu"].with_user(manager).search([("id", "=", menu.id)]))

    def test_member_approves_from_the_request_or_refuses_with_a_note(self):
        order, refused_order = self.paid_order(), self.paid_order()
        request, refused = self.request_for(order)[1], self.request_for(refused_order)[1]
        member = self.new_user(
            "request_member", "sales_team.group_sale_salesman_all_leads,order_cancel_reconciled.group_cancel_reconciled"
        )
        action = request.with_user(member).action_approve()
        wizard = self.env["sale.order.cancel.reconciled"].with_user(member).with_context(**action["context"]).create({})
        self.assertEqual((wizard.reason_id, wizard.note), (self.reason, "Ordered twice"))
        wizard.action_confirm()
        self.assertEqual((request.state, order.state), ("done", "cancel"))
        self.assertEqual((request.decided_by_id, request.log_id.order_id), (member, order))
        self.assertFalse(order.activity_ids, "the members' to-do is closed with the request")
        with self.assertRaisesRegex(UserError, "Write the note"):
            refused.with_user(member).action_refuse()
        refused.with_user(member).decision_note = "The goods are already made to measure"
        refused.with_user(member).action_refuse()
        self.assertEqual((refused.state, refused.decided_by_id), ("refused", member))
        self.assertIn("made to measure", refused_order.message_ids[0].body)
        self.assertEqual(refused_order.state, "sale")

    def test_the_dialog_answers_the_open_request_and_the_order_tracks_only_its_own_fields(self):
        order = self.paid_order()
        request = self.request_for(order)[1]
        # Tracked, as outside the tests.
        tracked = {"tracking_disable": False, "mail_notrack": False}
        wizard = (
            self.env["sale.order.cancel.reconciled"]
            .with_context(active_model="sale.order", active_ids=order.ids, **tracked)
            .create({})
        )
        wizard.action_confirm()
        self.env.cr.precommit.run()  # the tracking messages are written when the transaction commits
        self.env.invalidate_all()
        log = request.log_id
        self.assertEqual((request.state, log.order_id, log.channel), ("done", order, "portal"))
        self.assertEqual(request.decided_by_id, log.user_id)
        # The request's state is tracked by the request, once; the order's message tracks its own
        # fields (a related field would take the tracking of the state it shows).
        tracked = order.message_ids.tracking_value_ids.field_id.mapped("name")
        self.assertIn("state", tracked)
        self.assertNotIn("cancel_request_state", tracked)
        self.assertEqual(request.message_ids.tracking_value_ids.mapped("new_value_char"), ["Cancelled"])

    def test_requests_change_only_through_their_actions(self):
        order = self.paid_order()
        request = self.request_for(order)[1]
        other = self.paid_order()
        member = self.new_user(
            "request_writer", "sales_team.group_sale_salesman_all_leads,order_cancel_reconciled.group_cancel_reconciled"
        )
        with self.assertRaises(AccessError):
            request.with_user(member).write({"order_id": other.id})
        with self.assertRaises(AccessError):
            request.with_user(member).write({"state": "approved"})
        request.with_user(member).decision_note = "Checking with the warehouse"
        self.assertEqual((request.order_id, request.state), (order, "requested"))

    def test_one_open_request_even_when_two_transactions_ask_at_once(self):
        order = self.paid_order()
        self.request_for(order)
        # What a second transaction that began before the first committed would insert.
        with self.assertRaises(UniqueViolation), mute_logger("odoo.sql_db"), self.env.cr.savepoint():
            self.env[REQUEST].sudo().create({"order_id": order.id, "reason_id": self.reason.id})
            self.env.flush_all()
        self.assertEqual(len(order.cancel_request_ids), 1)

    def test_a_plain_cancel_closes_the_request(self):
        order = self.create_order()
        self.invoice(order)  # posted, nothing paid: Odoo's own Cancel may cancel it from code
        order.company_id.cancel_request_portal = True
        request = self.request_for(order)[1]
        order._action_cancel()
        self.assertEqual(request.state, "done")
        self.assertFalse(order.activity_ids.filtered(lambda activity: "approve or refuse" in (activity.summary or "")))

    def test_salespeople_see_the_requests_of_their_own_orders(self):
        own = self.new_user("request_own_docs", "sales_team.group_sale_salesman")
        mine, theirs = self.paid_order(), self.paid_order()
        mine.user_id = own
        self.request_for(mine)
        self.request_for(theirs)
        visible = self.env[REQUEST].with_user(own).search([("order_id", "in", (mine | theirs).ids)])
        self.assertEqual(visible.order_id, mine)

    def test_only_members_decide(self):
        request = self.request_for(self.paid_order())[1]
        salesman = self.new_user("request_salesman", "sales_team.group_sale_salesman_all_leads")
        self.assertEqual(request.with_user(salesman).state, "requested", "salespeople see requests")
        with self.assertRaises(AccessError):
            request.with_user(salesman).action_approve()
        with self.assertRaises(AccessError):
            request.with_user(salesman).action_refuse()

    def test_customer_messages_in_the_customers_language(self):
        for code in ("zh_CN", "fr_FR"):
            self.env["res.lang"]._activate_lang(code)
        self.env["ir.module.module"]._load_module_terms(["order_cancel_reconciled"], ["zh_CN", "fr_FR"], overwrite=True)
        expected = {"zh_CN": "我们已收到您取消订单", "fr_FR": "Nous avons bien reçu votre demande"}
        for lang, text in expected.items():
            with self.subTest(lang=lang):
                self.customer.lang = lang
                order = self.paid_order()
                self.request_for(order)
                self.assertIn(text, order.message_ids[0].body)
