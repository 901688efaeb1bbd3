"""The customer's side of cancellation requests: the portal route as a browser posts it, and
the request made and followed in a real browser (English and Simplified Chinese)."""

import re

from odoo import http
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .test_cancel_requests import REQUEST, CancelRequestCommon


@tagged("post_install", "-at_install")
class TestCancelRequestRoute(CancelRequestCommon, HttpCase):
    """The portal route, as a browser posts it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal_user = cls.new_user("request_portal", "base.group_portal")
        cls.portal_user.partner_id = cls.customer
        cls.stranger = cls.new_user("request_stranger", "base.group_portal")

    def post(self, order, token=None, csrf=True, **data):
        url = f"/my/orders/{order.id}/request_cancel"
        if token is not None:
            url += f"?access_token={token}"
        payload = {"reason_id": self.reason.id, "comment": "Ordered twice", **data}
        if csrf:
            payload["csrf_token"] = self.csrf_token()
        return self.url_open(url, data=payload, allow_redirects=False)

    def csrf_token(self):
        return http.Request.csrf_token(self)

    def requests(self, order):
        return self.env[REQUEST].search([("order_id", "=", order.id)])

    def assert_refused(self, response, order, where="/my"):
        self.assertIn(response.status_code, (302, 303, 400, 403, 404))
        if response.status_code in (302, 303):
            self.assertIn(where, response.headers["Location"])
        self.assertFalse(self.requests(order), "nothing created")

    def test_owner_requests_and_sees_the_request(self):
        order = self.paid_order()
        self.authenticate("request_portal", "request_portal")
        response = self.post(order)
        self.assertEqual(response.status_code, 303)
        self.assertIn("cancel_request=sent", response.headers["Location"])
        request = self.requests(order)
        self.assertEqual(
            (request.state, request.reason_id, request.comment), ("requested", self.reason, "Ordered twice")
        )
        page = self.url_open(f"/my/orders/{order.id}").text
        self.assertIn("o_cancel_request_state", page)
        self.assertNotIn("o_cancel_request_button", page, "one open request per order")
        # A second request is refused and says why.
        response = self.post(order)
        self.assertIn("cancel_request=already_requested", response.headers["Location"])
        self.assertEqual(len(self.requests(order)), 1)

    def test_a_refusal_reads_as_one_sentence(self):
        """The member's note ends the sentence, with its own full stop or with one added."""
        self.authenticate("request_portal", "request_portal")
        for note, shown in (
            ("Already shipped to a partner.", "Already shipped to a partner."),
            ("Shipped", "Shipped."),
        ):
            order = self.paid_order()
            self.post(order)
            request = self.requests(order)
            request.decision_note = note
            request.action_refuse()
            page = self.url_open(f"/my/orders/{order.id}").text
            self.assertRegex(page, rf"request was refused: {re.escape(shown)}\s*<")

    def test_customer_with_the_access_token(self):
        order = self.paid_order()
        self.authenticate(None, None)
        self.assert_refused(self.post(order, token="wrong"), order)
        response = self.post(order, token=order._portal_ensure_token())
        self.assertIn("cancel_request=sent", response.headers["Location"])
        self.assertEqual(self.requests(order).state, "requested")

    def test_refused_requests_create_nothing(self):
        order = self.paid_order()
        self.authenticate("request_stranger", "request_stranger")
        self.assert_refused(self.post(order), order)
        self.authenticate("request_portal", "request_portal")
        with mute_logger("odoo.http"):
            self.assert_refused(self.post(order, csrf=False), order)
        quotation = self.create_order(confirm=False)
        cancelled = self.create_order()
        cancelled._action_cancel()
        for other in (quotation, cancelled):
            # A quotation the customer was not sent is not theirs to see: the portal's redirect.
            response = self.post(other)
            self.assertRegex(response.headers["Location"], r"/my$|cancel_request=not_confirmed")
            self.assertFalse(self.requests(other))
        for data, code in (
            ({"comment": "x" * 2001}, "comment_too_long"),
            ({"reason_id": self.internal_reason.id}, "reason"),
            ({"reason_id": "drop table"}, "reason"),
        ):
            response = self.post(order, **data)
            self.assertIn(f"cancel_request={code}", response.headers["Location"])
            self.assertFalse(self.requests(order))
        self.assertIn(
            "This order cannot be cancelled from here", self.url_open(f"/my/orders/{order.id}?cancel_request=x").text
        )

    def test_any_reason_parameter_gets_the_customer_a_clear_answer(self):
        order = self.paid_order()
        self.authenticate("request_portal", "request_portal")
        # "²" is a digit for str.isdigit(), not for int(); the others are what a form never sends.
        for value in ("²", "-1", "0", "99999999999", "1e3", " ", "١"):
            with self.subTest(reason_id=value):
                response = self.post(order, reason_id=value)
                self.assertEqual(response.status_code, 303, "a redirect to the order, not an error page")
                self.assertIn("cancel_request=reason", response.headers["Location"])
                self.assertFalse(self.requests(order))

    def test_a_member_of_staff_cannot_ask_in_the_customers_name(self):
        order = self.paid_order()
        salesman = self.new_user("request_salesman", "sales_team.group_sale_salesman_all_leads")
        self.authenticate(salesman.login, salesman.login)
        messages = len(order.message_ids)
        response = self.post(order, token=order._portal_ensure_token())
        self.assertIn("cancel_request=internal_user", response.headers["Location"])
        self.assertFalse(self.requests(order))
        self.assertEqual(len(order.message_ids), messages, "nothing posted as the customer")
        page = self.url_open(response.headers["Location"]).text
        self.assertIn("a cancellation request is the customer", page)

    def test_the_customers_comment_is_text_and_the_customer_follows_only_the_order(self):
        order = self.paid_order()
        self.authenticate("request_portal", "request_portal")
        self.post(order, comment='<a href="https://evil.example.com">Click</a> <b>now</b>')
        request = self.requests(order)
        self.assertNotIn(self.customer, request.message_partner_ids, "the request record is the staff's")
        note = order.activity_ids.filtered(lambda activity: activity.res_id == order.id)[:1].note
        self.assertNotIn("<a href", str(note))
        self.assertIn("&lt;a href", str(note))

    def test_the_request_dialog_promises_what_the_company_options_do(self):
        order = self.paid_order()
        self.authenticate("request_portal", "request_portal")
        for action, promise in (
            ("keep", "stays on your account as a credit"),
            ("refund", "the refund of what you paid"),
            ("cancel", "what becomes of your payment"),
        ):
            with self.subTest(payment_action=action):
                self.env.company.cancel_reconciled_payment_action = action
                page = self.url_open(f"/my/orders/{order.id}").text
                self.assertIn(promise, page)
                if action != "refund":
                    self.assertNotIn("refund of what you paid", page)


