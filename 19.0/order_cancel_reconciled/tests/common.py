from collections import defaultdict

from odoo import Command, fields
from odoo.modules.module import Manifest
from odoo.tests import new_test_user, tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon


@tagged("post_install", "-at_install")
class CancelReconciledCommon(AccountTestInvoicingCommon):
    """Orders confirmed, delivered, invoiced and paid the way users do it, in a fresh company."""

    @classmethod
    def get_default_groups(cls):
        return (
            super().get_default_groups()
            | cls.env.ref("order_cancel_reconciled.group_cancel_reconciled")
            | cls.env.ref("sales_team.group_sale_manager")
            | cls.env.ref("stock.group_stock_manager")
            | cls.env.ref("account.group_account_manager")
        )

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The HTTP server reads module manifests for static files. Read them here, once, in this
        # thread: Python 3.11.7's parser fails ("AST constructor recursion depth mismatch") when
        # the browser's parallel requests make several threads parse at once.
        assert Manifest.all_addon_manifests(), "the manifests of the modules are read"
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", cls.env.company.id)], limit=1)
        cls.stock_location = cls.warehouse.lot_stock_id
        cls.customer = cls.env["res.partner"].create({"name": "Cancelling Customer"})
        cls.other_customer = cls.env["res.partner"].create({"name": "Other Customer"})
        cls.product_a, cls.product_b = cls.env["product.product"].create(
            [
                {
                    "name": name,
                    "type": "consu",
                    "is_storable": True,
                    "invoice_policy": "order",
                    "list_price": price,
                    "taxes_id": [Command.clear()],
                }
                for name, price in (("Storable A", 100.0), ("Storable B", 50.0))
            ]
        )
        for product in cls.product_a | cls.product_b:
            cls.env["stock.quant"]._update_available_quantity(product, cls.stock_location, 100.0)
        cls.bank_journal = cls.company_data["default_journal_bank"]
        cls.receivable = cls.company_data["default_account_receivable"]

    @classmethod
    def new_user(cls, login, groups, company=None):
        """A user of one company (the test's, by default), with only these groups."""
        company = company or cls.env.company
        return new_test_user(
            cls.env, login, groups=groups, company_id=company.id, company_ids=[Command.set(company.ids)]
        )

    # -- building documents ---------------------------------------------------------------------

    @classmethod
    def create_order(cls, lines=None, partner=None, currency=None, confirm=True):
        lines = lines or [(cls.product_a, 2.0)]
        vals = {
            "partner_id": (partner or cls.customer).id,
            "order_line": [
                Command.create({"product_id": product.id, "product_uom_qty": qty}) for product, qty in lines
            ],
        }
        if currency:
            pricelist = cls.env["product.pricelist"].create({"name": currency.name, "currency_id": currency.id})
            vals["pricelist_id"] = pricelist.id
        order = cls.env["sale.order"].create(vals)
        if confirm:
            order.action_confirm()
        return order

    @classmethod
    def deliver(cls, order, quantities=None):
        """Validate the order's ready delivery, for all or the given quantity per product."""
        picking = order.picking_ids.filtered(lambda p: p.state not in ("done", "cancel"))[:1]
        for move in picking.move_ids:
            move.quantity = (quantities or {}).get(move.product_id, move.product_uom_qty)
        picking.move_ids.picked = True
        picking.with_context(skip_backorder=True).button_validate()  # a partial one leaves a backorder
        return picking

    @classmethod
    def invoice(cls, order, post=True, final=False):
        invoice = order._create_invoices(final=final)
        if post:
            invoice.action_post()
        return invoice

    @classmethod
    def pay(cls, invoices, amount=None, currency=None, date=None, journal=None):
        vals = {"payment_date": date or fields.Date.today(), "journal_id": (journal or cls.bank_journal).id}
        if amount is not None:
            vals["amount"] = amount
        if currency:
            vals["currency_id"] = currency.id
        wizard = (
            cls.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoices.ids)
            .create(vals)
        )
        return wizard._create_payments()

    @classmethod
    def pay_together(cls, invoices):
        """One payment for several invoices, as "Register Payment" with "Group Payments" does."""
        return (
            cls.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoices.ids)
            .create({"group_payment": True, "journal_id": cls.bank_journal.id})
            ._create_payments()
        )

    @classmethod
    def pay_online(cls, invoices, amount=None, provider=None):
        """A payment made online: registered from a confirmed transaction of `provider` (Odoo's
        simulated provider by default, which refunds, partially too)."""
        provider = (provider or cls.env.ref("payment.payment_provider_demo")).sudo()
        if provider.code == "demo":
            provider.write({"state": "test", "company_id": cls.env.company.id, "journal_id": cls.bank_journal.id})
        method = provider.payment_method_ids[:1] or cls.env.ref("payment_demo.payment_method_demo")
        payment = cls.pay_together(invoices) if amount is None and len(invoices) > 1 else cls.pay(invoices, amount)
        transaction = (
            cls.env["payment.transaction"]
            .sudo()
            .create(
                {
                    "provider_id": provider.id,
                    "payment_method_id": method.id,
                    "amount": payment.amount,
                    "currency_id": payment.currency_id.id,
                    "partner_id": payment.partner_id.id,
                    "invoice_ids": [Command.set(invoices.ids)],
                    "reference": f"online-{payment.id}",
                }
            )
        )
        transaction._set_done()
        transaction.is_post_processed = True  # its payment is the one registered above
        payment.payment_transaction_id = transaction
        return payment

    @classmethod
    def match_with_bank(cls, line, amount):
        """A bank statement line of `amount` reconciled with `line`, as bank reconciliation does."""
        statement_line = cls.env["account.bank.statement.line"].create(
            {
                "journal_id": cls.bank_journal.id,
                "partner_id": cls.customer.id,
                "amount": amount,
                "payment_ref": line.move_id.name,
            }
        )
        _liquidity, suspense, _other = statement_line._seek_for_lines()
        suspense.account_id = line.account_id
        (suspense | line).reconcile()
        return statement_line

    @classmethod
    def paid_delivered_order(cls, lines=None, **kwargs):
        order = cls.create_order(lines, **kwargs)
        cls.deliver(order)
        invoice = cls.invoice(order)
        payment = cls.pay(invoice)
        return order, invoice, payment

    # -- running the cancellation -------------------------------------------------------------

    def cancel(self, orders, **options):
        wizard = (
            self.env["sale.order.cancel.reconciled"]
            .with_context(active_model="sale.order", active_ids=orders.ids)
            .create(options)
        )
        action = wizard.action_confirm()
        self.assert_books_when_all_cancelled(orders, wizard.payment_action)
        return self.env["sale.order.cancel.reconciled.log"].search([("order_id", "in", orders.ids)]), action

    def assert_books_when_all_cancelled(self, orders, payment_action):
        """Every scenario whose customer has nothing left but the cancelled orders ends with the
        books invariant checked; others (an order left paid beside) assert their own figures."""
        partner = orders.partner_id.commercial_partner_id
        if len(partner) != 1:
            return
        open_orders = self.env["sale.order"].search_count(
            [("partner_id", "child_of", partner.id), ("state", "=", "sale"), ("company_id", "=", self.env.company.id)]
        )
        other_documents = self.env["account.move"].search_count(
            [
                ("partner_id", "child_of", partner.id),
                ("move_type", "in", ("out_invoice", "out_refund")),
                ("state", "=", "posted"),
                ("id", "not in", orders.invoice_ids.ids),
            ]
        )
        if not open_orders and not other_documents:
            self.assert_books(partner, payment_action)

    # -- what a person checks -----------------------------------------------------------------

    def receivable_balance(self, partner=None):
        lines = self.env["account.move.line"].search(
            [
                ("partner_id", "=", (partner or self.customer).id),
                ("account_id.account_type", "=", "asset_receivable"),
                ("parent_state", "=", "posted"),
                ("company_id", "=", self.env.company.id),
            ]
        )
        return sum(lines.mapped("balance"))

    def assert_entries_balanced(self):
        """Every posted entry of the company balances, in company currency."""
        company = self.env.company
        for move, debit, credit in self.env["account.move.line"]._read_group(
            [("company_id", "=", company.id), ("parent_state", "=", "posted")], ["move_id"], ["debit:sum", "credit:sum"]
        ):
            self.assertTrue(
                company.currency_id.is_zero(debit - credit), f"{move.display_name}: debit {debit} != credit {credit}"
            )

    def assert_books(self, partner, payment_action):
        """The books of a customer all of whose orders were just cancelled, as an accountant checks
        them: every entry balanced; every income, expense, discount, write-off and tax account nets
        to zero for the customer in each document's currency (exchange differences apart: they are
        booked in their own journal and follow the rates); what the customer keeps as credit is
        exactly the money received (less what was already paid back), and a refund or a cancelled
        payment leaves no money on either side, currency by currency."""
        self.env.flush_all()
        company = self.env.company
        currency = company.currency_id
        self.assert_entries_balanced()
        partner_lines = [
            ("partner_id", "=", partner.id),
            ("company_id", "=", company.id),
            ("parent_state", "=", "posted"),
            ("journal_id", "!=", company.currency_exchange_journal_id.id),
        ]
        # In each document's own currency: a foreign-currency credit note booked at a later rate
        # differs from its invoice in company currency, and the exchange difference says by how much.
        for account, line_currency, amount in self.env["account.move.line"]._read_group(
            [
                *partner_lines,
                "|",
                ("account_id.internal_group", "in", ("income", "expense")),
                ("tax_line_id", "!=", False),
            ],
            ["account_id", "currency_id"],
            ["amount_currency:sum"],
        ):
            self.assertTrue(
                line_currency.is_zero(amount),
                f"{account.display_name} keeps {amount} {line_currency.name} for {partner.name}",
            )

        # Per currency, the money that came in (positive) or went out (negative): the liquidity
        # lines of the customer's posted payments and bank transactions.
        net = defaultdict(lambda: [0.0, 0.0])
        payments = self.env["account.payment"].search(
            [("partner_id", "=", partner.id), ("state", "in", ("in_process", "paid"))]
        )
        statement_lines = self.env["account.bank.statement.line"].search(
            [("partner_id", "=", partner.id), ("state", "=", "posted")]
        )
        for document in [*payments, *statement_lines]:
            liquidity = document._seek_for_lines()[0]
            matched = liquidity.matched_debit_ids.debit_move_id | liquidity.matched_credit_ids.credit_move_id
            if matched.move_id.statement_line_id:
                continue  # a payment the bank statement confirms: its money is counted there
            net[liquidity.currency_id[:1] or currency][0] += sum(liquidity.mapped("amount_currency"))
            net[liquidity.currency_id[:1] or currency][1] += sum(liquidity.mapped("balance"))
        balance = self.receivable_balance(partner)
        if payment_action == "keep":
            promised = -sum(company_amount for _amount, company_amount in net.values())
        else:
            promised = 0.0
            for net_currency, (amount, _company_amount) in net.items():
                self.assertTrue(
                    net_currency.is_zero(amount), f"{amount} {net_currency.name} received and not paid back"
                )
        self.assertFalse(
            currency.compare_amounts(balance, promised),
            f"{partner.name}'s receivable is {balance}, the option '{payment_action}' promises {promised}",
        )

    def on_hand(self, product):
        return product.with_context(warehouse_id=self.warehouse.id).qty_available

    def snapshot(self, orders):
        """What a rolled-back run must leave exactly as it was."""
        self.env.invalidate_all()
        invoices = orders.invoice_ids
        payments = invoices._get_reconciled_payments()
        return {
            "orders": orders.mapped("state"),
            "invoices": [(m.state, m.payment_state, m.amount_residual) for m in invoices],
            "payments": [(p.state, p.is_reconciled) for p in payments],
            "pickings": [(p.state, len(p.move_ids)) for p in orders.picking_ids],
            "moves": self.env["account.move"].search_count([]),
            "partials": self.env["account.partial.reconcile"].search_count([]),
            "pickings_count": self.env["stock.picking"].search_count([]),
            "logs": self.env["sale.order.cancel.reconciled.log"].search_count([]),
            "on_hand": [self.on_hand(p) for p in self.product_a | self.product_b],
        }
