from collections import defaultdict

from odoo import Command, fields
from odoo.tests import tagged

from odoo.addons.order_cancel_reconciled.tests.common import CancelReconciledCommon


@tagged("post_install", "-at_install")
class PurchaseCancelCommon(CancelReconciledCommon):
    """Purchase orders confirmed, received, billed and paid the way buyers do it, in a fresh company."""

    @classmethod
    def get_default_groups(cls):
        return (
            super().get_default_groups()
            | cls.env.ref("purchase_order_cancel_reconciled.group_cancel_reconciled_purchase")
            | cls.env.ref("purchase.group_purchase_manager")
        )

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vendor = cls.env["res.partner"].create({"name": "Cancelling Vendor"})
        cls.other_vendor = cls.env["res.partner"].create({"name": "Other Vendor"})
        cls.payable = cls.company_data["default_account_payable"]
        for product in cls.product_a | cls.product_b:
            product.supplier_taxes_id = [Command.clear()]
            product.purchase_method = "purchase"

    # -- building documents ---------------------------------------------------------------------

    @classmethod
    def create_po(cls, lines=None, vendor=None, currency=None, confirm=True, price=None):
        lines = lines or [(cls.product_a, 2.0)]
        vals = {
            "partner_id": (vendor or cls.vendor).id,
            "order_line": [
                Command.create({"product_id": product.id, "product_qty": qty, "price_unit": price or 40.0})
                for product, qty in lines
            ],
        }
        if currency:
            vals["currency_id"] = currency.id
        order = cls.env["purchase.order"].create(vals)
        if confirm:
            order.button_confirm()
        return order

    @classmethod
    def receive(cls, order, quantities=None, backorder=False):
        """Validate the order's ready receipt, for all or the given quantity per product."""
        picking = order.picking_ids.filtered(lambda p: p.state not in ("done", "cancel"))[:1]
        for move in picking.move_ids:
            move.quantity = (quantities or {}).get(move.product_id, move.product_uom_qty)
        picking.move_ids.picked = True
        picking.with_context(skip_backorder=not backorder, picking_ids_not_to_backorder=[]).button_validate()
        if backorder:
            cls.env["stock.backorder.confirmation"].with_context(button_validate_picking_ids=picking.ids).create(
                {"pick_ids": [Command.set(picking.ids)]}
            ).process()
        return picking

    @classmethod
    def bill(cls, order, post=True, date=None):
        action = order.action_create_invoice()
        bill = cls.env["account.move"].browse(action["res_id"]) if action.get("res_id") else order.invoice_ids[-1:]
        bill.invoice_date = date or fields.Date.today()
        if post:
            bill.action_post()
        return bill

    @classmethod
    def paid_received_po(cls, lines=None, **kwargs):
        order = cls.create_po(lines, **kwargs)
        cls.receive(order)
        bill = cls.bill(order)
        payment = cls.pay(bill)
        return order, bill, payment

    # -- running the cancellation -------------------------------------------------------------

    def cancel_po(self, orders, **options):
        wizard = (
            self.env["purchase.order.cancel.reconciled"]
            .with_context(active_model="purchase.order", active_ids=orders.ids)
            .create(options)
        )
        self.assertFalse(wizard.is_blocked, wizard.preview_html)
        action = wizard.action_confirm()
        self.assert_vendor_books(orders.partner_id.commercial_partner_id, wizard.payment_action)
        return self.env["sale.order.cancel.reconciled.log"].search([("purchase_order_id", "in", orders.ids)]), action

    def payable_balance(self, partner=None):
        lines = self.env["account.move.line"].search(
            [
                ("partner_id", "=", (partner or self.vendor).id),
                ("account_id.account_type", "=", "liability_payable"),
                ("parent_state", "=", "posted"),
                ("company_id", "=", self.env.company.id),
            ]
        )
        return sum(lines.mapped("balance"))

    def assert_vendor_books(self, partner, payment_action):
        """The books of a vendor all of whose purchase orders were just cancelled, as an
        accountant checks them: every entry balanced; the vendor's expense, stock and tax lines
        net to zero in each document's currency; what we keep as vendor credit is exactly the
        money we paid (less what came back), and a refund or a cancelled payment leaves no
        money on either side."""
        if len(partner) != 1 or self.env["purchase.order"].search_count(
            [("partner_id", "child_of", partner.id), ("state", "=", "purchase")]
        ):
            return
        self.env.flush_all()
        company = self.env.company
        currency = company.currency_id
        self.assert_entries_balanced()
        partner_lines = [
            ("partner_id", "=", partner.id),
            ("company_id", "=", company.id),
            ("parent_state", "=", "posted"),
            ("move_id.move_type", "in", ("in_invoice", "in_refund")),
        ]
        for account, line_currency, amount in self.env["account.move.line"]._read_group(
            [*partner_lines, ("account_id.account_type", "not in", ("liability_payable", "asset_receivable"))],
            ["account_id", "currency_id"],
            ["amount_currency:sum"],
        ):
            self.assertTrue(
                line_currency.is_zero(amount),
                f"{account.display_name} keeps {amount} {line_currency.name} for {partner.name}",
            )
        net = defaultdict(lambda: [0.0, 0.0])
        payments = self.env["account.payment"].search(
            [("partner_id", "=", partner.id), ("state", "in", ("in_process", "paid"))]
        )
        for payment in payments:
            liquidity = payment._seek_for_lines()[0]
            net[liquidity.currency_id[:1] or currency][0] += sum(liquidity.mapped("amount_currency"))
            net[liquidity.currency_id[:1] or currency][1] += sum(liquidity.mapped("balance"))
        balance = self.payable_balance(partner)
        if payment_action == "keep":
            # Money paid out (negative on the bank) is owed back by the vendor (a debit).
            promised = -sum(company_amount for _amount, company_amount in net.values())
        else:
            promised = 0.0
            for net_currency, (amount, _company_amount) in net.items():
                self.assertTrue(net_currency.is_zero(amount), f"{amount} {net_currency.name} paid and not refunded")
        self.assertFalse(
            currency.compare_amounts(balance, promised),
            f"{partner.name}'s payable is {balance}, the option '{payment_action}' promises {promised}",
        )
