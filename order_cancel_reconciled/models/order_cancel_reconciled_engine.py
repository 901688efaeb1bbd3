from collections import defaultdict

from odoo import api, models
from odoo.exceptions import UserError, ValidationError
from odoo.service.model import MAX_TRIES_ON_CONCURRENCY_FAILURE, PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL

from .order_cancel_reconciled_plan import (
    DEFAULT_REASON_XMLID,
    OPTION_VALUES,
    ORDERS_IN_RUN,
    CancelOptions,
    Finding,
    OrderPlan,
    OrdersBusyError,
)

LOG_MODEL = "sale.order.cancel.reconciled.log"
# Where the lines of the logs being written wait, per log, until they are written at once (the
# cursor's cache: it lives as long as the transaction's work).
PENDING_LOG_LINES = "order_cancel_reconciled_pending_log_lines"
# How many lines of each log are written, to number the next ones.
WRITTEN_LOG_LINES = "order_cancel_reconciled_written_log_lines"
# The amounts of each log of the run, summed as its lines are written.
LOG_AMOUNTS = "order_cancel_reconciled_log_amounts"
# Each log's company, given to its lines without reading the log back.
LOG_COMPANIES = "order_cancel_reconciled_log_companies"
# The steps that only add log lines and never read them back: the lines they add wait until a
# step that may read them (the customer's message reads the refunds) or the end of the order's
# run, to be written in one insert. A step an extension adds is not among them.
LOG_WRITING_STEPS = frozenset(
    {
        "_step_unreconcile_payments",
        "_step_settle_invoices",
        "_step_reverse_writeoffs",
        "_step_handle_payments",
        "_step_cancel_pending_pickings",
        "_step_cancel_order",
        "_step_return_delivered_goods",
    }
)


