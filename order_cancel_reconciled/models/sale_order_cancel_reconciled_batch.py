import logging
import random
import threading
from contextlib import contextmanager
from datetime import timedelta

from psycopg2 import OperationalError
from psycopg2.errorcodes import DEADLOCK_DETECTED, LOCK_NOT_AVAILABLE, SERIALIZATION_FAILURE

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from .order_cancel_reconciled_plan import (
    GROUP_XMLID,
    INVOICE_ACTIONS,
    PAYMENT_ACTIONS,
    STOCK_ACTIONS,
    OrdersBusyError,
)

_logger = logging.getLogger(__name__)

BATCH_STATES = [
    ("queued", "Queued"),
    ("running", "Running"),
    ("done", "Done"),
    ("done_with_errors", "Done with Errors"),
]
LINE_STATES = [
    ("queued", "Queued"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("skipped", "Already Cancelled"),
]
# PostgreSQL's answers to two transactions on the same rows: the loser may simply try again.
CONFLICT_CODES = (SERIALIZATION_FAILURE, DEADLOCK_DETECTED, LOCK_NOT_AVAILABLE)
# A conflict or a busy order is tried this many times, waiting longer each time, then failed.
MAX_ATTEMPTS = 10
# The longest wait between two tries, in seconds: the waits double up to it, with jitter.
MAX_WAIT_SECONDS = 60
# The channel of the jobs when OCA's queue_job is installed; administrators size it.
JOB_CHANNEL = "root.order_cancel_reconciled"
# With queue_job, the scheduled action takes over an order whose job has not run for this long
# (a job lost with its worker, a job runner that is down).
STALE_JOB_DELAY = timedelta(minutes=15)
# A job in one of these states will still run (queue_job itself requeues a started job whose
# worker died).
LIVE_JOB_STATES = ("wait_dependencies", "pending", "enqueued", "started")
LINE_ORDERS_TABLE = "sale_order_cancel_reconciled_batch_line_order_rel"
BUS_TYPE = "order_cancel_reconciled/batch_progress"

_batch_thread = threading.local()


class _RetriedConflictFilter(logging.Filter):
    """The database layer logs every failed query as an ERROR. A conflict met by an order of a
    batch is expected and tried again later: not an error for the administrator to chase. Only
    this thread's run of a batch order is concerned; the retry itself is logged below."""

    def filter(self, record):
        if not getattr(_batch_thread, "retrying_conflicts", False):
            return True
        return not any(isinstance(arg, OperationalError) and arg.pgcode in CONFLICT_CODES for arg in record.args or ())


_sql_logger = logging.getLogger("odoo.sql_db")
# Once per process, even when the module is loaded again for another registry.
if not any(type(known).__name__ == "_RetriedConflictFilter" for known in _sql_logger.filters):
    _sql_logger.addFilter(_RetriedConflictFilter())


@contextmanager
def _conflicts_retried():
    _batch_thread.retrying_conflicts = True
    try:
        yield
    finally:
        _batch_thread.retrying_conflicts = False


class SaleOrderCancelReconciledBatch(models.Model):
    """Orders cancelled in the background, one order per transaction.

    The dialog creates a batch instead of running in the request when more orders are selected
    than the company's threshold. Each order is a line; a line is run by a job of OCA's
    ``queue_job`` when that addon is installed, by the scheduled action otherwise: both call
    :meth:`SaleOrderCancelReconciledBatchLine._process`, which runs the engine for its order as
    the user who started the batch, all or nothing for that order.
    """

    _name = "sale.order.cancel.reconciled.batch"
    _description = "Background Cancellation"
    _inherit = ["mail.thread"]
    _order = "id desc"
    _check_company_auto = True

    user_id = fields.Many2one("res.users", string="Started by", required=True, readonly=True, index=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    invoice_action = fields.Selection(INVOICE_ACTIONS, string="Invoices", required=True, readonly=True)
    payment_action = fields.Selection(PAYMENT_ACTIONS, string="Payments", required=True, readonly=True)
    stock_action = fields.Selection(STOCK_ACTIONS, string="Delivered Goods", required=True, readonly=True)
    reason_id = fields.Many2one("sale.order.cancel.reconciled.reason", readonly=True, ondelete="restrict")
    note = fields.Text(readonly=True)
    notify_customer = fields.Boolean(string="Notify the Customers", readonly=True)
    line_ids = fields.One2many("sale.order.cancel.reconciled.batch.line", "batch_id", string="Orders", readonly=True)
    # Counted, not stored: the orders of a batch run in parallel transactions, and a stored
    # figure on the batch would make them all write the same row and conflict.
    state = fields.Selection(BATCH_STATES, compute="_compute_counts")
    order_count = fields.Integer(string="Number of Orders", compute="_compute_counts")
    done_count = fields.Integer(string="Cancelled", compute="_compute_counts")
    failed_count = fields.Integer(string="Failed", compute="_compute_counts")
    skipped_count = fields.Integer(string="Already Cancelled", compute="_compute_counts")
    progress = fields.Float(compute="_compute_counts")
    finish_notified = fields.Boolean(string="User Told of the End", readonly=True, copy=False)
    progress_label = fields.Char(string="Progress Text", compute="_compute_progress_label")

    @api.depends("line_ids.state")
    def _compute_counts(self):
        # Orders, not lines (orders billed together share a line), in one query for all batches:
        # a batch has thousands of them. Whoever sees the batch sees its figures.
        lines = self.env["sale.order.cancel.reconciled.batch.line"]
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT line.batch_id, line.state, count(*) FROM %s line JOIN %s rel ON rel.line_id = line.id"
                " WHERE line.batch_id = ANY(%s) GROUP BY line.batch_id, line.state",
                SQL.identifier(lines._table),
                SQL.identifier(LINE_ORDERS_TABLE),
                list(self._origin.ids),
            )
        )
        counts = {(batch_id, state): count for batch_id, state, count in self.env.cr.fetchall()}
        for batch in self:
            by_state = {state: counts.get((batch._origin.id, state), 0) for state, _label in LINE_STATES}
            total = sum(by_state.values())
            batch.order_count = total
            batch.done_count = by_state["done"]
            batch.failed_count = by_state["failed"]
            batch.skipped_count = by_state["skipped"]
            finished = total - by_state["queued"]
            batch.progress = 100.0 * finished / total if total else 0.0
            if by_state["queued"]:
                batch.state = "running" if finished else "queued"
            else:
                batch.state = "done_with_errors" if by_state["failed"] else "done"

    @api.depends("order_count", "done_count", "failed_count", "skipped_count")
    def _compute_progress_label(self):
        for batch in self:
            batch.progress_label = self.env._(
                "Finished %(finished)s / %(total)s: %(done)s cancelled, %(failed)s failed, "
                "%(skipped)s already cancelled",
                finished=batch.done_count + batch.failed_count + batch.skipped_count,
                total=batch.order_count,
                done=batch.done_count,
                failed=batch.failed_count,
                skipped=batch.skipped_count,
            )

    @api.depends("order_count")
    def _compute_display_name(self):
        for batch in self:
            batch.display_name = self.env._(
                "Background Cancellation #%(id)s (orders: %(count)s)", count=batch.order_count, id=batch.id
            )

    # ------------------------------------------------------------------------------------------
    # Starting a batch
    # ------------------------------------------------------------------------------------------

    @api.model
    def _create_for_orders(self, orders, options):
        """Queue the orders for cancellation with the options; return the batch.

        Called in the real user's environment: the group and the right to change each order are
        checked as that user now, and again when each order runs (rights may change meanwhile).
        """
        orders._check_cancel_reconciled_access()
        findings = self.env["order.cancel.reconciled.engine"]._get_batch_findings(orders)
        if refusals := [finding.message for finding in findings if finding.blocking]:
            raise UserError(refusals[0])
        batch = self.sudo().create(
            {
                "user_id": self.env.uid,
                "company_id": orders.company_id.id,
                "invoice_action": options.invoice_action,
                "payment_action": options.payment_action,
                "stock_action": options.stock_action,
                "reason_id": options.reason.id,
                "note": options.note,
                "notify_customer": options.notify_customer,
                "line_ids": [
                    fields.Command.create({"order_id": group[0], "order_ids": [fields.Command.set(group)]})
                    for group in self._group_billed_together(orders)
                ],
            }
        )
        batch._start()
        return batch.with_env(self.env)

    @api.model
    def _group_billed_together(self, orders):
        """The orders as lists of ids, those that share an invoice together: the engine undoes a
        shared invoice only with all the orders it bills, so they run as one, in the selection's
        order. An invoice shared with an order outside the selection is the engine's to refuse."""
        group_of = {order.id: [order.id] for order in orders}
        # A few queries for the whole selection (invoice_ids is read for all orders at once).
        for order in orders:
            for invoice in order.invoice_ids:
                for other in invoice.line_ids.sale_line_ids.order_id & orders:
                    mine, theirs = group_of[order.id], group_of[other.id]
                    if mine is not theirs:
                        mine.extend(theirs)
                        for order_id in theirs:
                            group_of[order_id] = mine
        groups = list({id(group): group for group in group_of.values()}.values())
        position = {order_id: index for index, order_id in enumerate(orders.ids)}
        return sorted((sorted(group, key=position.get) for group in groups), key=lambda group: position[group[0]])

    def _start(self):
        """Have the lines run after this transaction commits: with queue_job, one job creates a
        job per line (creating thousands of jobs is not for the user's request)."""
        lines = self.line_ids
        if lines._use_jobs():
            self.with_delay(
                channel=JOB_CHANNEL, max_retries=1, description=self.env._("Queue %s", self.display_name)
            )._job_enqueue_lines()
        else:
            lines._schedule()

    def _job_enqueue_lines(self):
        """A job of queue_job: a job per queued line that has none running."""
        self.ensure_one()
        lines = self.line_ids.filtered(lambda line: line.state == "queued")._without_live_job()
        lines._schedule()
        return self.env._("%s orders queued", len(lines))

    def _prepare_options(self):
        self.ensure_one()
        return self.env["order.cancel.reconciled.engine"]._prepare_options(
            self.company_id,
            invoice_action=self.invoice_action,
            payment_action=self.payment_action,
            stock_action=self.stock_action,
            reason_id=self.reason_id.id,
            note=self.note,
            notify_customer=self.notify_customer,
        )

    # ------------------------------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------------------------------

    def _check_member(self):
        """The buttons act elevated: only for a member who may see the batch."""
        if not self.env.su and not self.env.user.has_group(GROUP_XMLID):
            raise AccessError(self.env._("Only members of the group “Cancel reconciled orders” may do this."))
        self.check_access("read")

    def action_retry_failed(self):
        """Queue the failed orders again, with the batch's options. They still run as the user
        who started the batch (their rights, their name on the logs); the retry is in the
        chatter, by the user who asked for it."""
        self.ensure_one()
        self._check_member()
        failed = self.line_ids.filtered(lambda line: line.state == "failed")
        if not failed:
            raise UserError(self.env._("No order of this batch has failed."))
        batch = self.sudo()
        batch.finish_notified = False
        failed.sudo().write({"state": "queued", "error": False, "attempts": 0, "next_try": fields.Datetime.now()})
        failed.sudo()._schedule()
        batch.message_post(
            body=self.env._("Failed orders queued again: %s.", len(failed)), author_id=self.env.user.partner_id.id
        )
        return True

    def action_open_logs(self):
        self.ensure_one()
        return self.line_ids.log_ids._action_open_logs()

    def action_open_orders(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Orders"),
            "res_model": "sale.order",
            "view_mode": "list,form",
            "domain": [("id", "in", self.line_ids.order_ids.ids)],
        }

    def _action_open(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            # In the page, not in a dialog: "main" would also drop the breadcrumbs, but leaves the
            # Confirm button's confirmation dialog open over the batch, blocking the page.
            "target": "current",
            "name": self.display_name,
        }

    # ------------------------------------------------------------------------------------------
    # Telling the user
    # ------------------------------------------------------------------------------------------

    def _notify_progress(self):
        """Tell the user who started the batch that it moved on: their open form reloads."""
        for batch in self:
            batch.user_id.partner_id._bus_send(BUS_TYPE, {"batch_id": batch.id, "state": batch.state})

    def _notify_finished(self):
        """Once per batch: the user is told in the batch's chatter (and their inbox). The line
        that finishes the batch does it; when the last two finish at the same time, each before
        seeing the other, the scheduled action catches the batch later, and when both see it,
        PostgreSQL lets one of them mark it told."""
        for batch in self.filtered(
            lambda batch: batch.state in ("done", "done_with_errors") and not batch.finish_notified
        ):
            try:
                with _conflicts_retried(), self.env.cr.savepoint():
                    batch.finish_notified = True
                    batch.flush_recordset(["finish_notified"])
                    batch._post_finished()
            except OperationalError as error:
                if error.pgcode not in CONFLICT_CODES:
                    raise

    def _post_finished(self):
        batch = self.sudo().with_context(lang=self.user_id.lang)
        body = batch.env._(
            "The batch is finished: %(done)s cancelled, %(failed)s failed, %(skipped)s already cancelled.",
            done=self.done_count,
            failed=self.failed_count,
            skipped=self.skipped_count,
        )
        # From OdooBot, so that the user who started it is notified (not its author), by their
        # inbox or e-mail.
        batch.message_post(
            body=body,
            author_id=self.env.ref("base.partner_root").id,
            partner_ids=self.user_id.partner_id.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )


