from dateutil.relativedelta import relativedelta

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import CancelReconciledCommon

ANALYSIS = "sale.order.cancel.reconciled.analysis"
MENU_XMLID = "order_cancel_reconciled.sale_order_cancel_reconciled_analysis_menu"


@tagged("post_install", "-at_install")
class TestAnalysis(CancelReconciledCommon):
    """Sales > Orders > Cancellation Analysis: who cancels what, why, how, and the money.

    Five confirmed orders of three customers, three of them cancelled:
    - A1 (customer A, product A) cancelled from the dialog, refunded, "Customer request";
    - A2 (customer A, product B, ordered last month) not cancelled;
    - B1 (customer B, product B) cancelled through the API, kept as credit, "Damaged";
    - B2 (customer B, products A and B: product A is its largest line) not cancelled;
    - C1 (customer C, product A, paid with an early payment discount) kept as credit, "Damaged".
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.request_reason = cls.env.ref("order_cancel_reconciled.reason_customer_request")
        cls.damaged = cls.env.ref("order_cancel_reconciled.reason_damaged")
        cls.customer_a, cls.customer_b, cls.customer_c = cls.env["res.partner"].create(
            [{"name": "Analysis A"}, {"name": "Analysis B"}, {"name": "Analysis C"}]
        )
        cls.a1 = cls.paid_delivered_order(partner=cls.customer_a)[0]
        cls.a2 = cls.create_order([(cls.product_b, 1.0)], partner=cls.customer_a)
        cls.a2.date_order = fields.Datetime.now() - relativedelta(months=1)
        cls.b1 = cls.paid_delivered_order([(cls.product_b, 1.0)], partner=cls.customer_b)[0]
        cls.b2 = cls.create_order([(cls.product_a, 1.0), (cls.product_b, 1.0)], partner=cls.customer_b)
        cls.c1 = cls.early_discount_order(cls.customer_c)
        cls.env["sale.order.cancel.reconciled"].with_context(active_model="sale.order", active_ids=cls.a1.ids).create(
            {"payment_action": "refund", "reason_id": cls.request_reason.id}
        ).action_confirm()
        cls.b1.cancel_reconciled(payment_action="keep", reason_id=cls.damaged.id)
        cls.c1.cancel_reconciled(payment_action="keep", reason_id=cls.damaged.id)
        cls.orders = cls.a1 | cls.a2 | cls.b1 | cls.b2 | cls.c1
        cls.accountant = cls.new_user(
            "analysis_accountant", "account.group_account_manager,sales_team.group_sale_salesman"
        )
        cls.member = cls.new_user("analysis_member", "order_cancel_reconciled.group_cancel_reconciled")
        cls.b2.user_id = cls.member

    @classmethod
    def early_discount_order(cls, partner):
        """Invoiced 500 on 2/10 net 30, paid 490 in the discount period."""
        term = cls.env["account.payment.term"].create(
            {
                "name": "2/10 net 30",
                "company_id": cls.env.company.id,
                "early_discount": True,
                "discount_percentage": 2,
                "discount_days": 10,
                "early_pay_discount_computation": "included",
                "line_ids": [Command.create({"value": "percent", "value_amount": 100.0, "nb_days": 30})],
            }
        )
        order = cls.create_order([(cls.product_a, 1.0)], partner=partner)
        order.order_line.price_unit = 500.0
        cls.deliver(order)
        invoice = order._create_invoices()
        invoice.invoice_payment_term_id = term
        invoice.action_post()
        assert cls.pay(invoice).amount == 490.0
        return order

    def rows(self, groupby, aggregates, domain=None, user=None):
        """{group value: aggregates} of the test's orders, as the pivot reads them."""
        analysis = self.env[ANALYSIS].with_user(user) if user else self.env[ANALYSIS]
        result = analysis._read_group([("order_id", "in", self.orders.ids), *(domain or [])], [groupby], aggregates)
        return {group: values[0] if len(values) == 1 else tuple(values) for group, *values in result}

    # -- who may read it --------------------------------------------------------------------------

    def test_accountant_and_member_open_the_analysis(self):
        """A billing administrator with basic sales rights (in Invoicing), and a member who is no
        sales administrator (in Sales), open the menu and its pivot; salespeople see their own
        orders only."""
        accounting_menu = self.env.ref(f"{MENU_XMLID}_accounting")
        for user, menu, visible in (
            (self.accountant, accounting_menu, self.orders),
            (self.member, self.env.ref(MENU_XMLID), self.b2),
        ):
            with self.subTest(user=user.login):
                menus = self.env["ir.ui.menu"].with_user(user).load_menus(debug=False)
                self.assertTrue(menu.id in menus, "the menu is shown")
                # As the web client loads it (/web/action/load reads actions elevated).
                model, action_id = menus[menu.id]["action"].split(",")
                action = self.env[model].sudo().browse(int(action_id))._get_action_dict()
                analysis = self.env[action["res_model"]].with_user(user)
                views = analysis.get_views([(False, "pivot"), (False, "graph"), (False, "list"), (False, "search")])
                self.assertEqual(set(views["views"]), {"pivot", "graph", "list", "search"})
                groups = analysis.web_read_group(
                    [("order_id", "in", self.orders.ids)],
                    ["order_count:sum", "cancelled_count:sum", "cancellation_share:sum"],
                    ["reason_id"],
                    lazy=False,
                )["groups"]
                self.assertEqual(sum(group["order_count"] for group in groups), len(visible))
                self.assertEqual(analysis.search([("order_id", "in", self.orders.ids)]).order_id, visible)

    def test_salesperson_without_the_right_cannot_read_it(self):
        salesperson = self.new_user("analysis_salesperson", "sales_team.group_sale_salesman")
        with self.assertRaises(AccessError):
            self.env[ANALYSIS].with_user(salesperson).read_group([], ["order_count:sum"], ["reason_id"])
        menus = self.env["ir.ui.menu"].with_user(salesperson).load_menus(debug=False)
        self.assertFalse(self.env.ref(MENU_XMLID).id in menus)

    # -- what it says -----------------------------------------------------------------------------

    def test_share_of_cancellations_by_reason_sums_to_100(self):
        shares = self.rows("reason_id", ["cancellation_share:sum"])
        self.assertAlmostEqual(shares[self.request_reason], 100.0 / 3)
        self.assertAlmostEqual(shares[self.damaged], 200.0 / 3)
        self.assertAlmostEqual(shares[self.env["sale.order.cancel.reconciled.reason"]], 0.0, msg="not cancelled")
        self.assertAlmostEqual(sum(shares.values()), 100.0)
        # Of the cancellations the search keeps: customers A and B only.
        shares = self.rows(
            "reason_id", ["cancellation_share:sum"], [("partner_id", "in", (self.customer_a | self.customer_b).ids)]
        )
        self.assertAlmostEqual(shares[self.request_reason], 50.0)
        self.assertAlmostEqual(shares[self.damaged], 50.0)
        # Without grouping (the pivot's total), all of them.
        total = self.env[ANALYSIS]._read_group([("order_id", "in", self.orders.ids)], [], ["cancellation_share:sum"])
        self.assertAlmostEqual(total[0][0], 100.0)

    def test_rate_by_customer_product_and_month_is_cancelled_over_confirmed(self):
        aggregates = ["order_count:sum", "cancelled_count:sum", "cancellation_rate:avg"]
        self.assertEqual(
            self.rows("partner_id", aggregates),
            {self.customer_a: (2, 1, 50.0), self.customer_b: (2, 1, 50.0), self.customer_c: (1, 1, 100.0)},
        )
        by_product = self.rows("product_id", aggregates)
        self.assertEqual(by_product[self.product_b], (2, 1, 50.0), "A2 and B1")
        self.assertEqual(by_product[self.product_a][:2], (3, 2), "A1, C1 and B2, whose largest line is product A")
        self.assertAlmostEqual(by_product[self.product_a][2], 200.0 / 3)
        by_month = self.rows("date:month", aggregates)
        self.assertEqual(sorted(by_month.values()), [(1, 0, 0.0), (4, 3, 75.0)], "last month: A2; this month: the rest")

    def test_channel_and_month_of_cancellation(self):
        channels = self.rows("channel", ["__count"])
        self.assertEqual(channels, {"backoffice": 1, "api": 2, "not_cancelled": 2})
        months = self.rows("cancel_date:month", ["cancelled_count:sum"])
        self.assertEqual(sorted(months.values()), [0, 3], "the cancellations of this month, and the others")

    def test_amounts_refunded_and_kept(self):
        aggregates = ["amount_refunded:sum", "amount_kept:sum", "amount_refund_pending:sum"]
        by_order = self.rows("order_id", aggregates)
        self.assertEqual(by_order[self.a1], (200.0, 0.0, 0.0), "refunded by a payment to make by hand")
        self.assertEqual(by_order[self.b1], (0.0, 50.0, 0.0))
        self.assertEqual(by_order[self.c1], (0.0, 490.0, 0.0), "the money received, not the discount")
        self.assertEqual(by_order[self.a2], (0.0, 0.0, 0.0))

    def test_online_refund_counts_once_the_provider_confirms_it(self):
        provider = self.env.ref("payment.payment_provider_demo").sudo()
        customer = self.env["res.partner"].create({"name": "Analysis Online", "email": "online@example.com"})
        self.env.user.partner_id.email = "cancelling.user@example.com"
        order = self.create_order(partner=customer)
        self.pay_online(self.invoice(order), provider=provider)
        order.cancel_reconciled(payment_action="refund")
        self.orders |= order
        aggregates = ["amount_refunded:sum", "amount_refund_pending:sum", "amount_kept:sum"]
        self.assertEqual(self.rows("order_id", aggregates)[order], (0.0, 200.0, 0.0), "to send: not refunded yet")
        engine = self.env["order.cancel.reconciled.engine"]
        while engine._cron_send_provider_refunds():
            pass
        line = order.cancel_reconciled_log_ids.line_ids.filtered(lambda line: line.kind == "payment_refund")
        line.refund_transaction_id.sudo()._post_process()
        self.assertEqual(line.refund_state, "done")
        self.assertEqual(self.rows("order_id", aggregates)[order], (200.0, 0.0, 0.0))
