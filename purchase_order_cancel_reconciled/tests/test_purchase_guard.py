from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import PurchaseCancelCommon

MEMBER_GROUP = "purchase_order_cancel_reconciled.group_cancel_reconciled_purchase"


@tagged("post_install", "-at_install")
class TestPurchaseGuardAndRoles(PurchaseCancelCommon):
    """Who may cancel a paid purchase order, on every path, checked as the real user."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.member = cls.new_user("po_member", MEMBER_GROUP)
        cls.buyer = cls.new_user("po_buyer", "purchase.group_purchase_user")
        cls.sales_member = cls.new_user(
            "po_sales_member", "order_cancel_reconciled.group_cancel_reconciled,purchase.group_purchase_user"
        )
        cls.accountant = cls.new_user("po_accountant", "account.group_account_manager,purchase.group_purchase_user")
        cls.order, cls.bill_move, cls.payment = cls.paid_received_po()

    def test_member_without_accounting_or_stock_rights_cancels(self):
        self.assertFalse(self.member.has_group("account.group_account_invoice"))
        self.assertFalse(self.member.has_group("stock.group_stock_user"))
        order = self.order.with_user(self.member)
        wizard = (
            self.env["purchase.order.cancel.reconciled"]
            .with_user(self.member)
            .create(
                {"order_ids": [Command.set(order.ids)], "payment_action": "refund", "stock_action": "return_validate"}
            )
        )
        self.assertIn("refunded by the vendor", wizard.preview_html)
        wizard.action_confirm()
        self.assertEqual(self.order.state, "cancel")
        log = self.order.sudo().cancel_reconciled_log_ids
        self.assertEqual(log.user_id, self.member)
        self.assertEqual(log.with_user(self.member).name, f"Cancellation of {self.order.name}")
        self.assertAlmostEqual(self.payable_balance(), 0.0)

    def test_plain_buyer_is_refused_on_every_path(self):
        order = self.order.with_user(self.buyer)
        with self.assertRaisesRegex(AccessError, "Cancel reconciled purchase orders"):
            order.cancel_reconciled()
        with self.assertRaises(AccessError):
            self.env["purchase.order.cancel.reconciled"].with_user(self.buyer).create(
                {"order_ids": [Command.set(order.ids)]}
            )
        with self.assertRaisesRegex(UserError, "Who to ask: .*po_member|Who to ask"):
            order.with_context(order_cancel_reconciled_from_button=True).button_cancel()
        with self.assertRaisesRegex(UserError, "cancel_reconciled"):
            order.write({"state": "cancel"})
        self.assertEqual(self.order.state, "purchase")
        self.assertIn(self.bill_move.payment_state, ("paid", "in_payment"))

    def test_back_to_draft_then_cancel_and_context_keys_open_no_door(self):
        plain = {"order_cancel_reconciled_plain_cancel": True, "order_cancel_reconciled_from_button": True}
        for user in (self.buyer, self.member):
            order = self.order.with_user(user).with_context(**plain)
            with self.assertRaisesRegex(UserError, "cancel_reconciled"):
                order.button_draft()
            with self.assertRaisesRegex(UserError, "cancel_reconciled"):
                order.write({"state": "draft"})
            with self.assertRaisesRegex(UserError, "cancel_reconciled"):
                order.write({"state": "cancel"})
        with self.assertRaisesRegex(UserError, "cancel_reconciled"):
            self.order.sudo().with_context(**plain).button_draft()
        self.assertEqual(self.order.state, "purchase")
        self.assertIn(self.bill_move.payment_state, ("paid", "in_payment"))
        # Lock and unlock stay what they are in Odoo.
        self.order.button_done()
        self.order.button_unlock()
        self.assertEqual(self.order.state, "purchase")

    def test_code_keeps_odoo_refusal_and_the_button_leads_members_to_the_dialog(self):
        with self.assertRaisesRegex(UserError, "Unable to cancel purchase order"):
            self.order.with_user(self.member).button_cancel()
        action = (
            self.order.with_user(self.member).with_context(order_cancel_reconciled_from_button=True).button_cancel()
        )
        self.assertEqual(action["res_model"], "purchase.order.cancel.reconciled")
        self.assertEqual(action["context"]["default_order_ids"], self.order.ids)
        self.assertEqual(self.order.state, "purchase")

    def test_unpaid_order_cancels_as_in_odoo(self):
        """An order without bills is not ours: Odoo's Cancel, from the button too."""
        order = self.create_po()
        order.with_context(order_cancel_reconciled_from_button=True).button_cancel()
        self.assertEqual(order.state, "cancel")

    def test_sales_member_is_not_a_purchase_member(self):
        with self.assertRaisesRegex(AccessError, "Cancel reconciled purchase orders"):
            self.order.with_user(self.sales_member).cancel_reconciled()

    def test_other_company_and_missing_orders_get_one_message(self):
        other_company = self.env["res.company"].create({"name": "Other PO Company"})
        member_elsewhere = self.new_user("po_member_elsewhere", MEMBER_GROUP, company=other_company)
        missing = self.env["purchase.order"].browse(999999999)
        for orders in (self.order, missing):
            with self.assertRaisesRegex(AccessError, "do not exist or you may not access them") as caught:
                orders.with_user(member_elsewhere).cancel_reconciled()
            self.assertNotIn(self.order.name, str(caught.exception))
        self.assertEqual(self.order.state, "purchase")

    def test_logs_are_reviewed_with_the_sales_ones(self):
        sale_order, _invoice, _payment = self.paid_delivered_order()
        sale_log = sale_order.cancel_reconciled()
        purchase_log = self.order.with_user(self.member).cancel_reconciled()
        logs = self.env["sale.order.cancel.reconciled.log"].with_user(self.accountant)
        self.assertEqual(logs.search([("order_kind", "=", "purchase")]), purchase_log)
        self.assertEqual(logs.search([("order_kind", "=", "sale")]), sale_log)
        self.assertEqual(logs.search([("name", "ilike", self.order.name)]), purchase_log)
        self.assertNotIn(purchase_log, logs.search([("name", "not ilike", self.order.name)]))
        self.assertEqual(purchase_log.partner_id, self.vendor)
        html, _type = (
            self.env["ir.actions.report"]
            .with_user(self.accountant)
            ._render_qweb_html("order_cancel_reconciled.action_report_cancel_reconciled_log", purchase_log.ids)
        )
        self.assertIn(self.order.name, html.decode())
        self.assertIn("Vendor:", html.decode())
        purchase_log.with_user(self.accountant).action_mark_reviewed()
        self.assertEqual(purchase_log.state, "reviewed")
        # A member sees the logs they wrote, not the others'.
        member_logs = self.env["sale.order.cancel.reconciled.log"].with_user(self.member).search([])
        self.assertEqual(member_logs, purchase_log)
        with self.assertRaises(AccessError):
            sale_log.with_user(self.member).read(["name"])

    def test_menus_are_reachable(self):
        menu = self.env.ref("purchase_order_cancel_reconciled.sale_order_cancel_reconciled_log_menu_purchase")
        visible = self.env["ir.ui.menu"].with_user(self.member)._visible_menu_ids()
        self.assertIn(menu.id, visible)
        self.assertNotIn(menu.id, self.env["ir.ui.menu"].with_user(self.buyer)._visible_menu_ids())
        review = self.env.ref("order_cancel_reconciled.sale_order_cancel_reconciled_log_menu_accounting")
        self.assertIn(review.id, self.env["ir.ui.menu"].with_user(self.accountant)._visible_menu_ids())

    def test_a_log_reads_in_the_words_of_its_kind(self):
        """The form says Customer and Delivered Goods for a sales order's log, Vendor and Received
        Goods for a purchase order's; a salesperson's list has no purchase columns."""
        logs = self.env["sale.order.cancel.reconciled.log"]
        form = etree.fromstring(logs.get_views([(False, "form")])["views"]["form"]["arch"])
        labels = {
            (node.get("name"), node.get("string")): node.get("invisible")
            for node in form.iterfind(".//sheet//field")
            if node.get("name") in ("partner_id", "stock_action")
        }
        self.assertEqual(
            labels,
            {
                ("partner_id", "Customer"): "order_kind != 'sale'",
                ("partner_id", "Vendor"): "order_kind != 'purchase'",
                ("stock_action", "Delivered Goods"): "order_kind != 'sale'",
                ("stock_action", "Received Goods"): "order_kind != 'purchase'",
            },
        )
        salesperson = self.new_user(
            "po_log_salesperson",
            "order_cancel_reconciled.group_cancel_reconciled,sales_team.group_sale_salesman_all_leads",
        )
        for user, shown in ((salesperson, False), (self.member, True)):
            views = logs.with_user(user).get_views([(False, "list")])
            columns = {node.get("name") for node in etree.fromstring(views["views"]["list"]["arch"]).iter("field")}
            self.assertEqual("purchase_order_id" in columns, shown, user.login)
            self.assertEqual("order_kind" in columns, shown, user.login)

    def test_log_records_exactly_one_order(self):
        with self.assertRaisesRegex(ValidationError, "records one order"):
            self.env["sale.order.cancel.reconciled.log"].sudo().create(
                {
                    "order_kind": "purchase",
                    "company_id": self.env.company.id,
                    "user_id": self.env.uid,
                    "invoice_action": "reverse",
                    "payment_action": "keep",
                    "stock_action": "none",
                }
            )

    def test_the_run_locks_the_purchase_orders_themselves(self):
        """Two runs on one purchase order: the second is refused at once, because the first
        holds the order's own row (not a sale order's with the same id)."""
        engine = self.env["order.cancel.reconciled.engine"]
        with self.assertLogs("odoo.sql_db", "DEBUG") as captured:
            engine._lock_orders(self.order)
        locks = [line for line in captured.output if "FOR UPDATE SKIP LOCKED" in line]
        self.assertTrue(any('"purchase_order"' in line and str(self.order.id) in line for line in locks), locks)
        self.assertFalse(any('"sale_order"' in line for line in locks), locks)

    def test_logs_are_searched_by_name_without_the_other_app(self):
        """A sales member (no Purchase app) and a purchase member (no Sales app) search the
        logs by order name."""
        sale_order, _invoice, _payment = self.paid_delivered_order()
        sale_member = self.new_user(
            "po_sale_only",
            "order_cancel_reconciled.group_cancel_reconciled,sales_team.group_sale_salesman_all_leads",
        )
        sale_log = sale_order.with_user(sale_member).cancel_reconciled()
        purchase_log = self.order.with_user(self.member).cancel_reconciled()
        logs = self.env["sale.order.cancel.reconciled.log"]
        self.assertFalse(sale_member.has_group("purchase.group_purchase_user"))
        self.assertEqual(logs.with_user(sale_member).search([("name", "ilike", sale_order.name)]), sale_log)
        self.assertEqual(logs.with_user(sale_member).name_search(sale_order.name)[0][0], sale_log.id)
        self.assertFalse(self.member.has_group("sales_team.group_sale_salesman"))
        self.assertEqual(logs.with_user(self.member).search([("name", "ilike", self.order.name)]), purchase_log)
        self.assertEqual(logs.with_user(self.member).search([("name", "not ilike", self.order.name)]), logs)

    def test_the_lists_cancel_leads_members_with_the_whole_selection(self):
        for view in ("purchase.purchase_order_kpis_tree", "purchase.purchase_order_view_tree"):
            arch = self.env["purchase.order"].get_view(self.env.ref(view).id, "list")["arch"]
            self.assertIn("order_cancel_reconciled_from_button", arch, view)
        unbilled = self.create_po()
        selection = (self.order | unbilled).with_user(self.member)
        action = selection.with_context(order_cancel_reconciled_from_button=True).button_cancel()
        self.assertEqual(action["context"]["default_order_ids"], selection.ids)
        wizard = (
            self.env["purchase.order.cancel.reconciled"]
            .with_user(self.member)
            .create({"order_ids": [Command.set(selection.ids)]})
        )
        self.assertEqual(wizard.blocked_order_ids, unbilled, "the unbilled order shows as blocked, not left out")
        self.assertTrue(wizard.can_remove_blocked)
