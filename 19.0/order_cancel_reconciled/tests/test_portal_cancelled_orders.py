"""What the customer reads on the portal once a paid order is cancelled: the order stays in their
orders, headed as a cancelled sales order with what became of the money; its credit note is never
"paid", on the portal or in the order's messages."""

from lxml import html

from odoo.tests import HttpCase, tagged

from .test_cancel_requests import CancelRequestCommon

ENGINE = "order.cancel.reconciled.engine"


@tagged("post_install", "-at_install")
class TestPortalCancelledOrders(CancelRequestCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal_user = cls.new_user("cancelled_portal", "base.group_portal")
        cls.portal_user.partner_id = cls.customer
        # Odoo writes the provider's messages as the user who runs the cancellation.
        cls.env.user.partner_id.email = "cancelling.user@example.com"

    # -- helpers ------------------------------------------------------------------------------

    def open_as_customer(self, url):
        self.authenticate(self.portal_user.login, self.portal_user.login)
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200, url)
        return response.text

    @staticmethod
    def row_text(page, name):
        """The text of the portal table row that links to the document `name`."""
        rows = html.fromstring(page).xpath("//table//tr[.//a[normalize-space()=$name]]", name=name)
        return " ".join(" ".join(rows[0].itertext()).split()) if rows else None

    @staticmethod
    def texts(page, xpath):
        return [" ".join(" ".join(node.itertext()).split()) for node in html.fromstring(page).xpath(xpath)]

    def credit_note_of(self, log):
        return log.line_ids.filtered(lambda line: line.kind == "credit_note").result_move_id

    def refund_online(self, order):
        return self.env[ENGINE]._run(
            order, self.env[ENGINE]._prepare_options(self.env.company, payment_action="refund")
        )

    def send_refunds(self):
        while self.env[ENGINE]._cron_send_provider_refunds():
            pass

    # -- a) the credit note is not paid -------------------------------------------------------

    def test_credit_note_is_not_paid_on_the_portal(self):
        order, invoice, _payment = self.paid_delivered_order()
        log, _action = self.cancel(order, payment_action="keep", invoice_action="reverse")
        credit_note = self.credit_note_of(log)
        self.assertEqual(credit_note.payment_state, "paid", "Odoo's own state: matched with its invoice")

        page = self.open_as_customer("/my/invoices")
        credit_row = self.row_text(page, credit_note.name)
        self.assertNotIn("Paid", credit_row)
        self.assertIn(f"Applied to {invoice.name}", credit_row)
        invoice_row = self.row_text(page, invoice.name)
        self.assertNotIn("Paid", invoice_row)
        self.assertIn(f"Reversed by {credit_note.name}", invoice_row)

        page = self.open_as_customer(credit_note.get_portal_url())
        sidebar = " ".join(self.texts(page, "//div[hasclass('o_portal_invoice_sidebar')]//*[hasclass('badge')]"))
        self.assertIn(f"Applied to {invoice.name}", sidebar)
        self.assertNotIn("Paid", sidebar)

        # The order's page lists the credit note among its invoices, applied, not paid.
        page = self.open_as_customer(order.get_portal_url())
        last_invoices = " ".join(self.texts(page, "//div[@id='sale_invoices']"))
        self.assertIn(f"{credit_note.name} Applied to {invoice.name}", last_invoices)
        self.assertNotIn("Paid", last_invoices)

    def test_a_credit_note_refunded_by_a_payment_says_refunded(self):
        """Any customer credit note settled in full says how: one paid back is "Refunded"."""
        _order, invoice, _payment = self.paid_delivered_order()
        credit_note = invoice._reverse_moves([{"invoice_date": invoice.invoice_date}])
        credit_note.action_post()
        self.pay(credit_note)
        self.assertIn(credit_note.payment_state, ("paid", "in_payment"))
        self.assertEqual(credit_note._get_cancel_reconciled_portal_status().state, "refunded")
        page = self.open_as_customer("/my/invoices")
        self.assertIn("Refunded", self.row_text(page, credit_note.name))
        self.assertIn("Paid", self.row_text(page, invoice.name), "a paid invoice is paid")

    def test_no_invoice_paid_message_for_the_credit_note(self):
        order, invoice, _payment = self.paid_delivered_order()
        log = order.cancel_reconciled(payment_action="keep", invoice_action="reverse")
        credit_note = self.credit_note_of(log)
        bodies = order.message_ids.mapped("body")
        self.assertFalse([body for body in bodies if credit_note.name in body and "paid" in body])
        self.assertTrue([body for body in bodies if f"Invoice {invoice.name} paid" in body], "the payment was told")

    # -- b) the cancelled order stays in the customer's orders --------------------------------

    def test_cancelled_order_listed_in_your_orders(self):
        order, _invoice, _payment = self.paid_delivered_order()
        kept = self.paid_order()
        # Cancelled by Odoo's own Cancel, nothing invoiced: not this addon's to tell about.
        plain = self.create_order()
        plain._action_cancel()
        self.cancel(order, payment_action="keep")
        page = self.open_as_customer("/my/orders")
        self.assertIn("Cancelled", self.row_text(page, order.name))
        self.assertNotIn("Cancelled", self.row_text(page, kept.name))
        self.assertIsNone(self.row_text(page, plain.name))
        self.assertIsNone(self.row_text(self.open_as_customer("/my/quotes"), order.name))

    def test_other_customers_cancelled_orders_are_not_listed(self):
        order, _invoice, _payment = self.paid_delivered_order(partner=self.other_customer)
        self.cancel(order, payment_action="keep")
        self.assertIsNone(self.row_text(self.open_as_customer("/my/orders"), order.name))

    def assert_cancelled_order_page(self, page, order):
        headings = self.texts(page, "//div[@id='introduction']//h2")
        self.assertEqual(headings, [f"Sales Order - {order.name}"])
        self.assertNotIn("This quotation has been cancelled", page)
        self.assertNotIn("Contact us to get a new quotation", page)
        breadcrumbs = " ".join(self.texts(page, "//ol[hasclass('o_portal_submenu')]"))
        self.assertIn("Sales Orders", breadcrumbs)
        self.assertNotIn("Quotation", breadcrumbs)
        self.assertTrue(self.texts(page, "//*[hasclass('o_cancel_reconciled_order_cancelled')]"))

    def test_cancelled_order_page_with_credit_kept(self):
        order, _invoice, _payment = self.paid_delivered_order()
        self.cancel(order, payment_action="keep")
        page = self.open_as_customer(order.get_portal_url())
        self.assert_cancelled_order_page(page, order)
        credit = self.texts(page, "//li[hasclass('o_cancel_reconciled_money_credit')]")
        amount = order.currency_id.format(order.amount_total)
        self.assertEqual(
            credit, [" ".join(f"A credit of {amount} was added to your account for your next orders.".split())]
        )
        self.assertNotIn("paid", " ".join(self.texts(page, "//div[hasclass('o_cancel_reconciled_summary')]")))
        self.assertFalse(self.texts(page, "//*[hasclass('o_cancel_request_done')]"), "not asked by the customer")

    def test_cancelled_order_page_with_online_refund_pending_then_confirmed(self):
        self.env.company.cancel_refund_days = 5
        order = self.create_order()
        self.pay_online(self.invoice(order))
        line = self.refund_online(order).line_ids.filtered(lambda line: line.kind == "payment_refund")
        amount = order.currency_id.format(order.amount_total)

        page = self.open_as_customer(order.get_portal_url())
        self.assert_cancelled_order_page(page, order)
        self.assertEqual(
            self.texts(page, "//li[hasclass('o_cancel_reconciled_money_refund_processing')]"),
            [" ".join(f"A refund of {amount} through Demo is being processed.".split())],
        )

        self.send_refunds()
        self.assertEqual(line.refund_state, "pending")
        page = self.open_as_customer(order.get_portal_url())
        sent = " ".join(self.texts(page, "//li[hasclass('o_cancel_reconciled_money_refund_sent')]"))
        self.assertIn(" ".join(f"A refund of {amount} was sent on".split()), sent)
        self.assertIn("through Demo. It usually arrives within 5 days. Waiting for Demo to confirm it.", sent)

        line.refund_transaction_id.sudo()._post_process()
        self.assertEqual(line.refund_state, "done")
        page = self.open_as_customer(order.get_portal_url())
        confirmed = " ".join(self.texts(page, "//li[hasclass('o_cancel_reconciled_money_refund_confirmed')]"))
        self.assertIn("Demo confirmed the refund on", confirmed)
        self.assertNotIn("Waiting", confirmed)

    def test_cancelled_order_page_with_a_manual_refund_at_the_customers_request(self):
        order = self.paid_order(deliver=True)
        self.request_for(order)
        self.cancel(order, payment_action="refund")
        self.assertEqual(order.cancel_request_ids.state, "done")
        page = self.open_as_customer(order.get_portal_url())
        self.assert_cancelled_order_page(page, order)
        self.assertEqual(self.texts(page, "//*[hasclass('o_cancel_request_done')]"), ["Cancelled at your request."])
        refund = self.texts(page, "//li[hasclass('o_cancel_reconciled_money_refund_manual')]")
        self.assertEqual(len(refund), 1)
        self.assertTrue(
            refund[0].startswith(" ".join(f"We refunded {order.currency_id.format(order.amount_total)} on".split()))
        )