class SaleOrderCancelReconciledBatchLine(models.Model):
    """One order of a batch: queued until its own transaction cancels it or says why not."""

    _name = "sale.order.cancel.reconciled.batch.line"
    _description = "Order of a Background Cancellation"
    _order = "batch_id desc, id"

    batch_id = fields.Many2one(
        "sale.order.cancel.reconciled.batch", required=True, readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="batch_id.company_id", store=True)
    order_id = fields.Many2one("sale.order", required=True, readonly=True, index=True, ondelete="cascade")
    # The order and those billed with it (an invoice they share): cancelled together.
    order_ids = fields.Many2many(
        "sale.order", LINE_ORDERS_TABLE, "line_id", "order_id", string="Orders Billed Together", readonly=True
    )
    partner_id = fields.Many2one(related="order_id.partner_id", string="Customer")
    amount_total = fields.Monetary(related="order_id.amount_total")
    currency_id = fields.Many2one(related="order_id.currency_id")
    state = fields.Selection(LINE_STATES, default="queued", required=True, readonly=True, index=True)
    error = fields.Text(readonly=True)
    log_id = fields.Many2one("sale.order.cancel.reconciled.log", string="Cancellation Log", readonly=True)
    log_ids = fields.Many2many(
        "sale.order.cancel.reconciled.log",
        "sale_order_cancel_reconciled_batch_line_log_rel",
        "line_id",
        "log_id",
        string="Cancellation Logs",
        readonly=True,
    )
    job_uuid = fields.Char(string="Job", readonly=True, copy=False, help="The queue_job job that runs the order.")
    attempts = fields.Integer(readonly=True, help="Tries that found the order's records being changed by someone else.")
    next_try = fields.Datetime(
        readonly=True, index=True, default=fields.Datetime.now, help="When the order is tried next."
    )

    def init(self):
        # The scheduled action looks for the next queued line: a small index for a big table.
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS %s ON %s (next_try, id) WHERE state = 'queued'",
                SQL.identifier(f"{self._table}_queued_idx"),
                SQL.identifier(self._table),
            )
        )

    # ------------------------------------------------------------------------------------------
    # Scheduling: a job per line with queue_job, the scheduled action otherwise
    # ------------------------------------------------------------------------------------------

    @api.model
    def _use_jobs(self):
        """True when OCA's queue_job is installed (it adds ``with_delay`` to every model)."""
        return "queue.job" in self.env and hasattr(self, "with_delay")

    def _schedule(self, eta=None):
        """Have the lines run (again) at ``eta`` or at once, after this transaction commits."""
        if not self:
            return
        if self._use_jobs():
            for line in self:
                job = line.with_delay(
                    channel=JOB_CHANNEL,
                    eta=eta,
                    # The line counts its own attempts: the job itself is not retried.
                    max_retries=1,
                    description=self.env._("Cancel %s", ", ".join(line.order_ids.mapped("name"))),
                    identity_key=f"{self._name},{line.id},{line.attempts}",
                )._job_process()
                line.job_uuid = job.uuid
        else:
            self.env.ref("order_cancel_reconciled.ir_cron_process_cancel_batches")._trigger(at=eta)

    def _without_live_job(self):
        """These lines but those whose job will still run (one query for all of them)."""
        uuids = [uuid for uuid in self.mapped("job_uuid") if uuid]
        live = self.env["queue.job"].sudo().search([("uuid", "in", uuids), ("state", "in", LIVE_JOB_STATES)])
        running = set(live.mapped("uuid"))
        return self.filtered(lambda line: line.job_uuid not in running)

    def _job_process(self):
        """A job of queue_job: run this line's orders (see :meth:`_process`). A job run again
        (its worker died after the commit) or whose line another run holds does nothing.
        Returns what the job's result shows."""
        self.ensure_one()
        line = self.sudo()
        names = ", ".join(line.order_ids.mapped("name"))
        if not line._lock():
            return self.env._("%(order)s: taken by another run", order=names)
        if line.state == "queued":
            line._process_safely()
        states = dict(line._fields["state"]._description_selection(line.env))
        return f"{names}: {states[line.state]}"

    @api.model
    def _cron_process(self):
        """The scheduled action: run the next queued line, one per call, and call again at once
        while some remain (Odoo's scheduler calls an action ten times in a row at most, then
        waits for its next poll unless triggered). With queue_job, only lines whose job is gone
        or ended without running them (failed, cancelled), once they have waited a while."""
        lines = self.sudo()
        due = fields.Datetime.now()
        with_jobs = self._use_jobs()
        if with_jobs:
            due -= STALE_JOB_DELAY
        line = lines._lock_next(due, without_live_job=with_jobs)
        if line:
            line._process_safely()
        else:
            self.env["sale.order.cancel.reconciled.batch"].sudo().search(
                [("finish_notified", "=", False)]
            )._notify_finished()
        remaining = lines.search_count([("state", "=", "queued"), ("next_try", "<=", due)]) if line else 0
        if remaining and not with_jobs:
            self.env.ref("order_cancel_reconciled.ir_cron_process_cancel_batches")._trigger()
        self.env["ir.cron"]._notify_progress(done=1 if line else 0, remaining=remaining)
        return line

    @api.model
    def _lock_next(self, due, without_live_job=False):
        """The next due line, held for this transaction; lines another run holds or has just
        finished are passed over. Two runs at once (a second worker, a job and the scheduled
        action) take different lines."""
        self.env.flush_all()
        live_job = SQL()
        if without_live_job:
            live_job = SQL(
                " AND NOT EXISTS (SELECT 1 FROM queue_job job WHERE job.uuid = line.job_uuid AND job.state IN %s)",
                LIVE_JOB_STATES,
            )
        passed = []
        for _try in range(MAX_ATTEMPTS):
            self.env.cr.execute(
                SQL(
                    "SELECT line.id FROM %s line WHERE line.state = 'queued' AND line.next_try <= %s"
                    " AND NOT line.id = ANY(%s)%s ORDER BY line.next_try, line.id LIMIT 1",
                    SQL.identifier(self._table),
                    due,
                    passed,
                    live_job,
                )
            )
            row = self.env.cr.fetchone()
            if not row:
                break
            line = self.browse(row[0])
            if line._lock():
                return line.filtered(lambda line: line.state == "queued")
            passed.append(line.id)
        return self.browse()

    def _lock(self):
        """Hold this line for this transaction; False when another run holds it, or has
        changed it since this transaction began (PostgreSQL then refuses the lock)."""
        self.ensure_one()
        self.env.flush_all()
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL("SELECT id FROM %s WHERE id = %s FOR UPDATE SKIP LOCKED", SQL.identifier(self._table), self.id),
                    log_exceptions=False,
                )
                held = bool(self.env.cr.fetchone())
        except OperationalError as error:
            if error.pgcode not in CONFLICT_CODES:
                raise
            held = False
        # Read again what the lock now guarantees.
        self.invalidate_recordset()
        return held

    # ------------------------------------------------------------------------------------------
    # One order: the same code for jobs and the scheduled action
    # ------------------------------------------------------------------------------------------

    def _process_safely(self):
        """:meth:`_process`, and a fault after the run (writing the line, telling the user)
        fails this line alone instead of leaving it first in the queue for ever."""
        try:
            with self.env.cr.savepoint():
                self._process()
        except Exception as error:
            _logger.exception("Background cancellation of %s failed", self.order_id.name)
            self.write({"state": "failed", "error": f"{type(error).__name__}: {error}"})

    def _process(self):
        """Cancel this line's orders in this transaction, all or nothing, as the batch's user.

        The line ends done (with the logs), failed (with the reason), skipped (the orders were
        cancelled meanwhile) or stays queued for a later try when another transaction holds the
        orders' records. Called on a line held by :meth:`_lock` or :meth:`_lock_next`.
        """
        self.ensure_one()
        batch = self.batch_id
        orders = self.order_ids.filtered(lambda order: order.state != "cancel")
        if not orders:
            self._mark_skipped()
        elif not (batch.user_id.active or batch.user_id._is_superuser()):
            self.write(
                {"state": "failed", "error": self.env._("%s, who started the batch, is archived.", batch.user_id.name)}
            )
        else:
            # The engine checks the batch's user now: a right lost since the start refuses.
            # In the user's language too: the reasons of failed orders are theirs to read.
            engine = (
                self.env["order.cancel.reconciled.engine"]
                .with_user(batch.user_id)
                .with_company(batch.company_id)
                .with_context(lang=batch.user_id.lang)
            )
            try:
                with _conflicts_retried(), self.env.cr.savepoint():
                    logs = engine._run(orders.with_env(engine.env), batch._prepare_options())
            except OrdersBusyError:
                self._retry_later(self.env._("The order or its invoices were being changed by another user."))
            except OperationalError as error:
                if error.pgcode not in CONFLICT_CODES:
                    raise
                self._retry_later(self.env._("Another transaction changed the same records at the same time."))
            except (UserError, ValidationError, AccessError) as error:
                self.write({"state": "failed", "error": error.args[0]})
            except Exception as error:
                # A fault, not a refusal: this order fails alone, the others go on.
                _logger.exception("Background cancellation of %s failed", orders.mapped("name"))
                self.write({"state": "failed", "error": f"{type(error).__name__}: {error}"})
            else:
                logs = logs.sudo()
                self.write(
                    {"state": "done", "log_id": logs[:1].id, "log_ids": [fields.Command.set(logs.ids)], "error": False}
                )
        batch._notify_progress()
        batch._notify_finished()

    def _mark_skipped(self):
        logs = self.env["sale.order.cancel.reconciled.log"].search([("order_id", "in", self.order_ids.ids)])
        who = ", ".join(dict.fromkeys((logs.user_id or self.order_id.write_uid).mapped("name")))
        self.write(
            {
                "state": "skipped",
                "log_id": logs[:1].id,
                "log_ids": [fields.Command.set(logs.ids)],
                "error": self.env._("Cancelled meanwhile by %s.", who),
            }
        )

    def _retry_later(self, why):
        """Another transaction holds what this order needs: try again later, waiting longer each
        time (with jitter, so that runs that met once do not meet again), then give up."""
        attempts = self.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            _logger.info(
                "Background cancellation of %s: %s Given up after %s tries.", self.order_id.name, why, attempts
            )
            self.write(
                {
                    "state": "failed",
                    "attempts": attempts,
                    "error": self.env._(
                        "%(why)s Tried %(count)s times: use Retry Failed later.", why=why, count=attempts
                    ),
                }
            )
            return
        eta = fields.Datetime.now() + timedelta(seconds=random.uniform(1, min(2**attempts, MAX_WAIT_SECONDS)))
        _logger.info("Background cancellation of %s: %s Tried again at %s.", self.order_id.name, why, eta)
        self.write({"attempts": attempts, "next_try": eta, "error": why})
        self._schedule(eta=eta)