class OrderCancelReconciledEngine(models.AbstractModel):
    """Cancels confirmed orders together with their payments, invoices and deliveries.

    The faces (the wizard's Confirm, ``sale.order.cancel_reconciled()``) call :meth:`_run` with
    the orders and :meth:`_prepare_options`. The run checks the real user, locks the orders,
    plans each one (:class:`OrderPlan`, with its findings), refuses on the first blocking finding,
    then calls the steps of :meth:`_get_steps` per order, all in one savepoint.

    The steps live with their domain, an abstract model and a file each: ``..._engine_accounting``
    (payments, invoices), ``..._engine_refunds`` (which way the money goes back),
    ``..._engine_outbox`` (sending provider refunds exactly once), ``..._engine_writeoffs`` (discounts and write-offs),
    ``..._engine_stock`` (deliveries and returns), ``..._engine_order`` (the order, the customer,
    the chatter), ``..._engine_queue`` (runs that share a product or a customer wait for each
    other first). They call back into the engine for the log (:meth:`_add_log_lines`).
    What is particular to one kind of order is asked of the order through its
    ``_get_cancel_reconciled_*`` hooks (see ``sale_order.py``).

    Every method is private: an abstract model's public methods would be callable over RPC.
    """

    _name = "order.cancel.reconciled.engine"
    _description = "Cancellation engine for reconciled orders"
    # One abstract model per domain, each in its own file; the engine is all of them.
    _inherit = [
        "order.cancel.reconciled.engine.accounting",
        "order.cancel.reconciled.engine.writeoffs",
        "order.cancel.reconciled.engine.refunds",
        "order.cancel.reconciled.engine.outbox",
        "order.cancel.reconciled.engine.stock",
        "order.cancel.reconciled.engine.order",
        "order.cancel.reconciled.engine.queue",
    ]

    # ------------------------------------------------------------------------------------------
    # Options
    # ------------------------------------------------------------------------------------------

    @api.model
    def _prepare_options(self, company, **vals):
        """The options of a run; what is not given (None) is the company's default.

        ``vals`` holds invoice_action, payment_action, stock_action, reason_id, note,
        notify_customer, message ((subject, body) edited for a run of one order) and channel
        (who starts the run, CHANNELS; code by default). A run given no reason gets the
        documented one (“No reason given”): a log never has none.
        """
        self._check_option_values(vals)
        choices = {
            name: vals.get(name) or company[f"cancel_reconciled_{name}"] or selection[0][0]
            for name, selection in OPTION_VALUES.items()
        }
        reason = self.env["sale.order.cancel.reconciled.reason"].browse(vals.get("reason_id") or [])
        return CancelOptions(
            **choices,
            reason=reason or self._get_default_reason(),
            note=vals.get("note") or False,
            notify_customer=bool(vals.get("notify_customer")),
            message=tuple(vals.get("message") or ()),
            channel=vals.get("channel") or "api",
            reason_given=bool(reason),
        )

    def _get_default_reason(self):
        """The documented reason of a run given none, found by its XML id in Odoo's cache (a
        reason deleted takes its XML id with it)."""
        reason_id = self.env["ir.model.data"]._xmlid_to_res_id(DEFAULT_REASON_XMLID, raise_if_not_found=False)
        return self.env["sale.order.cancel.reconciled.reason"].browse(reason_id or [])

    @api.model
    def _check_option_values(self, vals):
        """Refuse, with a message an integrator can act on, what the database would reject later."""
        _ = self.env._
        for name, selection in OPTION_VALUES.items():
            allowed = [key for key, _label in selection]
            if vals.get(name) is not None and vals[name] not in allowed:
                raise ValidationError(
                    _(
                        "%(field)s must be one of %(allowed)s, not %(value)r.",
                        field=name,
                        allowed=allowed,
                        value=vals[name],
                    )
                )
        reason = vals.get("reason_id")
        if reason and not (
            self._is_record_id(reason) and self.env["sale.order.cancel.reconciled.reason"].browse(reason).exists()
        ):
            raise ValidationError(_("reason_id must be the id of a cancellation reason, not %r.", reason))

    @staticmethod
    def _is_record_id(value):
        return isinstance(value, int) and not isinstance(value, bool) and value > 0

    # ------------------------------------------------------------------------------------------
    # The run
    # ------------------------------------------------------------------------------------------

    @api.model
    def _run(self, orders, options):
        """Cancel the orders and everything that hangs on them, all or nothing; return the logs.

        Called in the real user's environment: the group and the right to change these orders
        are checked as that user first.
        """
        orders._check_cancel_reconciled_access()
        # Members need neither accounting nor stock rights: once checked as the real user, the
        # run reads and acts elevated. The real user stays env.uid, the author of logs and messages.
        engine = self.sudo().with_company(orders.company_id[:1] or self.env.company)
        if engine._queue_behind_shared_rows(orders.with_env(engine.env)):
            # The transaction started again after waiting for another run: checked again on
            # what the database holds now.
            orders._check_cancel_reconciled_access()
        orders = orders.with_env(engine.env)
        engine._lock_orders(orders)
        plans = engine._prepare_plans(orders, options, preview=False)
        engine._check_plans(orders, plans)
        logs = self.env[LOG_MODEL]
        try:
            # A savepoint makes the run all-or-nothing even for a caller that catches the error.
            with self.env.cr.savepoint():
                for plan in plans:
                    logs |= engine._cancel_order(plan, options)
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as conflict:
            self._check_last_try(orders, conflict)
            raise
        return logs

    def _check_last_try(self, orders, conflict):
        """Another transaction changed the same rows (a stock quant every return updates, an
        invoice being paid): Odoo runs the call again a few times; when this was its last try,
        the caller gets a plain "try again" instead of the database's error. The tries are
        counted on the cursor, which Odoo keeps from one try to the next: an integrator's
        /jsonrpc call runs without the web request. A batch or a scheduled action retries on its
        own and takes this error as "busy" as well."""
        cursor = self.env.cr
        tries = getattr(cursor, "_cancel_reconciled_conflicts", 0) + 1
        cursor._cancel_reconciled_conflicts = tries
        if tries >= MAX_TRIES_ON_CONCURRENCY_FAILURE:
            raise OrdersBusyError(
                self.env._(
                    "Other users were changing the same records (payments, stock, invoices) while cancelling %s: "
                    "nothing was changed. Try again in a moment.",
                    ", ".join(orders.mapped("name")),
                )
            ) from conflict

    def _lock_orders(self, orders):
        """Take the orders and their invoices for this run, or refuse at once if another run,
        payment or edit holds one of them: nothing is then done twice.

        One statement and no savepoint: rows another transaction holds are skipped instead of
        waited for, and fewer rows than ids is the refusal. Nothing read before needs reading
        again: a lock does not move the transaction's snapshot (repeatable read), and a row
        another transaction changed since that snapshot makes the lock fail with a
        serialization error, on which Odoo runs the call again in a fresh transaction."""
        order_ids, invoice_ids = orders.ids, orders.invoice_ids.ids
        self.env.cr.execute(
            SQL(
                """WITH locked_orders AS (SELECT id FROM %(orders)s WHERE id = ANY(%(order_ids)s::int[])
                                          FOR UPDATE SKIP LOCKED),
                        locked_invoices AS (SELECT id FROM account_move WHERE id = ANY(%(invoice_ids)s::int[])
                                            FOR UPDATE SKIP LOCKED)
                   SELECT (SELECT count(*) FROM locked_orders), (SELECT count(*) FROM locked_invoices)""",
                orders=SQL.identifier(orders._table),
                order_ids=order_ids,
                invoice_ids=invoice_ids,
            ),
            # A row changed since the snapshot is a conflict Odoo tries again, not a bad query
            # for the server log.
            log_exceptions=False,
        )
        if self.env.cr.fetchone() != (len(order_ids), len(invoice_ids)):
            raise self._orders_busy_error(orders)

    def _orders_busy_error(self, orders):
        return OrdersBusyError(
            self.env._(
                "These orders or their invoices are being changed by another user right now (a payment, an "
                "edit or another cancellation): %s. Try again in a moment.",
                ", ".join(orders.mapped("name")),
            )
        )

    def _get_steps(self):
        """The steps that cancel one order, in order; each takes (plan, options, log). An
        extension adds a step by overriding this method and inserting its own."""
        return [
            self._step_unreconcile_payments,  # accounting
            self._step_settle_invoices,  # accounting
            self._step_reverse_writeoffs,  # writeoffs
            self._step_handle_payments,  # accounting
            self._step_cancel_pending_pickings,  # stock
            self._step_cancel_order,  # order
            self._step_return_delivered_goods,  # stock
            self._step_notify_customer,  # order
            self._step_post_chatter,  # order
        ]

    def _cancel_order(self, plan, options):
        # No "created" note in the log's own chatter (the log is that record already) and its
        # author not made a follower (a log is reviewed, not discussed); the steps then work in
        # the run's own context.
        plan.open_requests = plan.order._get_cancel_reconciled_open_requests()
        vals = self._prepare_log_vals(plan.order, options, plan.open_requests)
        log = (
            self.env[LOG_MODEL]
            .with_context(mail_create_nolog=True, mail_create_nosubscribe=True)
            .create(vals)
            .with_env(self.env)
        )
        self.env.cr.cache.setdefault(LOG_COMPANIES, {})[log.id] = vals["company_id"]
        in_run = self.env.cr.cache.setdefault(ORDERS_IN_RUN, set())
        in_run.add((plan.order._name, plan.order.id))
        try:
            for step in self._get_steps():
                if getattr(step, "__name__", None) not in LOG_WRITING_STEPS:
                    self._write_log_lines(log)
                try:
                    step(plan, options, log)
                except (UserError, ValidationError) as error:
                    raise UserError(
                        self.env._(
                            "%(order)s could not be cancelled: %(error)s", order=plan.order.name, error=error.args[0]
                        )
                    ) from error
            self._write_log_lines(log)
            if amounts := self.env.cr.cache.get(LOG_AMOUNTS, {}).get(log.id):
                log.write(dict(amounts))
        finally:
            # A failed run leaves no lines waiting (its log is rolled back with them).
            self.env.cr.cache.get(PENDING_LOG_LINES, {}).pop(log.id, None)
            self.env.cr.cache.get(WRITTEN_LOG_LINES, {}).pop(log.id, None)
            self.env.cr.cache.get(LOG_COMPANIES, {}).pop(log.id, None)
            self.env.cr.cache.get(LOG_AMOUNTS, {}).pop(log.id, None)
            in_run.discard((plan.order._name, plan.order.id))
        return log

    def _prepare_log_vals(self, order, options, open_requests=None):
        return {
            **order._get_cancel_reconciled_log_vals(),
            "company_id": order.company_id.id,
            "user_id": self.env.uid,
            "reason_id": options.reason.id,
            "note": options.note,
            "invoice_action": options.invoice_action,
            "payment_action": options.payment_action,
            "stock_action": options.stock_action,
            "notify_customer": options.notify_customer,
            "channel": self._get_log_channel(order, options, open_requests),
        }

    @api.model
    def _get_log_channel(self, order, options, open_requests=None):
        """Who started the run; a member who runs the dialog or the API on an order whose customer
        asked for it on the portal (`open_requests`, read when not given) answers that request."""
        if open_requests is None:
            open_requests = order._get_cancel_reconciled_open_requests()
        if options.channel in ("backoffice", "api") and open_requests:
            return "portal"
        return options.channel

    def _add_log_lines(self, log, vals_list):
        """Add lines to the log, in this order: written at once with the other steps' lines
        (_write_log_lines), before the first step that may read them."""
        pending = self.env.cr.cache.setdefault(PENDING_LOG_LINES, {})
        pending.setdefault(log.id, []).extend(vals_list)

    def _write_log_lines(self, log):
        vals_list = self.env.cr.cache.get(PENDING_LOG_LINES, {}).pop(log.id, [])
        if vals_list:
            # Counted here rather than read back: Odoo's own steps empty the record cache.
            written = self.env.cr.cache.setdefault(WRITTEN_LOG_LINES, {})
            first = written.get(log.id, 0)
            written[log.id] = first + len(vals_list)
            amounts = self.env.cr.cache.setdefault(LOG_AMOUNTS, {}).setdefault(log.id, defaultdict(float))
            for field, amount in self.env[LOG_MODEL]._get_amounts_of(vals_list).items():
                amounts[field] += amount
            # The company as the log's (no update after the insert) and the currency before the
            # amounts (an amount rounded in a currency not yet known reads it back).
            company_id = self.env.cr.cache.get(LOG_COMPANIES, {}).get(log.id) or log.company_id.id
            self.env["sale.order.cancel.reconciled.log.line"].create(
                [
                    {"currency_id": False, "log_id": log.id, "company_id": company_id, **vals}
                    | {"sequence": first + index}
                    for index, vals in enumerate(vals_list)
                ]
            )

    # ------------------------------------------------------------------------------------------
    # Plans and findings: what the run will touch and what stands in its way, read before
    # anything changes. The preview shows the same findings the run refuses on.
    # ------------------------------------------------------------------------------------------

    def _prepare_plans(self, orders, options, preview=True):
        """A plan per order, with its findings; an invoice shared by orders of the run is undone
        with the first. For the run itself (`preview` False), the findings that only inform are
        not read: the run stops on the blocking ones, a person reads the others in the preview."""
        plans = []
        taken = self.env["account.move"]
        # Orders with a prefetch set of their own: orders read through a caller's relation may
        # leave the cache during the run and would then be fetched one at a time.
        for order in orders._origin.with_prefetch():
            plan = self._prepare_plan(order, taken)
            taken |= plan.documents | plan.draft_invoices
            plans.append(plan)
        claimed = {}
        returned = self.env["stock.picking"]
        for plan in plans:
            plan.claimed = claimed
            plan.preview = preview
            plan.findings = self._get_findings(plan, options, orders._origin)
            # Goods an earlier order of the run returns are read again when this one returns.
            if plan.done_pickings & returned:
                plan.returnable = None
            returned |= plan.done_pickings
        return plans

    def _prepare_plan(self, order, taken):
        documents = order._get_cancel_reconciled_documents()
        matches = self._get_matches(documents - taken)
        external = [match for match in matches if match.counterpart_line.move_id not in documents]
        pickings = order._get_cancel_reconciled_pickings()
        return OrderPlan(
            order=order,
            documents=documents - taken,
            undone_earlier=documents & taken,
            draft_invoices=order._get_cancel_reconciled_draft_invoices() - taken,
            matches=matches,
            external_matches=external,
            payments=self._get_payments(external),
            writeoffs=self._get_writeoff_shares(external),
            pending_pickings=pickings.filtered(lambda picking: picking.state not in ("done", "cancel")),
            done_pickings=pickings.filtered(lambda picking: picking.state == "done" and not picking.return_id),
            released_moves=order._get_cancel_reconciled_released_moves(),
        )

    def _get_findings(self, plan, options, selection):
        """Each finding once: the order's own first, then its invoices, payments and goods. The
        first blocking one is the refusal."""
        findings = [
            *self._get_order_findings(plan, options, selection),
            *self._get_invoice_findings(plan, options),
            *self._get_payment_findings(plan, options),
            *self._get_refund_findings(plan, options),
            *self._get_stock_findings(plan, options),
        ]
        return list(dict.fromkeys(findings))

    def _get_batch_findings(self, orders):
        """What refuses the selection as a whole."""
        if not orders:
            return [Finding(self.env._("Select at least one order to cancel."), blocking=True)]
        if len(orders.company_id) > 1:
            message = self.env._(
                "The orders belong to several companies (%s): cancel them one company at a time.",
                ", ".join(orders.company_id.mapped("name")),
            )
            return [Finding(message, blocking=True)]
        return []

    def _check_plans(self, orders, plans):
        """Refuse the run on the first blocking finding, before anything changes."""
        refusals = [finding.message for finding in self._get_batch_findings(orders) if finding.blocking]
        refusals += [plan.refusal for plan in plans if plan.refusal]
        if refusals:
            raise UserError(refusals[0])
