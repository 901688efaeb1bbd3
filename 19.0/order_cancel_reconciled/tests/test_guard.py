import json
import re
from datetime import timedelta
from pathlib import Path

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.service.model import call_kw
from odoo.tests import HttpCase, get_db_name, tagged

from .common import CancelReconciledCommon

FROM_BUTTON = {"order_cancel_reconciled_from_button": True}
# The context key of 18.0.2.0.0 that lifted the guard: it lifts nothing now.
PLAIN_CANCEL = {"order_cancel_reconciled_plain_cancel": True}
NAMES_THE_API = r"sale\.order\.cancel_reconciled\(\), as a member of “Cancel reconciled orders”\.$"
ASK_A_MEMBER = "Only members of “Cancel reconciled orders” can do this. Who to ask: .+"
NOT_VISIBLE = "These sale orders do not exist or you may not access them"
MEMBER = "order_cancel_reconciled.group_cancel_reconciled"


@tagged("post_install", "-at_install")
class TestGuardOnEveryPath(CancelReconciledCommon):
    """Every path that cancels a confirmed order with posted invoices runs the full cancellation or
    says clearly why not; nobody sees or touches through the addon what is not theirs."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = cls.new_user("guard_salesman", "sales_team.group_sale_salesman_all_leads")
        cls.member = cls.new_user(
            "guard_member", "order_cancel_reconciled.group_cancel_reconciled,sales_team.group_sale_salesman_all_leads"
        )
        cls.order, cls.invoice_, cls.payment = cls.paid_delivered_order()

    def assert_untouched(self, orders, attempt, error=UserError, message=None):
        """The attempt is refused with `error` (matching `message`) and changes nothing."""
        before = self.snapshot(orders)
        with self.assertRaises(error) as caught:
            attempt()
        if message:
            self.assertRegex(str(caught.exception.args[0]), message)
        self.assertEqual(self.snapshot(orders), before, "the database is exactly as before")
        self.assertEqual(orders.mapped("state"), ["sale"] * len(orders))
        return caught.exception

    def call_rpc(self, user, model, method, args, kwargs=None):
        """What XML-RPC/JSON-RPC execute_kw does for `user`."""
        result = call_kw(self.env[model].with_user(user), method, args, kwargs or {})
        self.env.flush_all()
        return result

    # -- the paths that cancelled around the addon ----------------------------------------------

    def test_mass_cancel_by_a_non_member_is_refused(self):
        mass = self.env["sale.mass.cancel.orders"].with_user(self.salesman)
        wizard = mass.with_context(active_ids=self.order.ids).create({})
        self.assert_untouched(self.order, wizard.with_context(**FROM_BUTTON).action_mass_cancel, message=ASK_A_MEMBER)
        self.assert_untouched(self.order, wizard.action_mass_cancel, message=NAMES_THE_API)

    def test_mass_cancel_over_rpc_is_refused(self):
        wizard_id = self.call_rpc(
            self.salesman, "sale.mass.cancel.orders", "create", [{"sale_order_ids": [Command.set(self.order.ids)]}]
        )
        self.assert_untouched(
            self.order,
            lambda: self.call_rpc(self.salesman, "sale.mass.cancel.orders", "action_mass_cancel", [[wizard_id]]),
            message=NAMES_THE_API,
        )

    def test_mass_cancel_leads_members_to_the_wizard_with_every_selected_order(self):
        quotation = self.create_order(confirm=False)
        selected = self.order | quotation
        wizard = (
            self.env["sale.mass.cancel.orders"].with_user(self.member).with_context(active_ids=selected.ids).create({})
        )
        action = wizard.with_context(**FROM_BUTTON).action_mass_cancel()
        self.assertEqual(action["res_model"], "sale.order.cancel.reconciled")
        self.assertEqual(action["context"]["default_order_ids"], selected.ids)
        self.assertEqual(selected.mapped("state"), ["sale", "draft"], "nothing cancelled before the member confirms")

    def test_mass_cancel_without_posted_invoices_is_unchanged(self):
        plain = self.create_order() | self.create_order(confirm=False)
        wizard = self.env["sale.mass.cancel.orders"].with_context(active_ids=plain.ids).create({})
        wizard.with_context(**FROM_BUTTON).action_mass_cancel()
        self.assertEqual(plain.mapped("state"), ["cancel", "cancel"])

    def test_write_of_state_is_refused(self):
        self.assert_untouched(
            self.order,
            lambda: self.call_rpc(self.salesman, "sale.order", "write", [self.order.ids, {"state": "cancel"}]),
            message=NAMES_THE_API,
        )
        self.assert_untouched(self.order, lambda: self.order.sudo().write({"state": "cancel"}), message=NAMES_THE_API)

    def test_action_cancel_from_code_raises_instead_of_returning_an_action(self):
        odoobot = self.env.ref("base.user_root")
        for caller in (self.order.with_user(odoobot), self.order.sudo(), self.order.with_user(self.member)):
            self.assert_untouched(self.order, caller.action_cancel, message=NAMES_THE_API)
            self.assert_untouched(self.order, caller._action_cancel, message=NAMES_THE_API)

    def test_views_mark_the_buttons_a_person_clicks(self):
        for xmlid, button in (
            ("order_cancel_reconciled.sale_order_view_form_inherit_cancel_reconciled", "action_cancel"),
            (
                "order_cancel_reconciled.sale_mass_cancel_orders_view_form_inherit_cancel_reconciled",
                "action_mass_cancel",
            ),
        ):
            view = self.env.ref(xmlid)
            arch = self.env[view.model].get_view(view.inherit_id.id)["arch"]
            self.assertRegex(arch, rf'name="{button}"[^>]*order_cancel_reconciled_from_button')

    def test_no_context_key_lifts_the_guard_only_elevated_server_code_cancels_plainly(self):
        for caller in (self.order, self.order.with_user(self.salesman), self.order.with_user(self.member)):
            keyed = caller.with_context(**PLAIN_CANCEL)
            self.assert_untouched(self.order, keyed.action_cancel, message=NAMES_THE_API)
            self.assert_untouched(self.order, keyed._action_cancel, message=NAMES_THE_API)
            self.assert_untouched(
                self.order, lambda keyed=keyed: keyed.write({"state": "cancel"}), message=NAMES_THE_API
            )
        self.assert_untouched(self.order, self.order._cancel_plain_elevated, error=AccessError)
        self.order.sudo()._cancel_plain_elevated()
        self.assertEqual(self.order.state, "cancel")
        self.assertEqual(self.invoice_.payment_state, self.env["account.move"]._get_invoice_in_payment_state())

    def test_leaving_sale_by_hand_is_refused_and_facts_guard_any_state(self):
        for state in ("draft", "sent"):
            for caller in (self.order.with_user(self.salesman), self.order.sudo()):
                self.assert_untouched(
                    self.order, lambda caller=caller, state=state: caller.write({"state": state}), message=NAMES_THE_API
                )
        # An order taken out of "sale" before this guard (or by a database script) is still
        # refused a plain cancel: its invoices are paid, whatever its state says.
        self.env.cr.execute("UPDATE sale_order SET state = 'draft' WHERE id = %s", [self.order.id])
        self.order.invalidate_recordset(["state"])
        for attempt in (self.order.with_user(self.salesman).action_cancel, self.order._action_cancel):
            with self.assertRaisesRegex(UserError, NAMES_THE_API):
                attempt()
        self.assertEqual(self.order.state, "draft")
        self.assertEqual(self.invoice_.payment_state, self.env["account.move"]._get_invoice_in_payment_state())

    def test_code_cancels_orders_with_unpaid_posted_invoices_as_odoo_does(self):
        # Odoo's own tests (sale_stock's test_08_sale_return_qty_and_cancel) cancel such orders
        # from code: only money matched with the invoices is guarded there.
        order = self.create_order()
        invoice = self.invoice(order)
        order._action_cancel()
        self.assertEqual(order.state, "cancel")
        self.assertEqual(invoice.state, "posted")
        partly_paid = self.create_order()
        self.pay(self.invoice(partly_paid), amount=10.0)
        self.assert_untouched(partly_paid, partly_paid._action_cancel, message=NAMES_THE_API)
        # A person clicking Cancel is still led to the full cancellation.
        unpaid = self.create_order()
        self.invoice(unpaid)
        action = unpaid.with_user(self.member).with_context(**FROM_BUTTON).action_cancel()
        self.assertEqual(action["res_model"], "sale.order.cancel.reconciled")

    def test_orders_without_posted_invoices_cancel_as_before(self):
        not_invoiced = self.create_order()
        with_draft_invoice = self.create_order()
        draft = self.invoice(with_draft_invoice, post=False)
        (not_invoiced | with_draft_invoice)._action_cancel()
        self.assertEqual((not_invoiced | with_draft_invoice).mapped("state"), ["cancel", "cancel"])
        self.assertEqual(draft.state, "cancel")

    # -- the server-side API ----------------------------------------------------------------------

    def test_api_cancels_fully_as_a_member(self):
        logs = self.order.with_user(self.member).cancel_reconciled(
            payment_action="refund", stock_action="return_validate"
        )
        self.assertEqual(logs.order_id, self.order)
        self.assertEqual(logs.payment_action, "refund")
        self.assertEqual(self.order.state, "cancel")
        self.assertEqual(self.invoice_.payment_state, "reversed")
        self.assertAlmostEqual(self.receivable_balance(), 0.0)
        self.assertAlmostEqual(self.on_hand(self.product_a), 100.0)

    def test_api_over_rpc_returns_log_ids_and_uses_company_defaults(self):
        self.env.company.cancel_reconciled_payment_action = "refund"
        log_ids = self.call_rpc(self.member, "sale.order", "cancel_reconciled", [self.order.ids], {"note": "by RPC"})
        logs = self.env["sale.order.cancel.reconciled.log"].browse(log_ids)
        self.assertIsInstance(log_ids, list)
        self.assertEqual(logs.mapped("payment_action"), ["refund"])
        self.assertEqual(logs.note, "by RPC")
        self.assertEqual(logs.user_id, self.member)

    def test_api_refuses_non_members_and_bad_options(self):
        self.assert_untouched(
            self.order, self.order.with_user(self.salesman).cancel_reconciled, AccessError, "Only members of the group"
        )
        self.assert_untouched(
            self.order,
            lambda: self.order.with_user(self.member).cancel_reconciled(payment_action="burn"),
            ValidationError,
            "payment_action must be one of",
        )

    def test_automated_action_runs_the_full_cancellation(self):
        tag = self.env["crm.tag"].create({"name": "Customer cancelled"})
        self.env["base.automation"].create(
            {
                "name": "Cancel paid orders tagged by the shop",
                "model_id": self.env.ref("sale.model_sale_order").id,
                "trigger": "on_tag_set",
                "trg_field_ref": tag.id,
                "trigger_field_ids": [Command.set(self.env.ref("sale.field_sale_order__tag_ids").ids)],
                "action_server_ids": [
                    Command.create(
                        {
                            "name": "Cancel with payments",
                            "model_id": self.env.ref("sale.model_sale_order").id,
                            "state": "code",
                            "code": "records.cancel_reconciled(payment_action='refund')",
                            # Odoo runs automations elevated; the action's groups are checked
                            # against the user whose change triggered it.
                            "group_ids": [
                                Command.link(self.env.ref("order_cancel_reconciled.group_cancel_reconciled").id)
                            ],
                        }
                    )
                ],
            }
        )
        other, _invoice, _payment = self.paid_delivered_order()

        def tag_as_salesman():
            # The request's transaction: rolled back with the error.
            with self.env.cr.savepoint():
                other.with_user(self.salesman).write({"tag_ids": [Command.link(tag.id)]})

        # A non-member's edit triggers it as them: refused, and their edit with it.
        self.assert_untouched(other, tag_as_salesman, AccessError, "enough access rights to run this action")
        self.assertFalse(other.tag_ids)
        self.order.with_user(self.member).write({"tag_ids": [Command.link(tag.id)]})
        self.assertEqual(self.order.state, "cancel")
        self.assertEqual(self.order.cancel_reconciled_log_ids.user_id, self.member, "the log names who triggered it")
        self.assertEqual(self.invoice_.payment_state, "reversed")
        self.assertAlmostEqual(self.receivable_balance(), sum(other.invoice_ids.mapped("amount_residual_signed")))

    def test_malformed_arguments_from_a_caller_are_refused_clearly(self):
        """Ids that are not ids, values that are not a dictionary, an action on one record given
        none or many: a clear refusal naming what is expected, nothing changed, where they used to
        end in a database error or "Expected singleton" deep in the ORM."""
        log = self.paid_delivered_order()[0].cancel_reconciled()
        member_env = self.env(user=self.member)
        calls = [
            # (model, method, args): as a JSON-RPC or XML-RPC call hands them to Odoo's call_kw.
            ("sale.order", "cancel_reconciled", ["abc"], "ids: a list of positive whole numbers"),
            ("sale.order", "write", [[str(self.order.id)], {"state": "draft"}], "ids: a list of positive"),
            ("sale.order", "action_cancel", [{"id": self.order.id}], "ids: a list of positive"),
            ("sale.order.cancel.reconciled.log", "write", [[-1], {"note": "x"}], "ids: a list of positive"),
            ("sale.order.cancel.reconciled.log", "action_reorder", [[]], "one record at a time, not 0"),
            ("sale.order.cancel.reconciled.log", "action_reorder", [[log.id] * 2 + [log.id + 1]], "not 3"),
            ("sale.order.cancel.reconciled", "create", ["abc"], "a dictionary of field names"),
            ("sale.order.cancel.reconciled", "create", [None], "a dictionary of field names"),
            ("sale.order.cancel.reconciled", "default_get", [None], "a list of strings"),
            ("sale.order.cancel.reconciled.reason", "unlink", [["a"]], "ids: a list of positive"),
        ]
        for model, method, args, message in calls:
            with self.subTest(model=model, method=method, args=args):
                before = self.snapshot(self.order)
                with self.assertRaisesRegex(UserError, message):
                    call_kw(member_env[model], method, args, {})
                self.assertEqual(self.snapshot(self.order), before)


@tagged("post_install", "-at_install")
class TestNobodySeesWhatIsNotTheirs(CancelReconciledCommon):
    """The preview and the run read elevated only what the real user may see and change."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.setup_other_company()["company"]
        cls.env.user.company_ids |= cls.company_b
        cls.order_a = cls.paid_delivered_order()[0]
        cls.order_b = (
            cls.env["sale.order"]
            .with_company(cls.company_b)
            .create(
                {
                    "partner_id": cls.customer.id,
                    "company_id": cls.company_b.id,
                    "order_line": [Command.create({"product_id": cls.product_b.id, "product_uom_qty": 1})],
                }
            )
        )
        cls.order_b.with_company(cls.company_b).action_confirm()
        member_groups = "order_cancel_reconciled.group_cancel_reconciled,sales_team.group_sale_salesman_all_leads"
        cls.member_a = cls.new_user("member_a", member_groups)
        cls.other_member_a = cls.new_user("other_member_a", member_groups)
        cls.missing_id = cls.env["sale.order"].search([], order="id desc", limit=1).id + 1000

    def wizard_model(self, user):
        return self.env["sale.order.cancel.reconciled"].with_user(user)

    def test_preview_of_another_companys_order_shows_nothing(self):
        with self.assertRaisesRegex(AccessError, NOT_VISIBLE):
            self.wizard_model(self.member_a).create({"order_ids": [Command.set(self.order_b.ids)]})
        # What the dialog's onchange computes, without saving.
        draft = self.wizard_model(self.member_a).new(
            {"order_ids": [Command.set(self.order_b.ids)], "notify_customer": True}
        )
        preview = str(draft.preview_html)
        self.assertIn(NOT_VISIBLE, preview)
        self.assertTrue(draft.is_blocked)
        self.assertNotIn(self.order_b.name, preview)
        self.assertNotIn(self.customer.name, preview)
        self.assertFalse(draft.mail_subject)

    def test_salesperson_limited_to_own_documents_cannot_preview_others(self):
        own_docs_member = self.new_user("own_docs_member", "order_cancel_reconciled.group_cancel_reconciled")
        self.assertNotEqual(self.order_a.user_id, own_docs_member)
        with self.assertRaisesRegex(AccessError, NOT_VISIBLE):
            self.wizard_model(own_docs_member).create({"order_ids": [Command.set(self.order_a.ids)]})
        with self.assertRaisesRegex(AccessError, NOT_VISIBLE):
            self.order_a.with_user(own_docs_member).cancel_reconciled()

    def test_mixed_companies_are_refused_whole(self):
        before = (self.order_a.state, self.order_a.invoice_ids.payment_state)
        both = [Command.set((self.order_a | self.order_b).ids)]
        with self.assertRaisesRegex(AccessError, NOT_VISIBLE):
            self.wizard_model(self.member_a).create({"order_ids": both})
        # A user of both companies with only A selected in the company switcher.
        only_a = self.env["sale.order.cancel.reconciled"].with_context(allowed_company_ids=self.company_a.ids)
        with self.assertRaisesRegex(AccessError, NOT_VISIBLE):
            only_a.create({"order_ids": both})
        with self.assertRaisesRegex(AccessError, NOT_VISIBLE):
            (self.order_a | self.order_b).with_user(self.member_a).cancel_reconciled()
        self.assertEqual((self.order_a.state, self.order_a.invoice_ids.payment_state), before)

    def test_the_error_does_not_tell_whether_an_id_exists(self):
        messages = []
        for order_id in (self.order_b.id, self.missing_id):
            with self.assertRaises(AccessError) as caught:
                self.wizard_model(self.member_a).create({"order_ids": [Command.set([order_id])]})
            messages.append(caught.exception.args[0].replace(str(order_id), "<id>"))
        self.assertEqual(messages[0], messages[1])

    def test_wizards_belong_to_their_creator(self):
        wizard = self.wizard_model(self.member_a).create({"order_ids": [Command.set(self.order_a.ids)]})
        stranger = wizard.with_user(self.other_member_a)
        with self.assertRaises(AccessError):
            stranger.read(["order_ids"])
        with self.assertRaises(AccessError):
            stranger.write({"note": "mine now"})
        with self.assertRaises(AccessError):
            stranger.action_confirm()
        self.assertEqual(self.order_a.state, "sale")
        self.assertFalse(wizard.note)

    def test_order_ids_takes_ids_and_link_or_set_commands_only(self):
        order_count = self.env["sale.order"].search_count([])
        cases = {
            "a plain integer": self.order_a.id,
            "a create command": [Command.create({"partner_id": self.customer.id})],
            "an update command": [Command.update(self.order_a.id, {"note": "changed"})],
            "a delete command": [Command.delete(self.order_a.id)],
            "a string": "SO001",
            "ids and commands mixed": [self.order_a.id, Command.link(self.order_a.id)],
        }
        for case, value in cases.items():
            with self.subTest(case), self.assertRaises(ValidationError):
                self.wizard_model(self.member_a).create({"order_ids": value})
        self.assertEqual(self.env["sale.order"].search_count([]), order_count, "no order created or deleted")
        for value in (self.order_a.ids, [Command.link(self.order_a.id)], [Command.set(self.order_a.ids)]):
            wizard = self.wizard_model(self.member_a).create({"order_ids": value})
            self.assertEqual(wizard.order_ids, self.order_a)
        with self.assertRaises(ValidationError):
            wizard.write({"order_ids": [Command.create({"partner_id": self.customer.id})]})

    def test_oversized_request_is_refused_up_front_with_a_short_message(self):
        ids = list(range(1, 200001))
        with self.assertRaises(ValidationError) as caught:
            self.wizard_model(self.member_a).create({"order_ids": [Command.set(ids)]})
        self.assertLess(len(caught.exception.args[0]), 200)
        with self.assertRaises(ValidationError) as caught:
            self.env["sale.order"].with_user(self.member_a).browse(ids).cancel_reconciled()
        self.assertLess(len(caught.exception.args[0]), 200)
        with self.assertRaises(AccessError) as caught:
            self.wizard_model(self.member_a).create(
                {"order_ids": [Command.set(list(range(self.missing_id, self.missing_id + 50)))]}
            )
        self.assertLess(len(caught.exception.args[0]), 300, "at most a few ids are listed")

    def test_locked_order_is_cancelled_without_unlocking_and_the_preview_says_so(self):
        self.order_a.action_lock()
        wizard = self.wizard_model(self.member_a).create({"order_ids": [Command.set(self.order_a.ids)]})
        self.assertIn("is locked", str(wizard.preview_html))
        self.assertFalse(wizard.is_blocked)
        wizard.action_confirm()
        self.assertEqual(self.order_a.state, "cancel")


