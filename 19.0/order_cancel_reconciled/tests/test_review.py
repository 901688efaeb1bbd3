import re
import shutil
import subprocess

from odoo import SUPERUSER_ID, Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, HttpCase, new_test_user, tagged

from .common import CancelReconciledCommon


@tagged("post_install", "-at_install")
class TestReview(CancelReconciledCommon):
    """Accountants see, check and sign off what a cancellation did."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.order, cls.invoice, cls.payment = cls.paid_delivered_order()
        wizard = cls.env["sale.order.cancel.reconciled"].create(
            {"order_ids": [Command.set(cls.order.ids)], "payment_action": "refund", "note": "Audit me"}
        )
        wizard.action_confirm()
        cls.log = cls.order.cancel_reconciled_log_ids

    def test_views_load(self):
        views = self.env["sale.order.cancel.reconciled.log"].get_views(
            [(False, kind) for kind in ("list", "form", "search", "pivot", "graph")]
        )
        self.assertEqual(set(views["views"]), {"list", "form", "search", "pivot", "graph"})

    def test_form_shows_effects_grouped_by_kind(self):
        form = Form(self.log)
        self.assertEqual(form.order_id, self.order)
        self.assertEqual(form.payment_action, "refund")
        self.assertEqual(len(form.unreconcile_line_ids), 1)
        self.assertEqual(len(form.invoice_line_ids), 1)
        self.assertEqual(len(form.payment_line_ids), 1)
        self.assertEqual(len(form.picking_line_ids), 1)

    def test_mark_reviewed_and_reset(self):
        self.log.action_mark_reviewed()
        self.assertRecordValues(self.log, [{"state": "reviewed", "reviewer_id": self.env.uid}])
        self.assertTrue(self.log.review_date)
        self.assertIn("Reviewed by", str(self.log.message_ids[:1].body))
        with self.assertRaisesRegex(UserError, "Already reviewed"):
            self.log.action_mark_reviewed()
        self.log.action_reset_to_review()
        self.assertRecordValues(self.log, [{"state": "to_review", "reviewer_id": False, "review_date": False}])

    def test_journal_items_of_the_log(self):
        action = self.log.action_open_journal_items()
        lines = self.env["account.move.line"].search(action["domain"])
        self.assertLessEqual(self.invoice | self.invoice.reversal_move_ids | self.payment.move_id, lines.move_id)

    def test_documents_link_to_their_log(self):
        refund = self.log.payment_line_ids.result_payment_id
        for record in (self.order, self.invoice, self.invoice.reversal_move_ids, self.payment, refund):
            self.assertEqual(record.cancel_reconciled_log_count, 1, record.display_name)
            action = record.action_open_cancel_reconciled_logs()
            self.assertEqual(action["res_id"], self.log.id)

    def test_export_from_the_list(self):
        rows = self.log.export_data(["order_id", "partner_id", "amount_reversed", "state"])["datas"]
        self.assertEqual(rows[0][0], self.order.name)

    def test_analysis_by_reason_and_month(self):
        groups = self.env["sale.order.cancel.reconciled.log"].formatted_read_group(
            [], ["reason_id", "date:month"], ["__count", "amount_reversed:sum"]
        )
        self.assertEqual(sum(group["__count"] for group in groups), 1)
        self.assertAlmostEqual(sum(group["amount_reversed:sum"] for group in groups), 200.0)


@tagged("post_install", "-at_install")
class TestReviewPdf(CancelReconciledCommon, HttpCase):
    """The PDF summary for the audit file: wkhtmltopdf fetches the report's assets over HTTP."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.order = cls.paid_delivered_order()[0]
        wizard = cls.env["sale.order.cancel.reconciled"].create(
            {"order_ids": [Command.set(cls.order.ids)], "note": "Audit me"}
        )
        wizard.action_confirm()
        cls.log = cls.order.cancel_reconciled_log_ids

    def test_pdf_summary(self):
        pdf, report_type = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf("order_cancel_reconciled.action_report_cancel_reconciled_log", self.log.ids)
        )
        self.assertEqual(report_type, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        html = self.env["ir.actions.report"]._render_qweb_html(
            "order_cancel_reconciled.action_report_cancel_reconciled_log", self.log.ids
        )[0]
        self.assertIn(self.order.name, html.decode())
        self.assertIn("Audit me", html.decode())

    def test_chinese_pdf_summary_prints_chinese(self):
        """A reviewer working in Chinese prints the summary in Chinese, with a CJK font (the set-up
        installs one for wkhtmltopdf); the text is read back from the PDF."""
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["order_cancel_reconciled"], ["zh_CN"], overwrite=True)
        pdf, _report_type = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True, lang="zh_CN")
            ._render_qweb_pdf("order_cancel_reconciled.action_report_cancel_reconciled_log", self.log.ids)
        )
        pdftotext = shutil.which("pdftotext")
        self.assertTrue(pdftotext, "pdftotext (Debian package poppler-utils) is installed by the set-up")
        text = subprocess.run([pdftotext, "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
        # Latin text is drawn with the report's web font, whose glyphs pdftotext cannot map back;
        # the Chinese words come from the system's CJK font and read back as text.
        self.assertIn("的取消记录", text, "the title, in Chinese")
        self.assertIn("审核", text, "the review state's label, in Chinese")


@tagged("post_install", "-at_install")
class TestRoleMatrix(CancelReconciledCommon):
    """Each cell of the role matrix, enforced on the server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        common = {"company_id": company.id, "company_ids": [Command.set(company.ids)]}
        cls.salesman = new_test_user(cls.env, "m_salesman", groups="sales_team.group_sale_salesman_all_leads", **common)
        cls.member = new_test_user(
            cls.env,
            "m_member",
            groups="sales_team.group_sale_salesman_all_leads,order_cancel_reconciled.group_cancel_reconciled",
            **common,
        )
        cls.other_member = new_test_user(
            cls.env,
            "m_other_member",
            groups="sales_team.group_sale_salesman_all_leads,order_cancel_reconciled.group_cancel_reconciled",
            **common,
        )
        cls.billing = new_test_user(cls.env, "m_billing", groups="account.group_account_invoice", **common)
        cls.billing_admin = new_test_user(cls.env, "m_billing_admin", groups="account.group_account_manager", **common)
        other_company = cls.setup_other_company()["company"]
        cls.company_b_user = new_test_user(
            cls.env,
            "m_company_b",
            groups="account.group_account_manager,order_cancel_reconciled.group_cancel_reconciled",
            company_id=other_company.id,
            company_ids=[Command.set(other_company.ids)],
        )
        cls.own_log = cls.cancel_as(cls.member, cls.paid_delivered_order()[0])
        cls.others_log = cls.cancel_as(cls.other_member, cls.paid_delivered_order()[0])
        cls.logs = cls.own_log | cls.others_log

    @classmethod
    def cancel_as(cls, user, order):
        wizard = cls.env["sale.order.cancel.reconciled"].with_user(user).create({"order_ids": [Command.set(order.ids)]})
        wizard.action_confirm()
        return order.cancel_reconciled_log_ids

    def run_cancellation(self, user):
        order = self.paid_delivered_order()[0]
        self.cancel_as(user, order)
        return order.state

    def visible_logs(self, user):
        return self.env["sale.order.cancel.reconciled.log"].with_user(user).search([])

    # run a cancellation

    def test_run(self):
        self.assertEqual(self.run_cancellation(self.member), "cancel")
        for user in (self.salesman, self.billing, self.billing_admin):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.run_cancellation(user)
        self.billing_admin.group_ids |= self.env.ref("order_cancel_reconciled.group_cancel_reconciled") | self.env.ref(
            "sales_team.group_sale_salesman_all_leads"
        )
        self.assertEqual(self.run_cancellation(self.billing_admin), "cancel")

    # see logs

    def test_see_logs(self):
        with self.assertRaises(AccessError):
            self.visible_logs(self.salesman)
        self.assertEqual(self.visible_logs(self.member), self.own_log)
        with self.assertRaises(AccessError):
            self.others_log.with_user(self.member).read(["state"])
        self.assertEqual(self.visible_logs(self.billing), self.logs)
        self.assertEqual(self.visible_logs(self.billing_admin), self.logs)
        self.assertFalse(self.visible_logs(self.company_b_user))
        with self.assertRaises(AccessError):
            self.own_log.with_user(self.company_b_user).read(["state"])
        with self.assertRaises(AccessError):
            self.own_log.line_ids.with_user(self.company_b_user).read(["amount"])

    def test_members_see_the_logs_of_the_scheduled_actions(self):
        # The scheduled actions run as OdooBot: the cancellations of requests the rules approved.
        engine = self.env["order.cancel.reconciled.engine"].with_user(SUPERUSER_ID)
        order = self.paid_delivered_order()[0]
        system_log = engine._run(order.with_user(SUPERUSER_ID), engine._prepare_options(self.env.company))
        self.assertEqual(system_log.user_id.id, SUPERUSER_ID)
        self.assertEqual(self.visible_logs(self.member), self.own_log | system_log)
        self.assertTrue(system_log.line_ids.with_user(self.member).read(["name"]))
        with self.assertRaises(AccessError):
            self.others_log.with_user(self.member).read(["state"])
        self.assertFalse(system_log.with_user(self.company_b_user).search([("id", "=", system_log.id)]))

    def test_readers_without_accounting_rights_get_names_not_broken_links(self):
        self.assertFalse(self.member.has_group("account.group_account_invoice"))
        log_model = self.env["sale.order.cancel.reconciled.log"]
        for user, linked in ((self.member, False), (self.billing, True)):
            arch = log_model.with_user(user).get_views([(False, "form")])["views"]["form"]["arch"]
            for name in ("payment_id", "invoice_id", "counterpart_move_id", "result_payment_id"):
                with self.subTest(user=user.login, field=name):
                    fields = re.findall(rf'<field name="{name}"[^>]*>', arch)
                    self.assertTrue(fields)
                    self.assertEqual(all("no_open" not in field for field in fields), linked)

    # mark reviewed, reset to review

    def test_mark_reviewed(self):
        for user in (self.salesman, self.member, self.billing, self.company_b_user):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.own_log.with_user(user).action_mark_reviewed()
        self.assertEqual(self.own_log.state, "to_review")
        self.own_log.with_user(self.billing_admin).action_mark_reviewed()
        self.assertEqual(self.own_log.reviewer_id, self.billing_admin)

    def test_reset_to_review(self):
        self.logs.with_user(self.billing_admin).action_mark_reviewed()
        for user in (self.salesman, self.member, self.billing, self.company_b_user):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.own_log.with_user(user).action_reset_to_review()
        self.own_log.with_user(self.billing_admin).action_reset_to_review()
        self.assertEqual(self.own_log.state, "to_review")

    # configure reasons

    def test_configure_reasons(self):
        reason = self.env.ref("order_cancel_reconciled.reason_damaged")
        for user in (self.salesman, self.member, self.billing):
            with self.subTest(user=user.login):
                self.assertTrue(reason.with_user(user).name)
                with self.assertRaises(AccessError):
                    reason.with_user(user).write({"name": "Changed"})
                with self.assertRaises(AccessError):
                    self.env["sale.order.cancel.reconciled.reason"].with_user(user).create({"name": "New"})
        new_reason = (
            self.env["sale.order.cancel.reconciled.reason"]
            .with_user(self.billing_admin)
            .create({"name": "Fraud suspected"})
        )
        new_reason.with_user(self.billing_admin).write({"active": False})

    # logs are read-only for everyone

    def test_logs_cannot_be_edited_or_deleted(self):
        for user in (self.member, self.billing, self.billing_admin):
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    self.own_log.with_user(user).write({"note": "rewritten"})
                with self.assertRaises(AccessError):
                    self.own_log.with_user(user).unlink()
                with self.assertRaises(AccessError):
                    self.own_log.line_ids.with_user(user).unlink()
        self.assertTrue(self.own_log.exists())

    def test_accountant_can_comment_on_a_log(self):
        self.own_log.with_user(self.billing).message_post(body="Checked against the bank statement.")
        self.assertEqual(self.own_log.message_ids[:1].author_id, self.billing.partner_id)
