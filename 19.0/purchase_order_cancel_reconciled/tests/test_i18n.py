import re

import polib

from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools.misc import file_path

from odoo.addons.order_cancel_reconciled.tests.translations import untranslated_terms

from .common import PurchaseCancelCommon


@tagged("post_install", "-at_install")
class TestPurchaseI18n(PurchaseCancelCommon):
    """A Chinese or French buyer sees the purchase dialog, its preview and its refusals in their language."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for code in ("zh_CN", "fr_FR"):
            cls.env["res.lang"]._activate_lang(code)
        # The preview's template is the sales addon's: its vendor words are in its files.
        cls.env["ir.module.module"]._load_module_terms(
            ["order_cancel_reconciled", "purchase_order_cancel_reconciled"], ["zh_CN", "fr_FR"], overwrite=True
        )

    def open_wizard(self, orders, lang):
        """The dialog as the Cancel Reconciled Purchase Orders action opens it, for a user of that language."""
        return (
            self.env["purchase.order.cancel.reconciled"]
            .with_context(lang=lang, active_model="purchase.order", active_ids=orders.ids)
            .create({})
        )

    def dialog_options(self, lang):
        return (
            self.env["purchase.order.cancel.reconciled"]
            .with_context(lang=lang)
            .fields_get(["invoice_action", "payment_action", "stock_action"], ["string", "selection"])
        )

    def test_dialog_options_in_chinese(self):
        self.assertEqual(
            self.dialog_options("zh_CN"),
            {
                "invoice_action": {
                    "string": "供应商账单",
                    "selection": [("reverse", "用供应商贷项通知单冲销"), ("cancel", "重置为草稿并取消")],
                },
                "payment_action": {
                    "string": "付款",
                    "selection": [("keep", "保留为供应商预付款"), ("cancel", "取消付款"), ("refund", "由供应商退款")],
                },
                "stock_action": {
                    "string": "已收货商品",
                    "selection": [
                        ("return", "准备退货给供应商"),
                        ("return_validate", "退货给供应商并立即验证"),
                        ("none", "保持收货单不变"),
                    ],
                },
            },
        )

    def test_dialog_options_in_french(self):
        options = self.dialog_options("fr_FR")
        self.assertEqual(options["invoice_action"]["string"], "Factures fournisseurs")
        self.assertEqual(
            options["payment_action"]["selection"],
            [
                ("keep", "Conserver en crédit fournisseur"),
                ("cancel", "Annuler le paiement"),
                ("refund", "Se faire rembourser par le fournisseur"),
            ],
        )

    def test_preview_in_chinese(self):
        order, bill, payment = self.paid_received_po()
        preview = str(self.open_wizard(order, "zh_CN").preview_html)
        self.assertIn("保留为供应商预付款", preview, "kept as vendor credit")
        # The vendor's balance after says in words which way it is owed: the kept payment is owed by the vendor.
        self.assertIn("取消后的供应商余额：", preview, "Vendor balance after:")
        self.assertIn("供应商欠我方", preview, "owed by the vendor")
        self.assertNotIn("（应付）", preview, "the former label's “(payable)”")
        for english in (
            "kept as vendor credit",
            "Vendor balance after",
            "owed by the vendor",
            "owed to the vendor",
            "nothing owed",
            "Unreconcile",
            "Customer balance after",
            "return prepared",
            "credit note",
        ):
            self.assertNotIn(english, preview)
        # Only the documents' own names stay as they are: no English word of the preview's text is left.
        text = re.sub(r"<[^>]*>", " ", preview)
        names = [
            order.name,
            order.partner_id.display_name,
            bill.name,
            payment.name,
            *order.picking_ids.mapped("name"),
            *order.order_line.product_id.mapped("display_name"),
            *order.order_line.product_uom_id.mapped("name"),
            *order.order_line.product_uom_id.with_context(lang="zh_CN").mapped("name"),
        ]
        for name in sorted(names, key=len, reverse=True):
            text = text.replace(name, " ")
        self.assertFalse(re.findall(r"[A-Za-z]{2,}", text), text)

    def test_refusal_in_chinese(self):
        order, _bill, _payment = self.paid_received_po()
        buyer = self.new_user("zh_buyer", "purchase.group_purchase_user")
        buyer.lang = "zh_CN"
        # A request of the buyer runs in the language of their preferences.
        with self.assertRaises(AccessError) as refusal:
            order.with_user(buyer).with_context(lang=buyer.lang).cancel_reconciled()
        self.assertEqual(
            refusal.exception.args[0],
            "只有“取消已付款采购订单”组的成员才能取消供应商账单已过账或已付款的采购订单。请联系管理员将您加入该组。",
        )
        self.assertEqual(order.state, "purchase")

    def test_every_term_is_translated(self):
        pot = polib.pofile(file_path("purchase_order_cancel_reconciled/i18n/purchase_order_cancel_reconciled.pot"))
        self.assertTrue(pot, "the template lists the addon's terms")
        for lang in ("zh_CN", "fr"):
            po = polib.pofile(file_path(f"purchase_order_cancel_reconciled/i18n/{lang}.po"))
            translations = {entry.msgid: entry.msgstr for entry in po if not entry.obsolete and not entry.fuzzy}
            untranslated = [entry.msgid for entry in pot if not translations.get(entry.msgid)]
            self.assertFalse(untranslated, f"{lang}.po leaves these terms untranslated")

    def test_every_string_has_its_translations(self):
        """Read from the code, views and data, not from the .pot: a new string without its
        translations fails here."""
        for lang in ("zh_CN", "fr"):
            with self.subTest(lang=lang):
                self.assertEqual(untranslated_terms(self.env, "purchase_order_cancel_reconciled", lang), [])
