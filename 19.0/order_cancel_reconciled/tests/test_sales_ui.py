from odoo.exceptions import UserError
from odoo.tests import Form, new_test_user, tagged

from .common import CancelReconciledCommon


@tagged("post_install", "-at_install")
class TestSalesUi(CancelReconciledCommon):
    """The path a salesperson takes: find the order, see the impact, confirm, tell the customer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.paid, cls.paid_invoice, cls.paid_payment = cls.paid_delivered_order()
        cls.partly = cls.create_order()
        cls.pay(cls.invoice(cls.partly), amount=50.0)
        cls.unpaid = cls.create_order()
        cls.invoice(cls.unpaid)
        cls.not_invoiced = cls.create_order()
        cls.orders = cls.paid | cls.partly | cls.unpaid | cls.not_invoiced

    def wizard_form(self, orders):
        return Form(
            self.env["sale.order.cancel.reconciled"].with_context(
                active_model="sale.order",
                active_ids=orders.ids,
                # The dialog asks for a reason (test_what_people_see); these tests are about the rest.
                default_reason_id=self.env.ref("order_cancel_reconciled.reason_customer_request").id,
            )
        )

    def test_payment_status_and_filters(self):
        self.assertEqual(self.orders.mapped("invoice_payment_status"), ["paid", "partial", "not_paid", False])
        search = self.env["sale.order"].search
        scope = [("id", "in", self.orders.ids)]
        self.assertEqual(search([*scope, ("invoice_payment_status", "=", "paid")]), self.paid)
        self.assertEqual(search([*scope, ("invoice_payment_status", "=", "partial")]), self.partly)
        self.assertEqual(search([*scope, ("invoice_payment_status", "=", "not_paid")]), self.unpaid)
        self.assertEqual(search([*scope, ("invoice_payment_status", "=", "reconciled")]), self.paid | self.partly)
        view = self.env.ref("order_cancel_reconciled.sale_order_view_search_inherit_cancel_reconciled")
        for name in ("invoice_paid", "invoice_partly_paid", "invoice_reconciled"):
            self.assertIn(f'name="{name}"', view.arch)

    def test_standard_cancel_leads_members_to_the_wizard(self):
        action = self.paid.with_context(order_cancel_reconciled_from_button=True).action_cancel()
        self.assertEqual(action["res_model"], "sale.order.cancel.reconciled")
        self.assertEqual(action["context"]["default_order_ids"], self.paid.ids)
        self.assertEqual(self.paid.state, "sale")

    def test_standard_cancel_tells_non_members_who_can(self):
        salesman = new_test_user(self.env, "ui_salesman", groups="sales_team.group_sale_salesman_all_leads")
        with self.assertRaisesRegex(
            UserError, "Only members of “Cancel reconciled orders” can do this. Who to ask: .+"
        ):
            self.paid.with_user(salesman).with_context(order_cancel_reconciled_from_button=True).action_cancel()
        self.assertEqual(self.paid.state, "sale")

    def test_standard_cancel_unchanged_without_posted_invoice(self):
        # Odoo 19 cancels at once (no cancel dialog): orders without posted invoices as before.
        self.not_invoiced.action_cancel()
        self.assertEqual(self.not_invoiced.state, "cancel")
        quotation = self.create_order(confirm=False)
        quotation.action_cancel()
        self.assertEqual(quotation.state, "cancel")

    def test_preview_shows_the_impact(self):
        form = self.wizard_form(self.paid)
        preview = str(form.preview_html)
        self.assertIn(self.paid.name, preview)
        self.assertIn(f"of {self.paid_payment.display_name}", preview)
        self.assertIn(f"{self.paid_invoice.name}", preview)
        self.assertIn("reversed by a credit note dated", preview)
        self.assertIn("return prepared for the warehouse (2 Units Storable A)", preview)
        self.assertIn("kept as customer credit", preview)
        # The customer still owes 350 on the other orders; the freed 200 is credit against it.
        self.assertIn(
            "Customer balance after: <strong>$\xa0150.00 owed by the customer</strong>",
            preview.replace("&nbsp;", "\xa0"),
        )
        self.assertFalse(form.is_blocked)

    def test_options_change_the_preview_live(self):
        form = self.wizard_form(self.paid)
        form.payment_action = "refund"
        form.invoice_action = "cancel"
        form.stock_action = "return_validate"
        preview = str(form.preview_html).replace("&nbsp;", "\xa0")
        self.assertIn("refunded to the customer", preview)
        self.assertIn("reset to draft and cancelled", preview)
        self.assertIn("returned and validated now", preview)
        self.assertIn("Customer balance after: <strong>$\xa0350.00 owed by the customer</strong>", preview)

    def test_preview_warns_and_blocks(self):
        self.company_data["default_journal_sale"].restrict_mode_hash_table = True
        form = self.wizard_form(self.paid)
        self.assertIn("hash-protected journal", str(form.preview_html))
        form.invoice_action = "cancel"
        self.assertTrue(form.is_blocked)
        self.assertIn("cannot be cancelled", str(form.preview_html))

    def test_preview_shows_shared_payment_and_serials(self):
        other = self.create_order([(self.product_b, 1.0)])
        first = self.create_order()
        invoices = self.invoice(first) | self.invoice(other)
        self.pay_together(invoices)
        form = self.wizard_form(first)
        self.assertIn(f"it also pays {invoices[1].display_name}", str(form.preview_html))

    def test_notify_customer_with_an_edited_message(self):
        self.customer.email = "customer@example.com"
        form = self.wizard_form(self.paid)
        form.notify_customer = True
        form.payment_action = "refund"
        self.assertIn("refunded to you", str(form.mail_body))
        form.mail_body = "<p>We are sorry: your money is on its way back.</p>"
        wizard = form.save()
        wizard.action_confirm()
        message = self.paid.message_ids.filtered(lambda m: m.message_type == "comment")[:1]
        self.assertIn("your money is on its way back", str(message.body))
        self.assertIn(self.customer, message.partner_ids)
        self.assertIn(self.paid.name, message.subject)

    def test_batch_from_the_list(self):
        action = self.env.ref("order_cancel_reconciled.sale_order_cancel_reconciled_action")
        self.assertEqual(action.binding_model_id.model, "sale.order")
        orders = self.paid | self.partly
        form = self.wizard_form(orders)
        self.assertIn(self.paid.name, str(form.preview_html))
        self.assertIn(self.partly.name, str(form.preview_html))
        result = form.save().action_confirm()
        logs = self.env["sale.order.cancel.reconciled.log"].search(result["domain"])
        self.assertEqual(logs.order_id, orders)
        self.assertEqual(set(orders.mapped("state")), {"cancel"})

    def test_company_defaults(self):
        settings = self.env["res.config.settings"].create(
            {"cancel_reconciled_payment_action": "refund", "cancel_reconciled_stock_action": "return_validate"}
        )
        settings.execute()
        form = self.wizard_form(self.paid)
        self.assertEqual(
            (form.invoice_action, form.payment_action, form.stock_action), ("reverse", "refund", "return_validate")
        )

    def test_form_button_visibility(self):
        arch = self.env["sale.order"].get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="action_cancel_reconciled"', arch)
        self.assertIn("invoice_payment_status", arch)
        salesman = new_test_user(self.env, "ui_salesman2", groups="sales_team.group_sale_salesman_all_leads")
        arch = self.env["sale.order"].with_user(salesman).get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertNotIn('name="action_cancel_reconciled"', arch)

    def test_batch_preview_sums_up_and_lets_blocked_orders_go(self):
        second_paid = self.paid_delivered_order()[0]
        quotation = self.create_order(confirm=False)
        wizard = self.wizard_form(self.paid | second_paid | quotation)
        wizard.payment_action = "refund"
        wizard = wizard.save()
        preview = str(wizard.preview_html).replace("&nbsp;", "\xa0")
        self.assertIn("<strong>2</strong> of 3 orders ready to cancel.", preview)
        self.assertRegex(
            preview, rf"(?s)o_preview_blocked.*<strong>{quotation.name}</strong>: {quotation.name} is a quotation"
        )
        self.assertIn("Money to refund: <strong>$\xa0400.00</strong>", preview)
        self.assertIn("Units of goods to return: <strong>4</strong>", preview)
        # One balance for the customer, the whole run counted: 350 still owed on the other orders.
        self.assertEqual(preview.count("o_preview_customer_balance"), 1)
        self.assertIn("Cancelling Customer: <strong>$\xa0350.00 owed by the customer</strong>", preview)
        self.assertNotIn("o_preview_balance", preview)
        self.assertTrue(wizard.is_blocked)
        self.assertTrue(wizard.can_remove_blocked)

        action = wizard.action_remove_blocked_orders()
        self.assertEqual((action["res_model"], action["res_id"]), (wizard._name, wizard.id))
        self.assertEqual(wizard.order_ids, self.paid | second_paid)
        self.assertFalse(wizard.is_blocked)
        wizard.action_confirm()
        self.assertEqual((self.paid | second_paid | quotation).mapped("state"), ["cancel", "cancel", "draft"])

    def test_confirmation_buttons_say_what_they_do(self):
        arch = self.env["sale.order.cancel.reconciled"].get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('confirm-label="Cancel the orders"', arch)
        self.assertIn('cancel-label="Keep them"', arch)

    def test_refund_or_reorder(self):
        """A cancelled order can be ordered again: set back to quotation and run through, or
        copied from its log; the earlier log, credit note and return stay as they were."""
        logs, _action = self.cancel(self.paid, payment_action="refund", stock_action="return_validate")
        credit_note = logs.line_ids.filtered(lambda line: line.kind == "credit_note").result_move_id
        return_picking = logs.line_ids.filtered(lambda line: line.kind == "picking_return").result_picking_id
        kept = (credit_note.state, credit_note.amount_total, return_picking.state, len(logs.line_ids))

        self.paid.action_draft()
        self.paid.action_confirm()
        self.deliver(self.paid)
        invoice = self.invoice(self.paid)
        self.assertAlmostEqual(invoice.amount_total, 200.0, msg="invoiced again in full")
        self.assertEqual(self.paid.order_line.qty_delivered, 2.0)
        self.assertEqual((credit_note.state, credit_note.amount_total, return_picking.state, len(logs.line_ids)), kept)
        self.assertEqual(self.paid.cancel_reconciled_log_ids, logs)

        action = logs.action_reorder()
        quotation = self.env["sale.order"].browse(action["res_id"])
        self.assertEqual(quotation.state, "draft")
        self.assertEqual(quotation.partner_id, self.paid.partner_id)
        self.assertEqual(
            [(line.product_id, line.product_uom_qty) for line in quotation.order_line],
            [(line.product_id, line.product_uom_qty) for line in self.paid.order_line],
        )
        self.assertEqual(quotation.origin, self.paid.name)