@tagged("post_install", "-at_install")
class TestPortalCancelledOrdersTour(CancelRequestCommon, HttpCase):
    """The customer asks from Your Orders, the company's rules approve and the scheduled action
    cancels, the provider refunds: the customer follows it in their orders, in their language."""

    def run_customer_tours(self, lang):
        customer = self.env["res.partner"].create(
            {"name": f"Portal Tour Customer {lang}", "email": "tour.customer@example.com", "lang": lang}
        )
        login = f"cancelled_tour_{lang.lower()}"
        portal_user = self.new_user(login, "base.group_portal")
        portal_user.write({"partner_id": customer.id, "lang": lang})
        self.env.company.write({"cancel_request_auto": True, "cancel_reconciled_payment_action": "refund"})
        order = self.create_order(partner=customer)
        self.pay_online(self.invoice(order))

        self.start_tour("/my/orders", "order_cancel_reconciled_portal_request_from_orders", login=login)
        request = order.cancel_request_ids
        self.assertEqual(request.state, "approved", "the company's rules approve it")
        self.run_cron()
        self.assertEqual((request.state, order.state), ("done", "cancel"))
        while self.env["order.cancel.reconciled.engine"]._cron_send_provider_refunds():
            pass
        line = request.log_id.line_ids.filtered(lambda line: line.kind == "payment_refund")
        self.assertEqual(line.refund_state, "pending")
        self.start_tour("/my/orders", "order_cancel_reconciled_portal_sees_refund_sent", login=login)
        line.refund_transaction_id.sudo()._post_process()
        self.assertEqual(line.refund_state, "done")
        self.start_tour("/my/orders", "order_cancel_reconciled_portal_sees_refund_confirmed", login=login)
        return order

    def heading_as(self, login, order):
        """The order page's breadcrumbs and heading, as the customer reads them."""
        self.authenticate(login, login)
        page = html.fromstring(self.url_open(order.get_portal_url()).text)
        return tuple(
            " ".join(" ".join(page.xpath(xpath)[0].itertext()).split())
            for xpath in ("//ol[hasclass('o_portal_submenu')]", "//div[@id='introduction']//h2")
        )

    def test_customer_follows_the_cancellation_in_english(self):
        order = self.run_customer_tours("en_US")
        breadcrumbs, heading = self.heading_as("cancelled_tour_en_us", order)
        self.assertIn("Sales Orders", breadcrumbs)
        self.assertEqual(heading, f"Sales Order - {order.name}")

    def test_customer_follows_the_cancellation_in_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["sale", "order_cancel_reconciled"], ["zh_CN"], overwrite=True)
        order = self.run_customer_tours("zh_CN")
        breadcrumbs, heading = self.heading_as("cancelled_tour_zh_cn", order)
        self.assertIn("销售订单", breadcrumbs, "the page is in Chinese, under the customer's orders")
        self.assertNotIn("报价单", breadcrumbs + heading, "not a “Quotation” in Chinese either")