@tagged("post_install", "-at_install")
class TestCancelRequestTour(CancelRequestCommon, HttpCase):
    """The customer asks on the portal, a member approves by the menus, the portal says so."""

    def test_portal_request_then_member_approval(self):
        customer = self.env["res.partner"].create({"name": "Tour Portal Customer", "email": "tour@example.com"})
        portal_user = self.new_user("tour_portal", "base.group_portal")
        portal_user.partner_id = customer
        self.new_user(
            "tour_request_member",
            "sales_team.group_sale_salesman_all_leads,order_cancel_reconciled.group_cancel_reconciled",
        )
        self.env.ref("order_cancel_reconciled.reason_order_error").show_on_portal = True
        order = self.create_order(partner=customer)
        self.pay(self.invoice(order))
        self.start_tour(f"/my/orders/{order.id}", "order_cancel_reconciled_portal_request", login="tour_portal")
        request = order.cancel_request_ids
        self.assertRecordValues(
            request, [{"state": "requested", "channel": "portal", "comment": "Ordered twice by mistake"}]
        )
        self.start_tour("/odoo", "order_cancel_reconciled_member_approves_request", login="tour_request_member")
        self.assertEqual((request.state, order.state), ("done", "cancel"))
        self.start_tour(f"/my/orders/{order.id}", "order_cancel_reconciled_portal_sees_cancelled", login="tour_portal")

    def test_portal_request_in_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["order_cancel_reconciled"], ["zh_CN"], overwrite=True)
        customer = self.env["res.partner"].create({"name": "Tour Chinese Customer", "lang": "zh_CN"})
        portal_user = self.new_user("tour_portal_zh", "base.group_portal")
        portal_user.write({"partner_id": customer.id, "lang": "zh_CN"})
        self.env.ref("order_cancel_reconciled.reason_order_error").show_on_portal = True
        order = self.create_order(partner=customer)
        self.pay(self.invoice(order))
        self.start_tour(
            f"/my/orders/{order.id}", "order_cancel_reconciled_portal_request_zh_cn", login="tour_portal_zh"
        )
        self.assertRecordValues(
            order.cancel_request_ids,
            [{"state": "requested", "reason_id": self.ref("order_cancel_reconciled.reason_order_error")}],
        )
        self.assertTrue(order.message_ids.filtered(lambda message: "我们已收到您取消订单" in message.body))
