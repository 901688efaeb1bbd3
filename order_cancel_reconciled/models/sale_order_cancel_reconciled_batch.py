import logging
import threading
from contextlib import contextmanager

from psycopg2 import OperationalError
from psycopg2.errorcodes import DEADLOCK_DETECTED, LOCK_NOT_AVAILABLE, SERIALIZATION_FAILURE

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from .order_cancel_reconciled_plan import GROUP_XMLID, INVOICE_ACTIONS, PAYMENT_ACTIONS, STOCK_ACTIONS

BATCH_STATES = [
    ("queued", "Queued"),
    ("running", "Running"),
    ("done", "Done"),
    ("done_with_errors", "Done with Errors"),
]
# The rest is the lines' too: sale_order_cancel_reconciled_batch_line.py imports it from here (this
# file imports nothing of the line's, so there is no cycle).
LINE_STATES = [
    ("queued", "Queued"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("skipped", "Already Cancelled"),
]
# PostgreSQL's answers to two transactions on the same rows: the loser may simply try again.
CONFLICT_CODES = (SERIALIZATION_FAILURE, DEADLOCK_DETECTED, LOCK_NOT_AVAILABLE)
# The channel of the jobs when OCA's queue_job is installed; administrators size it.
JOB_CHANNEL = "root.order_cancel_reconciled"
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
    # Nested in another (a batch order's whole run around its engine run): the outer one holds on.
    previous = getattr(_batch_thread, "retrying_conflicts", False)
    _batch_thread.retrying_conflicts = True
    try:
        yield
    finally:
        _batch_thread.retrying_conflicts = previous


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
    _inherit = ["mail.thread", "order.cancel.reconciled.caller.guard"]
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
                "reason_id": options.told_reason.id,
                "note": options.note,
                "notify_customer": options.notify_customer,
            }
        )
        batch._create_lines(self._group_billed_together(orders))
        batch._start()
        return batch.with_env(self.env)

    @api.model
    def _group_billed_together(self, orders):
        """The orders as lists of ids, those that share an invoice together: the engine undoes a
        shared invoice only with all the orders it bills, so they run as one, in the selection's
        order. An invoice shared with an order outside the selection is the engine's to refuse."""
        group_of = {order.id: [order.id] for order in orders}
        for order_id, other_id in self._get_orders_billed_together(orders):
            mine, theirs = group_of[order_id], group_of[other_id]
            if mine is not theirs:
                mine.extend(theirs)
                for member_id in theirs:
                    group_of[member_id] = mine
        groups = list({id(group): group for group in group_of.values()}.values())
        position = {order_id: index for index, order_id in enumerate(orders.ids)}
        return sorted((sorted(group, key=position.get) for group in groups), key=lambda group: position[group[0]])

    @api.model
    def _get_orders_billed_together(self, orders):
        """Pairs of the selected orders that share a customer invoice or credit note, in one
        query: read order by order through the orders' invoices, a selection of thousands of
        orders takes seconds of the user's request."""
        self.env["account.move.line"].flush_model(["move_id"])
        self.env["account.move"].flush_model(["move_type"])
        self.env["sale.order.line"].flush_model(["order_id", "invoice_lines"])
        self.env.cr.execute(
            SQL(
                """WITH billed AS (
                       SELECT DISTINCT order_line.order_id, invoice_line.move_id
                         FROM sale_order_line AS order_line
                         JOIN sale_order_line_invoice_rel AS rel ON rel.order_line_id = order_line.id
                         JOIN account_move_line AS invoice_line ON invoice_line.id = rel.invoice_line_id
                         JOIN account_move AS invoice ON invoice.id = invoice_line.move_id
                        WHERE order_line.order_id = ANY(%s)
                          AND invoice.move_type IN ('out_invoice', 'out_refund'))
                   SELECT DISTINCT mine.order_id, theirs.order_id
                     FROM billed AS mine JOIN billed AS theirs
                       ON theirs.move_id = mine.move_id AND theirs.order_id > mine.order_id""",
                orders.ids,
            )
        )
        return self.env.cr.fetchall()

    def _create_lines(self, groups):
        """A line per group of orders billed together (each group's first order is the line's
        order), written in one insert for the lines and one for their orders: through the ORM,
        a line costs a default_get and a many2many write, seconds for a selection of 10,000
        orders in the user's request. The line has no field the ORM would compute on create
        (its company is the batch's), and no override of create runs for it."""
        self.ensure_one()
        lines = self.env["sale.order.cancel.reconciled.batch.line"]
        if not groups:
            return lines
        cr = self.env.cr
        cr.execute(
            SQL(
                """INSERT INTO %(table)s (batch_id, company_id, order_id, state, next_try,
                                          create_uid, create_date, write_uid, write_date)
                   SELECT %(batch)s, %(company)s, line.order_id, 'queued', %(now)s, %(uid)s, %(now)s, %(uid)s, %(now)s
                     FROM unnest(%(order_ids)s::int[]) WITH ORDINALITY AS line(order_id, position)
                    ORDER BY line.position
                RETURNING id, order_id""",
                table=SQL.identifier(lines._table),
                batch=self.id,
                company=self.company_id.id,
                now=cr.now(),
                uid=self.env.uid,
                order_ids=[group[0] for group in groups],
            )
        )
        line_of = {order_id: line_id for line_id, order_id in cr.fetchall()}
        members = [(line_of[group[0]], order_id) for group in groups for order_id in group]
        cr.execute(
            SQL(
                "INSERT INTO %s (line_id, order_id) SELECT * FROM unnest(%s::int[], %s::int[])",
                SQL.identifier(LINE_ORDERS_TABLE),
                [line_id for line_id, _order_id in members],
                [order_id for _line_id, order_id in members],
            )
        )
        self.invalidate_recordset(["line_ids"])
        return lines.browse(line_of[group[0]] for group in groups)

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
            channel="batch",
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
        # Built apart, as in the log's action_open_journal_items (Odoo 19's term extractor).
        domain = [("id", "in", self.line_ids.order_ids.ids)]
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Orders"),
            "res_model": "sale.order",
            "view_mode": "list,form",
            "domain": domain,
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
