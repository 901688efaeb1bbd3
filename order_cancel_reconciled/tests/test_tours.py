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
