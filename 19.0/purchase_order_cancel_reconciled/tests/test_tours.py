from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from .common import PurchaseCancelCommon


@tagged("post_install", "-at_install")
class TestPurchaseTours(PurchaseCancelCommon, HttpCase):
    """The purchase path driven in a real browser (headless Chromium), by buyers who have
    neither accounting nor stock manager rights."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        common = {"company_id": company.id, "company_ids": [Command.set(company.ids)]}
        cls.member = new_test_user(
            cls.env,
            "tour_buyer_member",
            name="Tour Buyer Member",
            groups="purchase_order_cancel_reconciled.group_cancel_reconciled_purchase",
            **common,
        )
        cls.buyer = new_test_user(cls.env, "tour_buyer", groups="purchase.group_purchase_user", **common)
        vendor = cls.env["res.partner"].create({"name": "Tour Paid Vendor"})
        cls.order, cls.bill, cls.payment = cls.paid_received_po(vendor=vendor)

    def test_member_cancels_a_paid_purchase_order(self):
        self.assertFalse(self.member.has_group("account.group_account_invoice"))
        self.assertFalse(self.member.has_group("stock.group_stock_manager"))
        on_hand = self.on_hand(self.product_a)
        self.start_tour("/odoo", "purchase_order_cancel_reconciled_member", login="tour_buyer_member")
        self.assertEqual(self.order.state, "cancel")
        self.assertEqual(self.bill.payment_state, "reversed")
        self.assertAlmostEqual(self.on_hand(self.product_a), on_hand - 2.0, msg="the goods went back to the vendor")
        log = self.env["sale.order.cancel.reconciled.log"].search([("purchase_order_id", "=", self.order.id)])
        self.assertRecordValues(
            log,
            [
                {
                    "order_kind": "purchase",
                    "payment_action": "refund",
                    "stock_action": "return_validate",
                    "user_id": self.member.id,
                }
            ],
        )

    def test_non_member_is_told_who_can(self):
        self.assertFalse(self.buyer.has_group("purchase_order_cancel_reconciled.group_cancel_reconciled_purchase"))
        self.start_tour("/odoo", "purchase_order_cancel_reconciled_non_member", login="tour_buyer")
        self.assertEqual(self.order.state, "purchase")
        self.assertFalse(
            self.env["sale.order.cancel.reconciled.log"].search([("purchase_order_id", "=", self.order.id)])
        )