@tagged("post_install", "-at_install")
class TestWithAutomaticWorkflow(CancelReconciledCommon):
    """OCA's sale_automatic_workflow confirms, invoices, locks and pays orders on a schedule: a
    cancelled order must stay cancelled, with nothing invoiced, reconciled or confirmed again."""

    def test_workflow_leaves_a_cancelled_order_alone(self):
        workflow = self.env.ref("sale_automatic_workflow.automatic_validation").copy(
            {"register_payment": True, "sale_done": True, "send_order_confirmation_mail": False}
        )
        jobs = self.env["automatic.workflow.job"]
        order = self.create_order(confirm=False)
        order.workflow_process_id = workflow
        jobs.run_with_workflow(workflow)
        self.assertEqual(order.state, "sale", "confirmed by the workflow")
        self.deliver(order)
        jobs.run_with_workflow(workflow)
        invoice = order.invoice_ids
        self.assertEqual(invoice.payment_state, self.env["account.move"]._get_invoice_in_payment_state())
        self.assertTrue(order.locked, "locked by the workflow once invoiced")
        # A workflow job that cancels (a custom one, or a later version) meets the guard too.
        with self.assertRaisesRegex(UserError, NAMES_THE_API):
            order._action_cancel()

        order.cancel_reconciled(stock_action="return_validate")
        counts = {
            "invoices": self.env["account.move"].search_count([("partner_id", "=", self.customer.id)]),
            "payments": self.env["account.payment"].search_count([("partner_id", "=", self.customer.id)]),
            "partials": self.env["account.partial.reconcile"].search_count([]),
        }
        for _run in range(2):
            jobs.run_with_workflow(workflow)
        self.env.invalidate_all()
        self.assertEqual(order.state, "cancel")
        self.assertEqual(invoice.payment_state, "reversed")
        self.assertEqual(
            counts,
            {
                "invoices": self.env["account.move"].search_count([("partner_id", "=", self.customer.id)]),
                "payments": self.env["account.payment"].search_count([("partner_id", "=", self.customer.id)]),
                "partials": self.env["account.partial.reconcile"].search_count([]),
            },
            "nothing invoiced, paid or reconciled again",
        )
        self.assertAlmostEqual(self.receivable_balance(), -invoice.amount_total, msg="the payment is customer credit")


