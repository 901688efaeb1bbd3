"""Big selections are cancelled in the background, one order per transaction: the batch, its
progress, failures that stay alone, conflicts retried, rights checked when each order runs."""

import json
from datetime import timedelta
from unittest.mock import patch

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..models.sale_order_cancel_reconciled_batch import BUS_TYPE
from ..models.sale_order_cancel_reconciled_batch_line import LATE_RETRY_INTERVAL, MAX_ATTEMPTS, MAX_WAIT_SECONDS
from .common import CancelReconciledCommon

BATCH = "sale.order.cancel.reconciled.batch"
LINE = "sale.order.cancel.reconciled.batch.line"
ENGINE = (
    "odoo.addons.order_cancel_reconciled.models.order_cancel_reconciled_engine_order.OrderCancelReconciledEngineOrder"
)


def raise_serialization_failure(env):
    """A real conflict answer of PostgreSQL (SQLSTATE 40001), as two transactions on one row get."""
    env.cr.execute("DO $$ BEGIN RAISE EXCEPTION 'concurrent update' USING ERRCODE = '40001'; END $$")


class BatchCommon(CancelReconciledCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.cancel_reconciled_background_from = 2
        cls.env.company.cancel_reconciled_payment_action = "keep"

    def paid_order(self):
        order = self.create_order()
        self.deliver(order)
        self.pay(self.invoice(order))
        return order

    def start(self, orders, **options):
        wizard = (
            self.env["sale.order.cancel.reconciled"]
            .with_context(active_model="sale.order", active_ids=orders.ids)
            .create(options)
        )
        self.assertTrue(wizard.in_background)
        action = wizard.action_confirm()
        self.assertEqual((action["res_model"], action["view_mode"]), (BATCH, "form"))
        return self.env[BATCH].browse(action["res_id"])

    def run_queue(self, limit=100):
        """What the scheduled action does, call after call, until nothing is due."""
        for _call in range(limit):
            if not self.env[LINE]._cron_process():
                return
        self.fail("the queue never emptied")


@tagged("post_install", "-at_install")
class TestBatch(BatchCommon):
    def test_big_selection_runs_in_the_background_and_a_bad_order_fails_alone(self):
        first, last = self.paid_order(), self.paid_order()
        bad = self.create_order()
        self.invoice(bad, post=False)  # nothing posted to undo: refused
        orders = first | bad | last
        wizard = (
            self.env["sale.order.cancel.reconciled"]
            .with_context(active_model="sale.order", active_ids=orders.ids)
            .create({})
        )
        self.assertIn("<strong>3</strong> orders will be cancelled in the background", wizard.preview_html)
        self.assertFalse(wizard.is_blocked, "each order is checked when it runs, not in the dialog")

        batch = self.start(orders, reason_id=self.env.ref("order_cancel_reconciled.reason_customer_request").id)
        self.assertEqual(batch.state, "queued")
        self.assertEqual(batch.line_ids.mapped("state"), ["queued"] * 3)
        self.assertEqual(set(orders.mapped("state")), {"sale"}, "nothing is cancelled in the request")
        self.assertTrue(
            self.env["ir.cron.trigger"].search(
                [("cron_id", "=", self.env.ref("order_cancel_reconciled.ir_cron_process_cancel_batches").id)]
            ),
            "the scheduled action is called at once",
        )

        self.run_queue()
        lines = {line.order_id: line for line in batch.line_ids}
        self.assertEqual(
            [lines[order].state for order in (first, bad, last)], ["done", "failed", "done"], "one order fails alone"
        )
        self.assertIn("has no posted invoice to undo", lines[bad].error)
        self.assertEqual((first | last).mapped("state"), ["cancel", "cancel"])
        self.assertEqual(bad.state, "sale")
        self.assertEqual(lines[first].log_id.order_id, first, "the batch links each order's log")
        self.assertEqual(lines[first].log_id.reason_id, batch.reason_id)
        self.assertEqual(lines[first].log_id.user_id, self.env.user, "the log is the batch user's")
        self.assertEqual((batch.state, batch.done_count, batch.failed_count), ("done_with_errors", 2, 1))
        self.assertEqual(batch.progress, 100.0)
        finished = batch.message_ids[0]
        self.assertIn("2 cancelled, 1 failed", finished.body, "the user is told when it is finished")
        self.assertEqual(finished.author_id, self.env.ref("base.partner_root"), "by OdooBot, so that they are notified")
        self.assertIn(self.env.user.partner_id, finished.partner_ids, "addressed to the user who started it")
        self.assertTrue(batch.finish_notified)
        self.assert_books(first.partner_id, "keep")

    def test_orders_billed_together_run_together(self):
        first, second = self.create_order(), self.create_order()
        for order in first | second:
            self.deliver(order)
        shared = (first | second)._create_invoices()  # one invoice for both, as Odoo makes it
        shared.action_post()
        self.pay(shared)
        alone = self.paid_order()
        batch = self.start(first | alone | second)
        self.assertEqual(len(batch.line_ids), 2, "one line for the two orders of one invoice")
        self.assertEqual(batch.line_ids[0].order_ids, first | second)
        self.assertEqual(batch.order_count, 3)
        # The lines are written in bulk: they read as lines the ORM would have created.
        self.env.invalidate_all()
        for line, order, orders in zip(batch.line_ids, (first, alone), (first | second, alone), strict=True):
            self.assertEqual((line.order_id, line.order_ids, line.state), (order, orders, "queued"))
            self.assertEqual((line.company_id, line.create_uid), (batch.company_id, self.env.user))
            self.assertLessEqual(line.next_try, fields.Datetime.now(), "due at once")
        self.run_queue()
        self.assertEqual(set((first | second | alone).mapped("state")), {"cancel"})
        self.assertEqual(batch.line_ids[0].log_ids.order_id, first | second, "both orders' logs")
        self.assertEqual((batch.state, batch.done_count), ("done", 3))

    def test_scheduled_action_calls_itself_again_while_orders_remain(self):
        """Odoo's scheduler calls an action ten times in a row at most, then waits for its next
        poll (a minute) unless triggered: each call asks for the next at once."""
        batch = self.start(self.paid_order() | self.paid_order() | self.paid_order())
        cron = self.env.ref("order_cancel_reconciled.ir_cron_process_cancel_batches")
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
        triggers.unlink()
        self.env[LINE]._cron_process()
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]), "called again at once")
        self.run_queue()
        self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]).unlink()
        self.env[LINE]._cron_process()
        self.assertFalse(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]), "not when none is left")
        self.assertEqual(batch.state, "done")

    def test_a_fault_after_the_run_fails_its_order_alone(self):
        """A fault once the order is cancelled (telling the user) undoes that order and fails
        its line: the line does not stay first in the queue for every later run."""
        orders = self.paid_order() | self.paid_order() | self.paid_order()
        batch = self.start(orders)
        first = batch.line_ids[0]
        model = type(self.env[BATCH])
        original = model._notify_progress

        def fail_once(batch_self):
            if first.state == "done":
                raise RuntimeError("bus down")
            return original(batch_self)

        with (
            patch.object(model, "_notify_progress", fail_once),
            mute_logger("odoo.addons.order_cancel_reconciled.models.sale_order_cancel_reconciled_batch_line"),
        ):
            self.env[LINE]._cron_process()
        self.assertEqual((first.state, first.order_id.state), ("failed", "sale"))
        self.assertIn("RuntimeError: bus down", first.error)
        self.assertFalse(self.env["sale.order.cancel.reconciled.log"].search([("order_id", "=", first.order_id.id)]))
        self.run_queue()
        self.assertEqual(batch.done_count, 2, "the others went on")

    def test_a_conflict_after_the_run_leaves_its_order_for_later(self):
        """A conflict once the order is cancelled (telling the user) undoes that order as one met
        by the engine does: the line waits for a later try, it does not fail."""
        orders = self.paid_order() | self.paid_order() | self.paid_order()
        batch = self.start(orders)
        first = batch.line_ids[0]
        model = type(self.env[BATCH])
        original = model._notify_progress

        def conflict_once(batch_self):
            if first.state == "done" and not first.attempts:
                raise_serialization_failure(batch_self.env)
            return original(batch_self)

        with (
            patch.object(model, "_notify_progress", conflict_once),
            self.assertNoLogs("odoo.sql_db", level="ERROR"),
        ):
            self.env[LINE]._cron_process()
        self.assertEqual((first.state, first.attempts, first.order_id.state), ("queued", 1, "sale"))
        self.assertIn("Still waiting: Another transaction changed the same records", first.error)
        self.assertFalse(self.env["sale.order.cancel.reconciled.log"].search([("order_id", "=", first.order_id.id)]))
        first.sudo().next_try = fields.Datetime.now()
        self.run_queue()
        self.assertEqual((first.state, first.order_id.state, batch.state), ("done", "cancel", "done"))

    def test_retry_failed_runs_the_failed_orders_again(self):
        good, bad, other = self.paid_order(), self.create_order(), self.paid_order()
        draft = self.invoice(bad, post=False)
        batch = self.start(good | bad | other)
        self.run_queue()
        self.assertEqual(batch.state, "done_with_errors")
        messages = len(batch.message_ids)

        draft.action_post()
        self.pay(draft)
        # Another member (a sales manager, who sees every batch) retries: the orders still run as
        # the user who started the batch.
        manager = self.new_user(
            "batch_manager", "sales_team.group_sale_manager,order_cancel_reconciled.group_cancel_reconciled"
        )
        self.assertTrue(batch.with_user(manager).action_retry_failed())
        self.assertEqual(batch.user_id, self.env.user)
        self.assertEqual(batch.message_ids[0].author_id, manager.partner_id)
        line = batch.line_ids.filtered(lambda line: line.order_id == bad)
        self.assertEqual((line.state, line.error, batch.state), ("queued", False, "running"))
        self.assertFalse(batch.finish_notified, "the batch tells again when it is finished again")
        self.run_queue()
        self.assertEqual((line.state, bad.state, batch.state), ("done", "cancel", "done"))
        self.assertEqual(line.log_id.user_id, self.env.user)
        self.assertGreater(len(batch.message_ids), messages + 1)
        with self.assertRaisesRegex(UserError, "No order of this batch has failed"):
            batch.action_retry_failed()

    def test_order_cancelled_meanwhile_is_reported_not_failed(self):
        orders = self.paid_order() | self.paid_order() | self.paid_order()
        batch = self.start(orders)
        orders[1].cancel_reconciled()
        self.run_queue()
        line = batch.line_ids.filtered(lambda line: line.order_id == orders[1])
        self.assertEqual(line.state, "skipped")
        self.assertIn(f"Cancelled meanwhile by {self.env.user.name}", line.error)
        self.assertEqual(line.log_id.order_id, orders[1], "the log of who did cancel it")
        self.assertEqual((batch.state, batch.skipped_count), ("done", 1))

    def test_progress_is_sent_to_the_user_who_started(self):
        batch = self.start(self.paid_order() | self.paid_order() | self.paid_order())
        bus = self.env["bus.bus"].sudo()
        bus.search([]).unlink()
        self.env[LINE]._cron_process()
        self.env.cr.precommit.run()  # the bus writes its messages when the transaction commits
        sent = [(json.loads(row.channel), json.loads(row.message)) for row in bus.search([]) if BUS_TYPE in row.message]
        self.assertEqual(len(sent), 1)
        (channel, message) = sent[0]
        self.assertEqual(channel[1:], ["res.partner", self.env.user.partner_id.id], "to the user who started it")
        self.assertEqual(message["payload"]["batch_id"], batch.id)
        self.assertEqual(batch.state, "running")
        self.assertAlmostEqual(batch.progress, 100.0 / 3, places=2)

    def test_conflict_is_retried_later_then_hourly_and_never_fails(self):
        """A conflict says nothing against the order: after the quick tries the line waits an
        hour between tries, for as long as it takes, and says why and until when."""
        orders = self.paid_order() | self.paid_order() | self.paid_order()
        batch = self.start(orders)
        line = batch.line_ids[0]
        cron = self.env.ref("order_cancel_reconciled.ir_cron_process_cancel_batches")
        original = type(self.env["order.cancel.reconciled.engine"])._step_cancel_order

        def conflict_on_first_order(engine, plan, *args):
            if plan.order == line.order_id:
                raise_serialization_failure(engine.env)
            return original(engine, plan, *args)

        before = fields.Datetime.now()
        # A conflict the batch retries is no ERROR for the administrator.
        with (
            patch(f"{ENGINE}._step_cancel_order", conflict_on_first_order),
            self.assertNoLogs("odoo.sql_db", level="ERROR"),
        ):
            self.env[LINE]._cron_process()
            self.assertEqual((line.state, line.attempts), ("queued", 1), "a conflict is not a failure")
            self.assertEqual(line.order_id.state, "sale")
            self.assertGreaterEqual(line.next_try, before, "tried again later, not at once")
            self.assertLessEqual(line.next_try, before + timedelta(seconds=MAX_WAIT_SECONDS), "soon at first")
            triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
            self.assertIn(line.next_try, triggers.mapped("call_at"), "the scheduled action comes back for it")
            # The others go on meanwhile (a slow machine may try the line again in between: its
            # first waits are seconds).
            self.run_queue()
            self.assertEqual(batch.done_count, 2)
            self.assertLess(line.attempts, MAX_ATTEMPTS)
            while line.attempts < MAX_ATTEMPTS:
                line.sudo().next_try = last_try = fields.Datetime.now()
                self.env[LINE]._cron_process()
            after = fields.Datetime.now()
        self.assertEqual((line.state, line.attempts, line.order_id.state), ("queued", MAX_ATTEMPTS, "sale"))
        self.assertEqual(batch.state, "running", "the batch is not finished with an order still waiting")
        self.assertGreaterEqual(line.next_try, last_try + LATE_RETRY_INTERVAL, "an hour later")
        self.assertLessEqual(line.next_try, after + LATE_RETRY_INTERVAL + timedelta(seconds=MAX_WAIT_SECONDS))
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
        self.assertIn(line.next_try, triggers.mapped("call_at"), "the scheduled action comes back in an hour")
        self.assertTrue(line.error.startswith("Still waiting: "), line.error)
        self.assertIn(f"Tried {MAX_ATTEMPTS} times, next try at ", line.error)
        self.assertNotIn("40001", line.error)
        self.assertFalse(self.env[LINE]._cron_process(), "not tried again before its time")
        self.assertFalse(self.env["sale.order.cancel.reconciled.log"].search([("order_id", "=", line.order_id.id)]))

        # An hour later, the other transactions are gone: the next run cancels the order.
        line.sudo().next_try = fields.Datetime.now()
        self.assertEqual(self.env[LINE]._cron_process(), line)
        self.assertEqual((line.state, line.order_id.state, line.error), ("done", "cancel", False))
        self.assertEqual((batch.state, batch.done_count), ("done", 3))
        self.assertEqual(
            self.env["sale.order.cancel.reconciled.log"].search([("order_id", "=", line.order_id.id)]), line.log_id
        )

    def test_rights_are_checked_again_when_each_order_runs(self):
        member = self.new_user(
            "batch_member", "sales_team.group_sale_salesman_all_leads,order_cancel_reconciled.group_cancel_reconciled"
        )
        orders = self.paid_order() | self.paid_order() | self.paid_order()
        batch = orders.with_user(member).cancel_reconciled_in_background().with_user(self.env.user)
        self.assertEqual(batch.user_id, member)
        member.group_ids -= self.env.ref("order_cancel_reconciled.group_cancel_reconciled")
        self.run_queue()
        self.assertEqual(set(batch.line_ids.mapped("state")), {"failed"})
        self.assertIn("Only members of the group", batch.line_ids[0].error)
        self.assertEqual(set(orders.mapped("state")), {"sale"})

    def test_orders_of_an_archived_user_fail(self):
        member = self.new_user(
            "batch_archived", "sales_team.group_sale_salesman_all_leads,order_cancel_reconciled.group_cancel_reconciled"
        )
        orders = self.paid_order() | self.paid_order() | self.paid_order()
        batch = orders.with_user(member).cancel_reconciled_in_background().with_user(self.env.user)
        member.active = False
        self.run_queue()
        self.assertEqual(set(batch.line_ids.mapped("state")), {"failed"})
        self.assertIn("is archived", batch.line_ids[0].error)
        self.assertEqual(set(orders.mapped("state")), {"sale"})

    def test_who_may_start_see_and_retry_batches(self):
        orders = self.paid_order() | self.paid_order() | self.paid_order()
        salesman = self.new_user("batch_salesman", "sales_team.group_sale_salesman_all_leads")
        with self.assertRaisesRegex(AccessError, "Only members of the group"):
            orders.with_user(salesman).cancel_reconciled_in_background()
        with self.assertRaises(AccessError):
            self.env[BATCH].with_user(salesman).create({"user_id": salesman.id})
        batch = orders.cancel_reconciled_in_background()
        other = self.new_user(
            "batch_other", "sales_team.group_sale_salesman_all_leads,order_cancel_reconciled.group_cancel_reconciled"
        )
        self.assertFalse(self.env[BATCH].with_user(other).search([("id", "=", batch.id)]), "a member's own batches")
        with self.assertRaises(AccessError):
            batch.with_user(other).action_retry_failed()
        with self.assertRaises(AccessError):
            batch.line_ids[:1].with_user(other).read(["state"])
        with self.assertRaises(AccessError):
            batch.line_ids[:1].with_user(other).write({"state": "done"})
        with self.assertRaises(AccessError):
            batch.with_user(other).write({"user_id": other.id})
        self.assertEqual(set(orders.mapped("state")), {"sale"})

    def test_the_dialog_goes_to_the_background_above_the_threshold(self):
        orders = self.paid_order() | self.paid_order() | self.paid_order()
        wizard = self.env["sale.order.cancel.reconciled"].create({"order_ids": [Command.set(orders.ids)]})
        self.assertTrue(wizard.in_background)
        self.assertEqual(wizard.action_confirm()["res_model"], BATCH)
        self.run_queue()
        self.assertEqual(set(orders.mapped("state")), {"cancel"})
        two = self.paid_order() | self.paid_order()
        wizard = self.env["sale.order.cancel.reconciled"].create({"order_ids": [Command.set(two.ids)]})
        self.assertFalse(wizard.in_background)

    def test_threshold_must_be_positive(self):
        with self.assertRaisesRegex(ValidationError, "1 order or more"):
            self.env.company.cancel_reconciled_background_from = 0

    def test_starting_a_batch_reads_no_order_one_by_one(self):
        def queries_to_start(count):
            orders = self.env["sale.order"].union(*(self.create_order() for _index in range(count)))
            for order in orders:
                self.pay(self.invoice(order))
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            orders.cancel_reconciled_in_background()
            self.env.flush_all()
            return self.env.cr.sql_log_count - before

        few, many = queries_to_start(3), queries_to_start(15)
        self.assertLessEqual(many, few + 2, f"{few} queries for 3 orders, {many} for 15")


