"""The engine as a model of its own: driven without the wizard, extended by another addon, its
preview and its refusals reading the same findings, nothing of it callable over RPC."""

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.orm.model_classes import add_to_registry
from odoo.service.model import get_public_method
from odoo.tests import tagged

from .common import CancelReconciledCommon

ENGINE = "order.cancel.reconciled.engine"


@tagged("post_install", "-at_install")
class TestEngineModel(CancelReconciledCommon):
    def engine_options(self, **vals):
        return self.env[ENGINE]._prepare_options(self.env.company, **vals)

    def test_engine_runs_without_the_wizard(self):
        order, invoice, payment = self.paid_delivered_order()
        dialogs = self.env["sale.order.cancel.reconciled"].search_count([])
        logs = self.env[ENGINE]._run(order, self.engine_options(payment_action="refund"))
        self.assertEqual(logs.order_id, order)
        self.assertEqual(order.state, "cancel")
        self.assertEqual(invoice.payment_state, "reversed")
        self.assertEqual(logs.line_ids.filtered(lambda line: line.kind == "payment_refund").payment_id, payment)
        self.assertEqual(self.env["sale.order.cancel.reconciled"].search_count([]), dialogs, "no dialog was created")
        self.assert_books(order.partner_id, "refund")

    def test_engine_checks_the_real_user(self):
        order = self.paid_delivered_order()[0]
        salesperson = self.new_user("engine_salesperson", "sales_team.group_sale_salesman_all_leads")
        engine = self.env[ENGINE].with_user(salesperson)
        with self.assertRaisesRegex(AccessError, "Only members of the group"):
            engine._run(order.with_user(salesperson), self.engine_options())
        self.assertEqual(order.state, "sale")

    def test_options_default_to_the_company_and_refuse_unknown_values(self):
        self.env.company.cancel_reconciled_payment_action = "refund"
        options = self.engine_options(stock_action="none")
        self.assertEqual(
            (options.invoice_action, options.payment_action, options.stock_action), ("reverse", "refund", "none")
        )
        with self.assertRaisesRegex(ValidationError, "payment_action must be one of"):
            self.engine_options(payment_action="give back")
        with self.assertRaisesRegex(ValidationError, "reason_id must be the id of a cancellation reason"):
            self.engine_options(reason_id=-4)

    def test_preview_and_refusal_read_the_same_findings(self):
        self.company_data["default_journal_sale"].restrict_mode_hash_table = True
        order, invoice, _payment = self.paid_delivered_order()
        engine = self.env[ENGINE]
        wizard = self.env["sale.order.cancel.reconciled"].create(
            {"order_ids": [Command.set(order.ids)], "invoice_action": "cancel"}
        )
        plan = engine._prepare_plans(order, wizard._prepare_options())[0]
        self.assertIn(f"Invoice {invoice.name} of {order.name} cannot be cancelled", plan.refusal)
        self.assertTrue(wizard.is_blocked)
        self.assertIn(plan.refusal.split("“")[0], str(wizard.preview_html))
        with self.assertRaises(UserError) as refusal:
            wizard.action_confirm()
        self.assertEqual(refusal.exception.args[0], plan.refusal)
        # The same fact is only a warning for a credit note, and nothing refuses the run then.
        wizard.invoice_action = "reverse"
        plan = engine._prepare_plans(order, wizard._prepare_options())[0]
        self.assertIsNone(plan.refusal)
        self.assertEqual(len(plan.warnings), 1)
        self.assertIn("hash-protected journal", plan.warnings[0])
        self.assertFalse(wizard.is_blocked)
        self.assertIn("hash-protected journal", str(wizard.preview_html))

    def test_steps_are_listed_in_order(self):
        names = [step.__name__ for step in self.env[ENGINE]._get_steps()]
        self.assertEqual(names[0], "_step_unreconcile_payments")
        self.assertLess(names.index("_step_settle_invoices"), names.index("_step_handle_payments"))
        self.assertLess(names.index("_step_cancel_order"), names.index("_step_return_delivered_goods"))

    def test_nothing_of_the_engine_is_callable_over_rpc(self):
        engine = self.env[ENGINE]
        ours = [cls for cls in type(engine).__mro__ if cls.__module__.startswith("odoo.addons.order_cancel_reconciled")]
        self.assertGreaterEqual(len(ours), 5, "the engine's files")
        public = [name for cls in ours for name in vars(cls) if not name.startswith("_")]
        self.assertEqual(public, [], "the engine adds no public method")
        for name in ("_run", "_prepare_plans", "_step_handle_payments"):
            with self.assertRaises(AccessError):
                get_public_method(engine, name)


@tagged("post_install", "-at_install")
class TestEngineExtension(CancelReconciledCommon):
    """Another addon adds a step by inheriting the engine."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from .fake_extension import OrderCancelReconciledEngine

        cls.extend_registry(OrderCancelReconciledEngine)

    @classmethod
    def extend_registry(cls, model_def):
        """Add the extension to the registry for this class's tests, as loading another addon
        would (Odoo 19's own way: odoo-test-helper's loader does not load on 19); the cleanup
        gives the model its bases back."""
        registry = cls.env.registry
        name = model_def._name
        model_cls = registry[name]
        bases = model_cls._base_classes__

        def restore():
            model_cls._base_classes__ = bases
            for model_name in registry.descendants([name], "_inherit", "_inherits"):
                registry[model_name]._setup_done__ = False
            registry._setup_models__(cls.env.cr, [name])

        cls.addClassCleanup(restore)
        add_to_registry(registry, model_def)
        registry._setup_models__(cls.env.cr, [name])

    def test_extension_step_runs_in_place(self):
        order = self.paid_delivered_order()[0]
        logs, _action = self.cancel(order, note="Customer called. ")
        self.assertEqual(
            logs.note,
            f"Customer called. Linked documents of {order.name} cancelled "
            "(order state: cancel; log: unreconcile, credit_note).",
        )

    def test_extension_step_failure_rolls_back(self):
        order, invoice, _payment = self.paid_delivered_order()
        order.client_order_ref = "fail in extension"
        before = self.snapshot(order)
        with self.assertRaisesRegex(UserError, "linked purchase order is already received"):
            self.cancel(order)
        self.assertEqual(self.snapshot(order), before)
        self.assertEqual(invoice.payment_state, "paid")