@tagged("post_install", "-at_install")
class TestJson2Api(CancelReconciledCommon, HttpCase):
    """Odoo 19's external JSON-2 API: the readme's example, run as it is written, cancels as a
    member with an API key; other callers get their HTTP status and Odoo's clear message."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.member = cls.new_user(
            "json2_member", "order_cancel_reconciled.group_cancel_reconciled,sales_team.group_sale_salesman_all_leads"
        )
        cls.salesman = cls.new_user("json2_salesman", "sales_team.group_sale_salesman_all_leads")
        tomorrow = fields.Datetime.now() + timedelta(days=1)
        keys = cls.env["res.users.apikeys"]
        cls.keys = {
            user: keys.with_user(user).sudo()._generate(None, "web shop", tomorrow)
            for user in (cls.member, cls.salesman)
        }
        cls.order, cls.invoice_, cls.payment = cls.paid_delivered_order()

    def readme_example(self):
        """The JSON-2 block of readme/USAGE.md, without its three lines of placeholders."""
        usage = Path(__file__).parent.parent.joinpath("readme", "USAGE.md").read_text()
        block = re.search(r"```python\n(import requests\n.*?)```", usage, re.S).group(1)
        placeholders = ("url, db = ", "api_key = ", "order_ids = ")
        return "\n".join(line for line in block.splitlines() if not line.startswith(placeholders))

    def run_example(self, user, order_ids):
        self.authenticate(None, None)  # an integrator has no session, only the key
        namespace = {"url": self.base_url(), "db": get_db_name(), "api_key": self.keys[user], "order_ids": order_ids}
        # The example makes its own HTTP session, without the test's cookie: Odoo's test framework
        # serves it all the same inside allow_requests(all_requests=True).
        with self.allow_requests(all_requests=True):
            exec(self.readme_example(), namespace)  # pylint: disable=exec-used
        return namespace

    def test_the_readmes_example_cancels_with_a_members_api_key(self):
        log_ids = self.run_example(self.member, self.order.ids)["log_ids"]
        log = self.env["sale.order.cancel.reconciled.log"].browse(log_ids)
        self.assertEqual(log.order_id, self.order)
        self.assertEqual((log.payment_action, log.stock_action, log.channel), ("refund", "return_validate", "api"))
        self.assertEqual(log.user_id, self.member)
        self.assertEqual(self.order.state, "cancel")
        self.assertEqual(self.invoice_.payment_state, "reversed")
        self.assertAlmostEqual(self.on_hand(self.product_a), 100.0)

    def test_refusals_come_back_with_their_status_and_message(self):
        before = self.snapshot(self.order)
        with self.assertRaisesRegex(RuntimeError, r"^HTTP 403 odoo\.exceptions\.AccessError: Only members"):
            self.run_example(self.salesman, self.order.ids)
        with self.assertRaisesRegex(RuntimeError, rf"^HTTP 403 odoo\.exceptions\.AccessError: {NOT_VISIBLE}"):
            self.run_example(self.member, [self.order.id + 1_000_000])
        self.authenticate(None, None)
        response = self.url_open(
            "/json/2/sale.order/cancel_reconciled",
            data=json.dumps({"ids": self.order.ids, "payment_action": "burn"}),
            headers={"Authorization": f"bearer {self.keys[self.member]}", "Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 422)
        self.assertIn("payment_action must be one of", response.json()["message"])
        self.assertEqual(self.snapshot(self.order), before, "the database is exactly as before")
