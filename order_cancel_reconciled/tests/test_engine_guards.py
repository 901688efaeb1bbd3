import contextlib
import time
from contextlib import closing
from unittest.mock import patch

from psycopg2.errors import LockNotAvailable

from odoo import Command, fields, sql_db
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.order_cancel_reconciled.models.order_cancel_reconciled_engine_queue import LOCK_SPACES

from .common import CancelReconciledCommon

CARRIER_REFUSES = "the carrier refuses"


@tagged("post_install", "-at_install")
class TestEngineGuards(CancelReconciledCommon):
    """Bad input is refused with a clear error, and a failed run leaves everything as it was."""

    def assert_refused(self, orders, message, **options):
        before = self.snapshot(orders)
        with self.assertRaisesRegex(UserError, message):
            self.cancel(orders, **options)
        self.assertEqual(self.snapshot(orders), before, "the database is exactly as before")

    def test_quotation_is_refused(self):
        quotation = self.create_order(confirm=False)
        self.assert_refused(quotation, "is a quotation: cancel it with the standard Cancel button")

    def test_cancelled_order_is_refused(self):
        order = self.create_order()
        order._action_cancel()
        self.assert_refused(order, "is already cancelled")

    def test_order_without_posted_invoice_is_refused(self):
        order = self.create_order()
        self.invoice(order, post=False)
        self.assert_refused(order, "has no posted invoice to undo")

    def test_orders_of_several_companies_are_refused(self):
        order = self.paid_delivered_order()[0]
        other_company = self.setup_other_company()["company"]
        self.env.user.company_ids |= other_company
        other = (
            self.env["sale.order"]
            .with_company(other_company)
            .create(
                {
                    "partner_id": self.customer.id,
                    "company_id": other_company.id,
                    "order_line": [Command.create({"product_id": self.product_b.id, "product_uom_qty": 1})],
                }
            )
        )
        self.assert_refused(order | other, "belong to several companies")

    def test_invoice_shared_with_another_order_is_refused(self):
        order = self.create_order()
        other_order = self.create_order([(self.product_b, 1.0)])
        invoice = (order | other_order)._create_invoices()
        invoice.action_post()
        self.pay(invoice)
        self.assertEqual(len(invoice), 1)
        self.assert_refused(order, f"also bills {other_order.name}")
        # Cancelled together, the shared invoice is undone once.
        self.cancel(order | other_order)
        self.assertEqual(invoice.payment_state, "reversed")
        self.assertEqual(set((order | other_order).mapped("state")), {"cancel"})

    def test_cancel_refused_on_hash_protected_journal(self):
        self.company_data["default_journal_sale"].restrict_mode_hash_table = True
        order, invoice, _payment = self.paid_delivered_order()
        self.assert_refused(
            order,
            f"Invoice {invoice.name} of {order.name} cannot be cancelled: journal .* is hash-protected",
            invoice_action="cancel",
        )
        # Reversing is still possible.
        self.cancel(order)
        self.assertEqual(invoice.payment_state, "reversed")

    def test_cancel_refused_in_locked_period(self):
        order = self.create_order()
        invoice = order._create_invoices()
        invoice.invoice_date = "2024-01-10"
        invoice.action_post()
        self.pay(invoice)
        self.env.company.sale_lock_date = fields.Date.to_date("2024-12-31")
        self.assert_refused(order, f"Invoice {invoice.name} .* is before the lock date", invoice_action="cancel")

    def test_cancel_refused_for_payment_matched_with_bank_statement(self):
        order, invoice, payment = self.paid_delivered_order()
        outstanding = payment.move_id.line_ids.filtered(lambda line: line.account_id == payment.outstanding_account_id)
        self.match_with_bank(outstanding, 200.0)
        self.assert_refused(
            order, f"Payment {payment.name} .* matched with a bank statement line", payment_action="cancel"
        )
        # Keeping the money as credit is fine.
        self.cancel(order)
        self.assertEqual(invoice.payment_state, "reversed")

    def test_cancel_refused_for_payment_shared_with_another_order(self):
        order = self.create_order()
        other_order = self.create_order([(self.product_b, 2.0)])
        invoices = self.invoice(order) | self.invoice(other_order)
        self.pay_together(invoices)
        self.assert_refused(order, "it also pays", payment_action="cancel")

    def test_cancel_refused_for_bank_transaction_paying_the_invoice(self):
        order = self.create_order()
        invoice = self.invoice(order)
        self.match_with_bank(invoice.line_ids.filtered(lambda line: line.account_id == self.receivable), 200.0)
        self.assertEqual(invoice.payment_state, "paid")
        self.assert_refused(order, "is not a payment", payment_action="cancel")
        # Refunding it works: the refund goes out of the bank journal.
        logs, _action = self.cancel(order, payment_action="refund")
        self.assertAlmostEqual(logs.amount_refunded, 200.0)
        self.assertAlmostEqual(self.receivable_balance(), 0.0)

    def test_non_member_gets_access_error(self):
        order, _invoice, _payment = self.paid_delivered_order()
        salesman = new_test_user(self.env, login="plain_salesman", groups="sales_team.group_sale_salesman_all_leads")
        before = self.snapshot(order)
        with self.assertRaises(AccessError):
            self.env["sale.order.cancel.reconciled"].with_user(salesman).create({"order_ids": [Command.set(order.ids)]})
        # Even on a wizard made by someone else, the server refuses the run.
        wizard = self.env["sale.order.cancel.reconciled"].create({"order_ids": [Command.set(order.ids)]})
        with self.assertRaisesRegex(AccessError, "Cancel reconciled orders"):
            wizard.with_user(salesman).action_confirm()
        self.assertEqual(self.snapshot(order), before)

    def test_member_without_accounting_or_stock_rights_can_cancel(self):
        order, invoice, _payment = self.paid_delivered_order()
        member = new_test_user(
            self.env,
            login="member",
            groups="sales_team.group_sale_salesman_all_leads,order_cancel_reconciled.group_cancel_reconciled",
        )
        self.assertFalse(member.has_group("account.group_account_invoice"))
        self.assertFalse(member.has_group("stock.group_stock_user"))
        wizard = (
            self.env["sale.order.cancel.reconciled"]
            .with_user(member)
            .with_context(active_model="sale.order", active_ids=order.ids)
            .create({"payment_action": "refund", "stock_action": "return_validate"})
        )
        wizard.action_confirm()
        self.assertEqual(order.state, "cancel")
        self.assertEqual(invoice.payment_state, "reversed")
        log = order.cancel_reconciled_log_ids
        self.assertEqual(log.user_id, member, "the real user is recorded")
        self.assertEqual(log.with_user(member).read(["state"])[0]["state"], "to_review")
        self.assertEqual(order.message_ids[:1].author_id, member.partner_id)

    def test_failure_in_last_step_rolls_everything_back(self):
        order, _invoice, _payment = self.paid_delivered_order()
        before = self.snapshot(order)
        model = self.registry["order.cancel.reconciled.engine"]
        with patch.object(model, "_step_post_chatter", side_effect=UserError("mail server down")):
            with self.assertRaisesRegex(UserError, f"{order.name} could not be cancelled: mail server down"):
                self.cancel(order, payment_action="refund", stock_action="return_validate")
        self.assertEqual(self.snapshot(order), before)

    def test_failure_rolls_back_even_when_the_caller_catches_it(self):
        order, invoice, _payment = self.paid_delivered_order()
        model = self.registry["order.cancel.reconciled.engine"]
        wizard = self.env["sale.order.cancel.reconciled"].create({"order_ids": [Command.set(order.ids)]})
        with patch.object(model, "_step_return_delivered_goods", side_effect=UserError("no return type")):
            with contextlib.suppress(UserError):
                wizard.action_confirm()
        self.env.invalidate_all()
        self.assertEqual(invoice.payment_state, "paid")
        self.assertEqual(order.state, "sale")

    def test_batch_with_a_bad_order_changes_nothing(self):
        orders = self.paid_delivered_order()[0] | self.paid_delivered_order()[0]
        quotation = self.create_order(confirm=False)
        self.assert_refused(orders | quotation, quotation.name)

    def test_batch_failing_on_third_order_changes_nothing(self):
        orders = self.env["sale.order"]
        for _index in range(3):
            orders |= self.paid_delivered_order()[0]
        third = orders[2]
        model = self.registry["order.cancel.reconciled.engine"]
        original = model._step_cancel_order

        def fail_on_third(engine, plan, options, log):
            if plan.order == third:
                raise UserError(CARRIER_REFUSES)
            return original(engine, plan, options, log)

        before = self.snapshot(orders)
        with patch.object(model, "_step_cancel_order", fail_on_third):
            with self.assertRaisesRegex(UserError, f"{third.name} could not be cancelled: the carrier refuses"):
                self.cancel(orders)
        self.assertEqual(self.snapshot(orders), before)

    # -- runs that share rows (the queue): another run, in a connection of its own ---------------

    @contextlib.contextmanager
    def other_run_holding(self, space, record_id):
        """Another run's transaction, holding the queue's key of that row until the block ends."""
        with closing(sql_db.db_connect(self.env.cr.dbname).cursor()) as other:
            other.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_SPACES[space], record_id))
            try:
                yield
            finally:
                other.rollback()

    def test_an_order_another_run_holds_is_refused_at_once(self):
        order = self.paid_delivered_order()[0]
        started = time.monotonic()
        with self.other_run_holding("order", order.id):
            self.assert_refused(order, "being changed by another user right now")
        self.assertLess(time.monotonic() - started, 5, "refused without waiting for the other run")

    def test_the_shared_rows_are_every_product_moved_and_the_commercial_partner(self):
        """A run waits for runs on the products of its lines and of every move of its transfers
        (here one added by hand, without an order line) and for runs on its customer's company."""
        company = self.env["res.partner"].create({"name": "Customer Company", "is_company": True})
        contact = self.env["res.partner"].create({"name": "Buyer", "parent_id": company.id})
        order = self.create_order(partner=contact)
        picking = order.picking_ids
        self.env["stock.move"].create(
            {
                "name": self.product_b.name,
                "product_id": self.product_b.id,
                "product_uom_qty": 1.0,
                "picking_id": picking.id,
                "location_id": picking.location_id.id,
                "location_dest_id": picking.location_dest_id.id,
            }
        )
        self.env.flush_all()
        keys = self.env["order.cancel.reconciled.engine.queue"]._get_shared_row_keys(order)
        expected = [
            (LOCK_SPACES["order"], order.id),
            *sorted((LOCK_SPACES["product"], product.id) for product in self.product_a | self.product_b),
            (LOCK_SPACES["partner"], company.id),
        ]
        self.assertEqual(keys, expected)

    def test_the_log_author_does_not_follow_the_log(self):
        order = self.paid_delivered_order()[0]
        log = order.cancel_reconciled()
        self.assertFalse(log.message_partner_ids, "a log is reviewed, not discussed")
        self.assertEqual(log.reason_id, self.env.ref("order_cancel_reconciled.reason_not_given"))

    def test_a_run_after_other_writes_waits_in_place_for_a_shared_product(self):
        """This transaction wrote before the run (as the test did): it is never rolled back to
        start again; the run waits for the other run holding its product, here until the lock
        timeout."""
        order = self.paid_delivered_order()[0]
        # The lock timeout's query is logged by Odoo as an ERROR: expected here.
        with self.other_run_holding("product", self.product_a.id), mute_logger("odoo.sql_db"):
            with self.assertRaises(LockNotAvailable), self.env.cr.savepoint():
                self.env.cr.execute("SET LOCAL lock_timeout = '1s'")
                self.cancel(order)
        self.assertEqual(order.state, "sale")
