from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import CancelReconciledCommon
from .translations import untranslated_terms


@tagged("post_install", "-at_install")
class TestI18n(CancelReconciledCommon):
    """A Chinese or French user sees the wizard and its refusals in their language."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for code in ("zh_CN", "fr_FR"):
            cls.env["res.lang"]._activate_lang(code)
        # fr_FR reads i18n/fr.po, the base language's file.
        cls.env["ir.module.module"]._load_module_terms(["order_cancel_reconciled"], ["zh_CN", "fr_FR"], overwrite=True)

    def open_wizard(self, orders, lang):
        """The wizard as the Cancel Reconciled Orders action opens it, for a user of that language."""
        return (
            self.env["sale.order.cancel.reconciled"]
            .with_context(lang=lang, active_model="sale.order", active_ids=orders.ids)
            .create({})
        )

    def test_wizard_options_in_chinese(self):
        fields = (
            self.env["sale.order.cancel.reconciled"]
            .with_context(lang="zh_CN")
            .fields_get(["invoice_action", "payment_action", "stock_action"], ["string", "selection"])
        )
        self.assertEqual(
            fields,
            {
                "invoice_action": {
                    "string": "发票",
                    "selection": [("reverse", "用贷项通知单冲销"), ("cancel", "重置为草稿并取消")],
                },
                "payment_action": {
                    "string": "付款",
                    "selection": [("keep", "保留为客户贷方余额"), ("cancel", "取消付款"), ("refund", "退款给客户")],
                },
                "stock_action": {
                    "string": "已交货商品",
                    "selection": [
                        ("return", "准备退货"),
                        ("return_validate", "退货并立即验证"),
                        ("none", "保持交货单不变"),
                    ],
                },
            },
        )

    def test_wizard_form_in_chinese(self):
        arch = (
            self.env["sale.order.cancel.reconciled"]
            .with_context(lang="zh_CN")
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        self.assertIn('string="取消订单"', arch, "the confirm button")
        self.assertIn('confirm="确定要取消这些订单及其付款、发票和交货吗？此操作无法撤销。"', arch)
        self.assertIn('string="将执行的操作"', arch, "the preview's title")
        self.assertNotIn("Cancel Orders", arch)

    def test_refusal_in_chinese(self):
        quotation = self.create_order(confirm=False)
        wizard = self.open_wizard(quotation, "zh_CN")
        with self.assertRaises(UserError) as refusal:
            wizard.action_confirm()
        self.assertEqual(refusal.exception.args[0], f"{quotation.name} 是报价单：请使用标准的“取消”按钮取消。")
        self.assertEqual(quotation.state, "draft")

    def test_refusal_and_options_in_french(self):
        quotation = self.create_order(confirm=False)
        wizard = self.open_wizard(quotation, "fr_FR")
        with self.assertRaises(UserError) as refusal:
            wizard.action_confirm()
        self.assertEqual(
            refusal.exception.args[0], f"{quotation.name} est un devis : annulez-le avec le bouton Annuler standard."
        )
        invoice_action = wizard.fields_get(["invoice_action"], ["string", "selection"])["invoice_action"]
        self.assertEqual(invoice_action["string"], "Factures")
        self.assertEqual(
            invoice_action["selection"],
            [("reverse", "Extourner par un avoir"), ("cancel", "Remettre en brouillon et annuler")],
        )

    def test_customer_message_in_the_customers_language(self):
        """The reason is written in the customer's language, not the user's (a bug of 18.0.1.1.0)."""
        order = self.paid_delivered_order()[0]
        self.customer.lang = "zh_CN"
        wizard = self.open_wizard(order, "en_US")
        wizard.reason_id = self.env.ref("order_cancel_reconciled.reason_damaged")
        wizard.notify_customer = True
        self.assertIn("商品损坏或有缺陷", str(wizard.mail_body))
        self.assertNotIn("Goods damaged", str(wizard.mail_body))

    def test_log_read_in_the_readers_language(self):
        """A log written by a user working in Chinese reads in English for an English reviewer,
        and in Chinese for a Chinese one: its words are rendered when read."""
        order = self.paid_delivered_order()[0]
        (
            self.env["sale.order.cancel.reconciled"]
            .with_context(lang="zh_CN", active_model="sale.order", active_ids=order.ids)
            .create({"payment_action": "refund"})
            .action_confirm()
        )
        log = order.cancel_reconciled_log_ids
        english = log.with_context(lang="en_US")
        self.assertEqual(english.name, f"Cancellation of {order.name}")
        self.assertIn("unreconciled from", english.line_ids.filtered(lambda line: line.kind == "unreconcile").name)
        self.assertIn("refunds", english.line_ids.filtered(lambda line: line.kind == "payment_refund").name)
        chinese = log.with_context(lang="zh_CN")
        self.assertEqual(chinese.name, f"{order.name} 的取消记录")
        self.assertNotIn("unreconciled", chinese.line_ids.filtered(lambda line: line.kind == "unreconcile").name)
        self.assertEqual(self.env["sale.order.cancel.reconciled.log"].search([("name", "ilike", order.name)]), log)

    def test_background_batch_speaks_the_language_of_who_started_it(self):
        """The scheduled action runs in no one's language: a failed order's reason and the
        message at the end are in the language of the user who started the batch."""
        member = self.new_user(
            "i18n_batch_member",
            "sales_team.group_sale_salesman_all_leads,order_cancel_reconciled.group_cancel_reconciled",
        )
        member.lang = "zh_CN"
        self.env.company.cancel_reconciled_background_from = 1
        bad = self.create_order()
        self.invoice(bad, post=False)
        good = self.create_order()
        self.pay(self.invoice(good))
        batch = (bad | good).with_user(member).cancel_reconciled_in_background().sudo()
        lines = self.env["sale.order.cancel.reconciled.batch.line"].with_context(lang="en_US")
        while lines._cron_process():
            pass
        failed = batch.line_ids.filtered(lambda line: line.state == "failed")
        self.assertEqual(failed.error, f"{bad.name} 没有需要撤销的已过账发票：请使用标准的“取消”按钮取消订单。")
        self.assertIn("批次", batch.message_ids[0].body)

    def test_every_string_has_its_translations(self):
        """A string added to the code, a view or the data without its Chinese (or French)
        translation fails here, whether or not the .pot was exported again."""
        for lang in ("zh_CN", "fr"):
            with self.subTest(lang=lang):
                self.assertEqual(untranslated_terms(self.env, "order_cancel_reconciled", lang), [])

    def test_the_dialogs_view_and_preview_read_in_chinese(self):
        """The terms of views and templates load with their records (a translation without its
        view in the .po file loads nothing): the dialog's words in Chinese, not only its fields."""
        dialog = self.env["sale.order.cancel.reconciled"].with_context(lang="zh_CN")
        arch = dialog.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn("这些订单已有过账发票", arch, "the banner shown when Odoo's Cancel opens the dialog")
        order = self.paid_delivered_order()[0]
        wizard = dialog.create({"order_ids": [Command.set(order.ids)], "payment_action": "refund"})
        self.assertIn("通过付款单手工退款给客户", str(wizard.preview_html))
        self.assertNotIn("refunded to the customer", str(wizard.preview_html))
