from odoo import fields
from odoo.tests import tagged

from .common import CancelReconciledCommon


@tagged("post_install", "-at_install")
class TestEngineAccounting(CancelReconciledCommon):
    """What happens to invoices and payments, option by option."""

    def test_full_payment_reverse_keep(self):
        order, invoice, payment = self.paid_delivered_order()
        self.assertEqual(invoice.payment_state, "paid")

        logs, action = self.cancel(order)

        self.assertEqual(order.state, "cancel")
        self.assertEqual(invoice.payment_state, "reversed")
        self.assertRecordValues(
            invoice.reversal_move_ids, [{"move_type": "out_refund", "state": "posted", "amount_total": 200.0}]
        )
        self.assertIn(invoice.reversal_move_ids, order.invoice_ids, "the credit note stays linked to the order")
        self.assertEqual(payment.state, "in_process", "the freed payment is customer credit")
        self.assertAlmostEqual(self.receivable_balance(), -200.0)
        self.assertEqual(action["res_model"], "sale.order.cancel.reconciled.log")
        self.assertEqual(action["res_id"], logs.id)
        self.assertRecordValues(
            logs,
            [
                {
                    "state": "to_review",
                    "user_id": self.env.uid,
                    "invoice_action": "reverse",
                    "payment_action": "keep",
                    "stock_action": "return",
                    "amount_unreconciled": 200.0,
                    "amount_reversed": 200.0,
                    "amount_refunded": 0.0,
                }
            ],
        )
        unreconcile = logs.line_ids.filtered(lambda line: line.kind == "unreconcile")
        self.assertRecordValues(
            unreconcile,
            [
                {
                    "invoice_id": invoice.id,
                    "payment_id": payment.id,
                    "amount": 200.0,
                    "currency_id": invoice.currency_id.id,
                }
            ],
        )

    def test_a_freed_payment_no_longer_names_the_invoice_it_paid(self):
        order, invoice, payment = self.paid_delivered_order()
        _other_order, other_invoice, other_payment = self.paid_delivered_order()
        self.assertIn(invoice, payment.invoice_ids)
        other_before = (other_payment.state, other_invoice.payment_state)

        self.cancel(order)

        self.assertNotIn(invoice, payment.invoice_ids, "the payment's invoices are the ones it pays")
        self.assertFalse(payment.reconciled_invoice_ids, "its Invoices button names none")
        self.assertNotIn(payment, invoice.matched_payment_ids)
        self.assertEqual(payment.state, "in_process", "the freed payment is customer credit")
        self.assertEqual(invoice.payment_state, "reversed")
        # What is computed once, after the matches are gone, is what Odoo computes from scratch.
        self.env.invalidate_all()
        stored = (payment.state, invoice.payment_state)
        (payment | other_payment)._compute_state()
        (invoice | other_invoice)._compute_payment_state()
        self.assertEqual((payment.state, invoice.payment_state), stored)
        self.assertEqual((other_payment.state, other_invoice.payment_state), other_before)
        self.assertIn(other_invoice, other_payment.invoice_ids, "another order's payment keeps its invoice")

    def test_partial_payment(self):
        order = self.create_order()
        invoice = self.invoice(order)
        payment = self.pay(invoice, amount=120.0)
        self.assertEqual(invoice.payment_state, "partial")

        self.cancel(order)

        self.assertEqual(invoice.payment_state, "reversed")
        self.assertEqual(payment.state, "in_process")
        self.assertAlmostEqual(self.receivable_balance(), -120.0)

    def test_two_payments_for_one_invoice(self):
        order = self.create_order()
        invoice = self.invoice(order)
        first = self.pay(invoice, amount=50.0)
        second = self.pay(invoice, amount=150.0)

        logs, _action = self.cancel(order)

        self.assertEqual(invoice.payment_state, "reversed")
        self.assertEqual((first | second).mapped("state"), ["in_process", "in_process"])
        self.assertEqual(
            sorted(logs.line_ids.filtered(lambda line: line.kind == "unreconcile").mapped("amount")), [50.0, 150.0]
        )
        self.assertAlmostEqual(self.receivable_balance(), -200.0)

    def test_one_payment_across_two_orders(self):
        order = self.create_order()
        other_order = self.create_order([(self.product_b, 2.0)])
        invoice, other_invoice = self.invoice(order), self.invoice(other_order)
        payment = self.pay_together(invoice | other_invoice)
        self.assertEqual(len(payment), 1)
        self.assertAlmostEqual(payment.amount, 300.0)

        logs, _action = self.cancel(order)

        self.assertEqual(invoice.payment_state, "reversed")
        self.assertEqual(other_invoice.payment_state, "paid", "the other order's invoice stays paid")
        self.assertEqual(other_order.state, "sale")
        self.assertAlmostEqual(logs.amount_unreconciled, 200.0)
        self.assertAlmostEqual(self.receivable_balance(), -200.0)

    def test_down_payment_and_final_invoice(self):
        order = self.create_order()
        down = (
            self.env["sale.advance.payment.inv"]
            .with_context(active_model="sale.order", active_ids=order.ids)
            .create({"advance_payment_method": "percentage", "amount": 50})
        )
        down.create_invoices()
        down_invoice = order.invoice_ids
        down_invoice.action_post()
        self.pay(down_invoice)
        final = self.invoice(order, final=True)
        self.pay(final)
        self.assertEqual(final.amount_total, 100.0)

        logs, _action = self.cancel(order)

        self.assertEqual((down_invoice | final).mapped("payment_state"), ["reversed", "reversed"])
        self.assertAlmostEqual(logs.amount_reversed, 200.0)
        self.assertAlmostEqual(self.receivable_balance(), -200.0)

    def test_existing_credit_note_is_undone_too(self):
        order, invoice, _payment = self.paid_delivered_order()
        reversal = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"journal_id": invoice.journal_id.id, "reason": "goodwill"})
        )
        credit_note = self.env["account.move"].browse(reversal.refund_moves()["res_id"])
        credit_note.invoice_line_ids.quantity = 0.5
        credit_note.action_post()
        refund = self.pay(credit_note)
        self.assertAlmostEqual(self.receivable_balance(), 0.0)

        self.cancel(order)

        self.assertEqual(invoice.payment_state, "reversed")
        # A credit note is undone by a reversing invoice reconciled with it.
        self.assertEqual(credit_note.reversal_move_ids.move_type, "out_invoice")
        self.assertTrue(credit_note.currency_id.is_zero(credit_note.amount_residual))
        self.assertEqual(refund.state, "in_process")
        # The customer paid 200 and got 50 back: 150 is their credit.
        self.assertAlmostEqual(self.receivable_balance(), -150.0)

    def test_refund_brings_balance_to_zero(self):
        order, _invoice, payment = self.paid_delivered_order()

        logs, _action = self.cancel(order, payment_action="refund")

        refund = logs.line_ids.filtered(lambda line: line.kind == "payment_refund").result_payment_id
        self.assertRecordValues(refund, [{"payment_type": "outbound", "amount": 200.0, "partner_id": self.customer.id}])
        self.assertTrue(refund.is_reconciled)
        self.assertTrue(payment.is_reconciled)
        self.assertAlmostEqual(self.receivable_balance(), 0.0)
        self.assertAlmostEqual(logs.amount_refunded, 200.0)

    def test_refund_of_a_partial_payment(self):
        order = self.create_order()
        invoice = self.invoice(order)
        self.pay(invoice, amount=80.0)

        logs, _action = self.cancel(order, payment_action="refund")

        self.assertEqual(invoice.payment_state, "reversed")
        self.assertAlmostEqual(logs.amount_refunded, 80.0)
        self.assertAlmostEqual(self.receivable_balance(), 0.0)

    def test_refund_of_a_shared_payment_gives_back_this_order_only(self):
        order = self.create_order()
        other_order = self.create_order([(self.product_b, 2.0)])
        invoice, other_invoice = self.invoice(order), self.invoice(other_order)
        self.pay_together(invoice | other_invoice)

        logs, _action = self.cancel(order, payment_action="refund")

        self.assertAlmostEqual(logs.amount_refunded, 200.0)
        self.assertEqual(other_invoice.payment_state, "paid")
        self.assertAlmostEqual(self.receivable_balance(), 0.0)

    def test_cancel_payment(self):
        order, invoice, payment = self.paid_delivered_order()

        logs, _action = self.cancel(order, payment_action="cancel")

        self.assertEqual(payment.state, "canceled")
        self.assertEqual(payment.move_id.state, "cancel")
        self.assertEqual(invoice.payment_state, "reversed")
        self.assertAlmostEqual(self.receivable_balance(), 0.0)
        self.assertEqual(logs.line_ids.filtered(lambda line: line.kind == "payment_cancel").payment_id, payment)

    def test_cancel_invoice(self):
        order, invoice, payment = self.paid_delivered_order()

        logs, _action = self.cancel(order, invoice_action="cancel")

        self.assertEqual(invoice.state, "cancel")
        self.assertFalse(invoice.reversal_move_ids)
        self.assertEqual(payment.state, "in_process")
        self.assertAlmostEqual(self.receivable_balance(), -200.0)
        self.assertEqual(logs.line_ids.filtered(lambda line: line.kind == "invoice_cancel").invoice_id, invoice)

    def test_draft_invoice_is_cancelled_with_the_posted_one(self):
        order = self.create_order([(self.product_a, 2.0), (self.product_b, 1.0)])
        invoice = self.invoice(order)
        self.pay(invoice)
        order.order_line[0].product_uom_qty = 3.0
        draft = self.invoice(order, post=False)

        logs, _action = self.cancel(order)

        self.assertEqual(draft.state, "cancel")
        self.assertIn(draft, logs.line_ids.invoice_id)

    def eur_order_invoiced_at_2_paid_at_4(self):
        """200 EUR invoiced at 2 EUR/USD (100 USD), paid at 4 (50 USD): an exchange difference."""
        eur = self.setup_other_currency("EUR", rates=[("2024-01-01", 2.0), ("2024-02-01", 4.0)])
        order = self.create_order(currency=eur)
        order.order_line.price_unit = 100.0
        invoice = order._create_invoices()
        invoice.invoice_date = "2024-01-10"
        invoice.action_post()
        payment = self.pay(invoice, currency=eur, date=fields.Date.to_date("2024-02-10"))
        return eur, order, invoice, payment

    def test_foreign_currency_with_exchange_difference(self):
        eur, order, invoice, payment = self.eur_order_invoiced_at_2_paid_at_4()
        self.assertAlmostEqual(invoice.amount_total, 200.0)
        self.assertAlmostEqual(invoice.amount_total_signed, 100.0)
        partial = invoice.line_ids.matched_credit_ids
        exchange_move = partial.exchange_move_id
        self.assertTrue(exchange_move, "paying at another rate books an exchange difference")

        logs, _action = self.cancel(order)

        self.assertEqual(invoice.payment_state, "reversed")
        self.assertEqual(exchange_move.reversal_move_ids.state, "posted", "the exchange difference is reversed")
        self.assertIn(exchange_move.name, logs.line_ids.filtered(lambda line: line.kind == "unreconcile").name)
        self.assertRecordValues(
            logs.line_ids.filtered(lambda line: line.kind == "unreconcile"),
            [{"amount": 200.0, "currency_id": eur.id, "payment_id": payment.id}],
        )
        # The payment (200 EUR at 4) is what the customer has left, in both currencies.
        payment_line = payment.move_id.line_ids.filtered(lambda line: line.account_id == self.receivable)
        self.assertAlmostEqual(payment_line.amount_residual_currency, -200.0)
        self.assertAlmostEqual(self.receivable_balance(), -50.0)

    def test_locked_period_reversal_falls_on_first_open_date(self):
        order = self.create_order()
        invoice = order._create_invoices()
        invoice.invoice_date = "2024-01-10"
        invoice.action_post()
        self.pay(invoice, date=fields.Date.to_date("2024-01-15"))
        today = fields.Date.today()
        self.env.company.fiscalyear_lock_date = fields.Date.to_date("2024-12-31")

        self.cancel(order)

        credit_note = invoice.reversal_move_ids
        self.assertEqual(invoice.payment_state, "reversed")
        self.assertGreater(credit_note.date, self.env.company.fiscalyear_lock_date)
        self.assertLessEqual(credit_note.date, max(today, fields.Date.to_date("2025-01-31")))

    def test_log_lines_follow_the_steps(self):
        """The steps' lines are written together at the end, in the order the steps made them."""
        order, invoice, payment = self.paid_delivered_order()

        logs, _action = self.cancel(order, payment_action="refund", stock_action="return_validate")

        lines = logs.line_ids.sorted("sequence")
        self.assertEqual(lines.mapped("kind"), ["unreconcile", "credit_note", "payment_refund", "picking_return"])
        self.assertEqual(lines.mapped("sequence"), list(range(4)))
        self.assertEqual((lines[0].invoice_id, lines[0].payment_id), (invoice, payment))
        self.assertEqual(lines[1].result_move_id, invoice.reversal_move_ids)
        self.assertTrue(logs.currency_id.is_zero(logs.amount_reversed - invoice.amount_total))
        self.assertTrue(logs.currency_id.is_zero(logs.amount_refunded - payment.amount))

    def test_chatter_links_the_log(self):
        order, invoice, payment = self.paid_delivered_order()

        logs, _action = self.cancel(order)

        link = f'data-oe-model="sale.order.cancel.reconciled.log" data-oe-id="{logs.id}"'
        note = self.env.ref("mail.mt_note")
        for record in (order, invoice, payment):
            messages = record.message_ids.filtered(lambda message: link in str(message.body))
            self.assertEqual(len(messages), 1, f"{record.display_name} links the log once")
            # An internal note by the user who cancelled, like Odoo's own logged notes: nobody is
            # notified of it and it is not a mail.
            self.assertEqual(
                (messages.message_type, messages.subtype_id, messages.is_internal, messages.author_id),
                ("notification", note, True, self.env.user.partner_id),
            )
            self.assertFalse(messages.notification_ids)
            self.assertFalse(messages.reply_to)

    def test_notify_customer(self):
        order, _invoice, _payment = self.paid_delivered_order()
        self.customer.email = "customer@example.com"

        self.cancel(order, notify_customer=True, payment_action="refund")

        message = order.message_ids.filtered(lambda m: m.message_type == "comment")[:1]
        self.assertIn(order.name, message.subject)
        self.assertIn(self.customer, message.partner_ids)
        self.assertIn("refunded", str(message.body))

    def test_reason_and_note_are_logged(self):
        order, _invoice, _payment = self.paid_delivered_order()
        reason = self.env.ref("order_cancel_reconciled.reason_damaged")

        logs, _action = self.cancel(order, reason_id=reason.id, note="Box crushed")

        self.assertRecordValues(logs, [{"reason_id": reason.id, "note": "Box crushed"}])
        self.assertIn(reason.name, order.invoice_ids.filtered(lambda m: m.move_type == "out_refund").ref)

    def test_locked_order_is_cancelled(self):
        order, invoice, _payment = self.paid_delivered_order()
        order.action_lock()

        self.cancel(order)

        self.assertEqual(order.state, "cancel")
        self.assertEqual(invoice.payment_state, "reversed")

    def test_batch_of_orders(self):
        orders = self.env["sale.order"]
        for _index in range(3):
            orders |= self.paid_delivered_order()[0]

        logs, action = self.cancel(orders, payment_action="refund")

        self.assertEqual(set(orders.mapped("state")), {"cancel"})
        self.assertEqual(len(logs), 3)
        self.assertEqual(action["domain"][0][:2], ("id", "in"))
        self.assertEqual(set(action["domain"][0][2]), set(logs.ids))
        self.assertAlmostEqual(self.receivable_balance(), 0.0)
        self.assertEqual(logs.order_id, orders)

    def test_cancel_payment_in_foreign_currency_with_exchange_difference(self):
        _eur, order, invoice, payment = self.eur_order_invoiced_at_2_paid_at_4()
        self.assertTrue(invoice.line_ids.matched_credit_ids.exchange_move_id)

        self.cancel(order, payment_action="cancel")

        self.assertEqual(payment.state, "canceled")
        self.assertEqual(invoice.payment_state, "reversed")
        self.assertAlmostEqual(self.receivable_balance(), 0.0)
