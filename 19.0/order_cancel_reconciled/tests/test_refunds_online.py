"""Refunds go back the way the money came: through the payment provider for online payments
(Odoo's simulated provider, payment_demo), by an outbound payment otherwise."""

from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import CancelReconciledCommon

ENGINE = "order.cancel.reconciled.engine"


@tagged("post_install", "-at_install")
class TestRefundsOnline(CancelReconciledCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls.env.ref("payment.payment_provider_demo").sudo()
        # Odoo writes the provider's messages as the user who runs the cancellation.
        cls.env.user.partner_id.email = "cancelling.user@example.com"

    def new_customer(self, name):
        return self.env["res.partner"].create({"name": name, "email": f"{name.lower().replace(' ', '.')}@example.com"})

    def refund(self, orders):
        engine = self.env[ENGINE]
        logs = engine._run(orders, engine._prepare_options(self.env.company, payment_action="refund"))
        return logs.line_ids.filtered(lambda line: line.kind == "payment_refund")

    def send_refunds(self):
        """What the scheduled action does once the cancellation is committed."""
        while self.env[ENGINE]._cron_send_provider_refunds():
            pass

    def provider_answers(self, refund_lines):
        """The refunds are sent, then the provider confirms them: Odoo's post-processing."""
        self.send_refunds()
        refund_lines.refund_transaction_id.sudo()._post_process()

    def test_full_refund_through_the_provider(self):
        partner = self.new_customer("Online Customer")
        order = self.create_order(partner=partner)
        invoice = self.invoice(order)
        payment = self.pay_online(invoice)
        line = self.refund(order)
        self.assertRecordValues(
            line, [{"refund_state": "to_send", "amount": invoice.amount_total, "payment_id": payment.id}]
        )
        self.assertFalse(line.refund_transaction_id, "nothing is sent before the cancellation is committed")
        self.send_refunds()
        # Transactions are read elevated, as accountants do through the payment.
        refund_tx = line.refund_transaction_id.sudo()
        self.assertEqual(line.refund_state, "pending")
        self.assertRecordValues(
            refund_tx, [{"operation": "refund", "amount": -invoice.amount_total, "provider_id": self.provider.id}]
        )
        self.assertEqual(refund_tx.source_transaction_id, payment.sudo().payment_transaction_id)
        # Until the provider's refund is booked, the money is still owed to the customer.
        self.assertAlmostEqual(self.receivable_balance(partner), -invoice.amount_total)
        self.provider_answers(line)
        self.assertRecordValues(line, [{"refund_state": "done", "result_payment_id": refund_tx.payment_id.id}])
        self.assertTrue(refund_tx.payment_id.move_id.line_ids.filtered("reconciled"))
        self.assert_books(partner, "refund")

    def test_partial_refund_of_a_grouped_online_payment(self):
        partner = self.new_customer("Grouped Online Customer")
        order, other = self.create_order(partner=partner), self.create_order([(self.product_b, 1.0)], partner=partner)
        invoices = self.invoice(order) | self.invoice(other)
        payment = self.pay_online(invoices)
        self.assertEqual(len(payment), 1)
        line = self.refund(order)
        self.provider_answers(line)
        self.assertEqual(line.refund_transaction_id.sudo().amount, -invoices[0].amount_total, "this order's share only")
        self.assertEqual(line.refund_state, "done")
        self.assertTrue(line.freed_line_id.reconciled)
        self.assertEqual(invoices[1].payment_state, "paid", "the other order stays paid")
        self.assertTrue(self.env.company.currency_id.is_zero(self.receivable_balance(partner)))

    def test_online_and_bank_payments_of_one_order(self):
        partner = self.new_customer("Mixed Customer")
        order = self.create_order(partner=partner)
        invoice = self.invoice(order)
        self.pay_online(invoice, amount=invoice.amount_total / 2)
        self.pay(invoice)
        lines = self.refund(order)
        online = lines.filtered("online_transaction_id")
        by_hand = lines - online
        self.assertEqual((len(online), len(by_hand)), (1, 1))
        self.assertTrue(by_hand.result_payment_id, "the bank transfer is refunded by an outbound payment")
        self.provider_answers(online)
        self.assertTrue((online | by_hand).freed_line_id.mapped("reconciled") and online.freed_line_id.reconciled)
        self.assert_books(partner, "refund")

    def test_provider_without_refunds_is_refunded_by_hand_and_the_preview_says_so(self):
        partner = self.new_customer("Wire Customer")
        order = self.create_order(partner=partner)
        invoice = self.invoice(order)
        wire = self.env.ref("payment.payment_provider_transfer").sudo()
        self.assertEqual(wire.support_refund, "none")
        self.pay_online(invoice, provider=wire)
        wizard = self.env["sale.order.cancel.reconciled"].create(
            {"order_ids": [(6, 0, order.ids)], "payment_action": "refund"}
        )
        preview = str(wizard.preview_html)
        self.assertIn("cannot be refunded online", preview)
        self.assertIn("by an outbound payment", preview)
        self.assertFalse(wizard.is_blocked)
        line = self.refund(order)
        self.assertFalse(line.refund_transaction_id)
        self.assertTrue(line.result_payment_id)
        self.assert_books(partner, "refund")

    def test_preview_says_the_money_goes_back_through_the_provider(self):
        order = self.create_order(partner=self.new_customer("Preview Customer"))
        self.pay_online(self.invoice(order))
        wizard = self.env["sale.order.cancel.reconciled"].create(
            {"order_ids": [(6, 0, order.ids)], "payment_action": "refund"}
        )
        self.assertIn(f"online through {self.provider.name}", str(wizard.preview_html))

    def test_provider_refuses_the_refund(self):
        partner = self.new_customer("Refused Refund Customer")
        order = self.create_order(partner=partner)
        invoice = self.invoice(order)
        self.pay_online(invoice)
        line = self.refund(order)
        self.send_refunds()
        # The provider reports the refund failed (a card expired, a dispute...).
        line.refund_transaction_id.sudo()._set_error("Card expired", extra_allowed_states=("done",))
        self.assertRecordValues(line, [{"refund_state": "failed", "refund_error": "Card expired"}])
        self.assertEqual(order.state, "cancel", "the order stays cancelled")
        self.assertAlmostEqual(self.receivable_balance(partner), -invoice.amount_total, msg="the credit stays open")
        self.assertTrue(order.activity_ids.filtered(lambda activity: activity.summary == "A provider refund failed"))
        self.assertIn("Card expired", line.log_id.message_ids[0].body)

    def test_customer_is_told_how_much_goes_back_which_way_and_when(self):
        for code in ("zh_CN", "fr_FR"):
            self.env["res.lang"]._activate_lang(code)
        self.env["ir.module.module"]._load_module_terms(["order_cancel_reconciled"], ["zh_CN", "fr_FR"], overwrite=True)
        self.env.company.cancel_refund_days = 5
        expected = {
            "en_US": ("back to the means of payment you used online (Demo)", "by bank transfer", "within 5 days"),
            "zh_CN": ("退回您在线付款时使用的支付方式（Demo）", "通过银行转账退回", "预计在 5 天内到账"),
            "fr_FR": (
                "sur le moyen de paiement utilisé en ligne (Demo)",
                "par virement bancaire",
                "Comptez au plus 5 jours",
            ),
        }
        engine = self.env[ENGINE]
        for lang, texts in expected.items():
            with self.subTest(lang=lang):
                partner = self.new_customer(f"Told Customer {lang}")
                partner.lang = lang
                order = self.create_order(partner=partner)
                invoice = self.invoice(order)
                self.pay_online(invoice, amount=invoice.amount_total - 50.0)
                self.pay(invoice)
                options = engine._prepare_options(self.env.company, payment_action="refund", notify_customer=True)
                engine._run(order, options)
                body = order.message_ids.filtered(lambda message, partner=partner: message.partner_ids == partner)[
                    :1
                ].body
                for text in texts:
                    self.assertIn(text, body)
                self.assertIn("150.00", body)

    def test_a_failing_run_sends_nothing_to_the_provider(self):
        order = self.create_order(partner=self.new_customer("Rolled Back Customer"))
        self.pay_online(self.invoice(order))
        engine = self.registry[ENGINE]
        options = self.env[ENGINE]._prepare_options(self.env.company, payment_action="refund")
        with (
            patch.object(engine, "_step_post_chatter", side_effect=UserError("mail server down")),
            self.assertRaisesRegex(UserError, "mail server down"),
        ):
            self.env[ENGINE]._run(order, options)
        self.assertFalse(self.send_refunds_sent(), "no refund was recorded to send")
        self.assertFalse(
            self.env["payment.transaction"].sudo().search_count([("operation", "=", "refund")]), "none was sent"
        )
        self.assertEqual(order.state, "sale")

    def send_refunds_sent(self):
        return self.env[ENGINE]._cron_send_provider_refunds()

    def test_a_member_without_payment_rights_refunds_by_an_outbound_payment(self):
        partner = self.new_customer("Member Refund Customer")
        order = self.create_order(partner=partner)
        self.pay_online(self.invoice(order))
        member = self.new_user(
            "refund_member", "sales_team.group_sale_salesman_all_leads,order_cancel_reconciled.group_cancel_reconciled"
        )
        engine = self.env[ENGINE].with_user(member)
        logs = engine._run(order.with_user(member), engine._prepare_options(self.env.company, payment_action="refund"))
        line = logs.sudo().line_ids.filtered(lambda line: line.kind == "payment_refund")
        self.assertFalse(line.online_transaction_id)
        self.assertTrue(line.result_payment_id, "an outbound payment for someone allowed to pay it")
        self.assert_books(partner, "refund")

    def test_a_refund_made_meanwhile_is_not_sent_twice(self):
        partner = self.new_customer("Refunded Meanwhile Customer")
        order = self.create_order(partner=partner)
        payment = self.pay_online(self.invoice(order))
        line = self.refund(order)
        # Before the scheduled action sends it, someone refunds the whole payment from Odoo's own
        # Refund button on the payment.
        # Someone refunds it at the provider meanwhile (Odoo 19: _refund creates and sends it).
        payment.sudo().payment_transaction_id._refund()
        self.send_refunds()
        # Held for a person with the figures: the customer has their money, nothing says to
        # refund it again.
        self.assertEqual(line.refund_state, "held")
        self.assertIn("left to refund", line.refund_error)
        refunds = self.env["payment.transaction"].sudo().search([("operation", "=", "refund")])
        self.assertEqual(len(refunds), 1, "the provider was asked once")
