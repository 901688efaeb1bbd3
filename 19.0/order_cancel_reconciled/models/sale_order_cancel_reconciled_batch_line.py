import logging
import random
from datetime import timedelta

from psycopg2 import OperationalError

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, format_datetime

from .order_cancel_reconciled_plan import OrdersBusyError, report_cron_progress
from .sale_order_cancel_reconciled_batch import (
    CONFLICT_CODES,
    JOB_CHANNEL,
    LINE_ORDERS_TABLE,
    LINE_STATES,
    _conflicts_retried,
)

_logger = logging.getLogger(__name__)

# A conflict or a busy order is tried this many times, waiting longer each time, then once every
# LATE_RETRY_INTERVAL.
MAX_ATTEMPTS = 10
# The longest wait between two tries, in seconds: the waits double up to it, with jitter.
MAX_WAIT_SECONDS = 60
# After MAX_ATTEMPTS quick tries, an order that still meets other transactions is tried this often,
# for as long as it takes: a conflict says nothing against the order, so it never fails it.
LATE_RETRY_INTERVAL = timedelta(hours=1)
# With queue_job, the scheduled action takes over an order whose job has not run for this long
# (a job lost with its worker, a job runner that is down).
STALE_JOB_DELAY = timedelta(minutes=15)
# A job in one of these states will still run (queue_job itself requeues a started job whose
# worker died).
LIVE_JOB_STATES = ("wait_dependencies", "pending", "enqueued", "started")


class SaleOrderCancelReconciledBatchLine(models.Model):
    """One order of a batch: queued until its own transaction cancels it or says why not."""

    _name = "sale.order.cancel.reconciled.batch.line"
    _inherit = ["order.cancel.reconciled.caller.guard"]
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
        report_cron_progress(self.env, 1 if line else 0, remaining)
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
        fails this line alone instead of leaving it first in the queue for ever. A conflict
        there is no fault: the order waits for a later try, as one met by the engine does."""
        try:
            with _conflicts_retried(), self.env.cr.savepoint():
                self._process()
        except Exception as error:
            if why := self._transient_reason(error):
                self._retry_later(why)
                return
            _logger.exception("Background cancellation of %s failed", self.order_id.name)
            self.write({"state": "failed", "error": f"{type(error).__name__}: {error}"})

    def _transient_reason(self, error):
        """Why other transactions kept this order from running now (it is tried again later),
        or None when the error is not such a conflict."""
        if isinstance(error, OrdersBusyError):
            return self.env._("The order or its invoices were being changed by another user.")
        if isinstance(error, OperationalError) and error.pgcode in CONFLICT_CODES:
            return self.env._("Another transaction changed the same records at the same time.")
        return None

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
            except (OrdersBusyError, OperationalError) as error:
                if not (why := self._transient_reason(error)):
                    raise
                self._retry_later(why)
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
        time (with jitter, so that runs that met once do not meet again), then once an hour for
        as long as it takes. The line stays queued: a conflict says nothing against the order,
        and an order left failed would wait for someone to press Retry Failed."""
        attempts = self.attempts + 1
        if attempts < MAX_ATTEMPTS:
            wait = timedelta(seconds=random.uniform(1, min(2**attempts, MAX_WAIT_SECONDS)))
        else:
            wait = LATE_RETRY_INTERVAL + timedelta(seconds=random.uniform(0, MAX_WAIT_SECONDS))
        eta = fields.Datetime.now() + wait
        _logger.info(
            "Background cancellation of %s: %s Tried %s times, again at %s.", self.order_id.name, why, attempts, eta
        )
        # When, as the user who started the batch reads the time (the text is stored, not computed).
        when = format_datetime(self.env, eta, tz=self.batch_id.user_id.tz)
        if attempts == 1:
            error = self.env._("Still waiting: %(why)s Tried once, next try at %(when)s.", why=why, when=when)
        else:
            error = self.env._(
                "Still waiting: %(why)s Tried %(count)s times, next try at %(when)s.",
                why=why,
                count=attempts,
                when=when,
            )
        self.write({"attempts": attempts, "next_try": eta, "error": error})
        self._schedule(eta=eta)
