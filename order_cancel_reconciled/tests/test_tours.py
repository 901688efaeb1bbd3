from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from .common import CancelReconciledCommon


@tagged("post_install", "-at_install")
class TestTours(CancelReconciledCommon, HttpCase):
    """The sales path driven in a real browser (headless Chromium)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        common = {"company_id": company.id, "company_ids": [Command.set(company.ids)]}
        cls.member = new_test_user(
            cls.env,
            "tour_member",
            groups="sales_team.group_sale_salesman_all_leads,order_cancel_reconciled.group_cancel_reconciled",
            **common,
        )
        cls.salesman = new_test_user(
            cls.env, "tour_salesman", groups="sales_team.group_sale_salesman_all_leads", **common
        )
        paid_customer = cls.env["res.partner"].create({"name": "Tour Paid Customer"})
        unpaid_customer = cls.env["res.partner"].create({"name": "Tour Unpaid Customer"})
        cls.order, cls.paid_invoice, _payment = cls.paid_delivered_order(partner=paid_customer)
        cls.invoice(cls.create_order(partner=unpaid_customer))

    def test_member_cancels_a_paid_order(self):
        self.start_tour("/odoo", "order_cancel_reconciled_member", login="tour_member")
        self.assertEqual(self.order.state, "cancel")
        self.assertEqual(self.paid_invoice.payment_state, "reversed")
        log = self.order.cancel_reconciled_log_ids
        self.assertRecordValues(log, [{"payment_action": "refund", "user_id": self.member.id}])

    def test_non_member_is_told_who_can(self):
        self.start_tour("/odoo", "order_cancel_reconciled_non_member", login="tour_salesman")
        self.assertEqual(self.order.state, "sale")

    def test_cancel_on_a_paid_order_opens_the_preview_without_odoos_question(self):
        self.start_tour("/odoo", "order_cancel_reconciled_cancel_button", login="tour_member")
        self.assertEqual(self.order.state, "sale")

    def test_how_to_in_chinese(self):
        """Our users' how-to, as a member working in Simplified Chinese, by the menus only."""
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["order_cancel_reconciled"], ["zh_CN"], overwrite=True)
        self.member.lang = "zh_CN"
        self.start_tour("/odoo", "order_cancel_reconciled_how_to_zh_cn", login="tour_member")
        self.assertEqual(self.order.state, "cancel")
        self.assertEqual(self.paid_invoice.payment_state, "reversed")
        self.assertAlmostEqual(self.on_hand(self.product_a), 100.0, msg="the goods are back")

    def test_administrator_grants_the_right_from_the_user_form(self):
        self.start_tour("/odoo", "order_cancel_reconciled_grant_right", login="admin")

    def test_member_starts_a_background_batch(self):
        """Above the threshold the dialog hands the orders to a batch, whose form opens with no
        dialog left over it (the confirmation stayed open, blocking the page)."""
        self.env.company.cancel_reconciled_background_from = 1
        customer = self.env["res.partner"].create({"name": "Tour Batch Customer"})
        orders = self.env["sale.order"]
        for _index in range(2):
            orders |= self.paid_delivered_order(partner=customer)[0]
        self.start_tour("/odoo", "order_cancel_reconciled_batch_confirm", login="tour_member")
        batch = self.env["sale.order.cancel.reconciled.batch"].search([("user_id", "=", self.member.id)])
        self.assertEqual(batch.line_ids.order_ids, orders)