@tagged("post_install", "-at_install")
class TestInteractiveConflict(HttpCase, CancelReconciledCommon):
    def test_last_conflict_gives_a_plain_busy_message_not_a_traceback(self):
        order = self.paid_order_for_rpc()
        self.authenticate(self.env.user.login, self.env.user.login)
        error = self.call_while_every_try_conflicts(
            "/web/dataset/call_kw",
            {"model": "sale.order", "method": "cancel_reconciled", "args": [order.ids], "kwargs": {}},
        )
        self.assertNotIn("40001", error["message"])
        self.assertEqual(order.state, "sale")

    def test_last_conflict_over_external_rpc_is_the_busy_message_too(self):
        """An integrator's /jsonrpc call: Odoo's tries run without the web request there, the
        tries are counted all the same."""
        order = self.paid_order_for_rpc()
        login = self.env.user.login
        self.call_while_every_try_conflicts(
            "/jsonrpc",
            {
                "service": "object",
                "method": "execute_kw",
                "args": [self.env.cr.dbname, self.env.uid, login, "sale.order", "cancel_reconciled", [order.ids]],
            },
        )
        self.assertEqual(order.state, "sale")

    def call_while_every_try_conflicts(self, url, params):
        """A JSON-RPC call during which every try of the run meets a serialization failure: its
        answer is the busy message. Returns the error's data."""
        payload = {"jsonrpc": "2.0", "method": "call", "params": params}
        with (
            patch(f"{ENGINE}._step_cancel_order", lambda engine, *args: raise_serialization_failure(engine.env)),
            patch("odoo.service.model.time.sleep"),  # Odoo's waits between its tries
            mute_logger("odoo.sql_db", "odoo.service.model", "odoo.http"),
        ):
            response = self.url_open(url, data=json.dumps(payload), headers={"Content-Type": "application/json"}).json()
        error = response["error"]["data"]
        self.assertEqual(error["name"].rsplit(".", 1)[-1], "OrdersBusyError")
        self.assertIn("Other users were changing the same records", error["message"])
        return error

    def paid_order_for_rpc(self):
        order = self.create_order()
        self.deliver(order)
        self.pay(self.invoice(order))
        return order
