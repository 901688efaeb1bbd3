import logging
import random
from datetime import timedelta

from markupsafe import Markup
from psycopg2.errors import UniqueViolation

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL

from .order_cancel_reconciled_plan import GROUP_XMLID, OrdersBusyError, report_cron_progress
from .sale_order_cancel_reconciled_batch import _conflicts_retried

REQUEST_STATES = [
    ("requested", "Requested"),
    ("approved", "Approved"),
    ("refused", "Refused"),
    ("done", "Cancelled"),
    ("failed", "Failed"),
]
# A request in one of these states is the order's open request: there is one at most.
OPEN_STATES = ("requested", "approved", "failed")
MAX_COMMENT = 2000
# A request whose order another transaction holds is tried again later, waiting longer each time
# up to this many seconds; it stays approved, however many tries it takes.
MAX_RETRY_WAIT_SECONDS = 3600
ACTIVITY_XMLID = "order_cancel_reconciled.mail_activity_type_cancel_request"

_logger = logging.getLogger(__name__)


class SaleOrderCancelReconciledRequest(models.Model):
    """A customer's request to cancel a confirmed order, from the portal or taken by a member.

    The company's rules approve it at once or leave it to a member; approved requests are run
    by the scheduled action, one order per transaction, with the company's default options.
    """

    _name = "sale.order.cancel.reconciled.request"
    _description = "Request to cancel a paid order"
    _inherit = ["mail.thread", "order.cancel.reconciled.caller.guard"]
    _order = "request_date desc, id desc"
    _check_company_auto = True

    order_id = fields.Many2one(
        "sale.order", required=True, readonly=True, index=True, ondelete="cascade", check_company=True
    )
    partner_id = fields.Many2one(related="order_id.partner_id", store=True, string="Customer")
    company_id = fields.Many2one(related="order_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="order_id.currency_id")
    amount_total = fields.Monetary(related="order_id.amount_total", string="Order Total")
    user_id = fields.Many2one(related="order_id.user_id", store=True, string="Salesperson")
    reason_id = fields.Many2one("sale.order.cancel.reconciled.reason", readonly=True, ondelete="restrict")
    comment = fields.Text(string="Customer's Comment", readonly=True)
    channel = fields.Selection(
        [("portal", "Portal"), ("backoffice", "Back office")], required=True, default="portal", readonly=True
    )
    request_date = fields.Datetime(string="Requested on", required=True, readonly=True, default=fields.Datetime.now)
    state = fields.Selection(REQUEST_STATES, default="requested", required=True, readonly=True, tracking=True)
    decided_by_id = fields.Many2one("res.users", string="Decided by", readonly=True)
    decision_date = fields.Datetime(readonly=True)
    decision_note = fields.Text(help="Sent to the customer with a refusal.")
    error = fields.Text(readonly=True, help="Why the automatic cancellation failed.")
    log_id = fields.Many2one("sale.order.cancel.reconciled.log", string="Cancellation Log", readonly=True)
    attempts = fields.Integer(readonly=True, help="Runs that found the order being changed by someone else.")
    next_try = fields.Datetime(readonly=True, help="When the scheduled action tries an approved request again.")

    _comment_length = models.Constraint(f"CHECK(char_length(comment) <= {MAX_COMMENT})", "The comment is too long.")

    def init(self):
        # One open request per order, whatever two transactions see at once.
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS %s ON %s (order_id) WHERE state IN %s",
                SQL.identifier(f"{self._table}_open_order_uniq"),
                SQL.identifier(self._table),
                OPEN_STATES,
            )
        )

    def write(self, vals):
        """Requests change through their actions only (run elevated after their checks); a member
        may write the decision note of an open request, nothing else."""
        if not self.env.su:
            if set(vals) - {"decision_note"}:
                raise AccessError(self.env._("Cancellation requests change only through Approve and Refuse."))
            if any(request.state not in ("requested", "failed") for request in self):
                raise UserError(self.env._("The decision on this request is taken."))
        return super().write(vals)

    @api.depends("order_id")
    def _compute_display_name(self):
        for request in self:
            request.display_name = self.env._("Cancellation request for %s", request.order_id.name)

    # ------------------------------------------------------------------------------------------
    # Asking
    # ------------------------------------------------------------------------------------------

    @api.model
    def _check_can_request(self, order, reason, comment):
        """Why this order cannot be asked to be cancelled now, as a short code for the portal,
        or False. Read elevated: the caller has checked the customer's access to the order."""
        if not order.company_id.cancel_request_portal:
            return "not_allowed"
        if order.state != "sale":
            return "not_confirmed"
        if order._get_cancel_reconciled_open_requests():
            return "already_requested"
        if not reason or not reason.show_on_portal or not reason.active:
            return "reason"
        if len(comment or "") > MAX_COMMENT:
            return "comment_too_long"
        return False

    @api.model
    def _request_from_portal(self, order, reason, comment):
        """Record the customer's request, or say why not: "sent" or a refusal code for the portal
        page. Called elevated, after the portal's access check. The order's row is locked first:
        two requests sent at once make one request."""
        self.env.cr.execute(SQL("SELECT id FROM sale_order WHERE id = %s FOR UPDATE", order.id))
        order.invalidate_recordset(["cancel_request_ids"])
        refusal = self._check_can_request(order, reason, comment)
        if refusal:
            return refusal
        try:
            with self.env.cr.savepoint():
                self._create_from_portal(order, reason, comment)
        except UniqueViolation:
            # Another request of this order was committed since this transaction began.
            return "already_requested"
        return "sent"

    @api.model
    def _create_from_portal(self, order, reason, comment):
        """The customer's request: recorded, told to the members, and approved at once when the
        company's rules allow it."""
        # The customer follows the order, where the answers are posted: not the request record,
        # which is the staff's.
        request = self.with_context(mail_create_nosubscribe=True).create(
            {"order_id": order.id, "reason_id": reason.id, "comment": comment or False, "channel": "portal"}
        )
        # What the staff reads is written in the staff's language, not the customer's.
        staff = request.with_context(lang=request._get_staff_lang())
        order.message_post(
            body=Markup(staff.env._("Cancellation requested by the customer: %(reason)s. %(comment)s"))
            % {"reason": reason.with_env(staff.env).name, "comment": comment or ""},
            author_id=order.partner_id.id,
            subtype_xmlid="mail.mt_note",
        )
        request._notify_customer()
        if not staff._approve_by_rules():
            staff._schedule_member_activity(staff.env._("Cancellation requested: approve or refuse it"))
        return request

    def _get_staff_lang(self):
        return self.order_id.user_id.lang or self.company_id.partner_id.lang or self.env.lang

    def _get_rule_failures(self):
        """The company's conditions for an automatic approval that this request does not meet."""
        self.ensure_one()
        _ = self.env._
        order, company = self.order_id, self.company_id
        if not company.cancel_request_auto:
            return [_("automatic approval is off")]
        failures = []
        if company.cancel_request_auto_undelivered and any(order.order_line.mapped("qty_delivered")):
            failures.append(_("goods were delivered"))
        days = company.cancel_request_auto_days
        if days and order.date_order < fields.Datetime.now() - timedelta(days=days):
            failures.append(_("confirmed more than %s days ago", days))
        limit = company.cancel_request_auto_max_amount
        if limit:
            total = order.currency_id._convert(order.amount_total, company.currency_id, company, fields.Date.today())
            if company.currency_id.compare_amounts(total, limit) > 0:
                failures.append(_("the order total is over %s", company.currency_id.format(limit)))
        engine = self.env["order.cancel.reconciled.engine"]
        plan = engine._prepare_plans(order, self._prepare_options())[0]
        # The refund step's own answer: every payment goes back through its provider in full.
        if company.cancel_request_auto_online_only and not engine._is_refundable_online(plan):
            failures.append(_("not paid only by online payments that can be refunded"))
        if plan.refusal:
            failures.append(plan.refusal)
        return failures

    def _approve_by_rules(self):
        """Approve when every condition the company chose holds; the scheduled action runs it."""
        failures = self._get_rule_failures()
        if failures:
            self.message_post(
                body=self.env._(
                    "Not approved automatically (%s): a user allowed to cancel paid orders decides.",
                    "; ".join(failures),
                ),
                subtype_xmlid="mail.mt_note",
            )
            return False
        self.sudo().write({"state": "approved", "decision_date": fields.Datetime.now(), "decided_by_id": False})
        self.message_post(body=self.env._("Approved automatically by the company's rules."))
        self._notify_customer()
        self.env.ref("order_cancel_reconciled.ir_cron_process_cancel_requests")._trigger()
        return True

    # ------------------------------------------------------------------------------------------
    # Deciding (members)
    # ------------------------------------------------------------------------------------------

    def _check_member(self):
        if not self.env.user.has_group(GROUP_XMLID):
            raise AccessError(
                self.env._("Only members of the group “Cancel reconciled orders” may decide on cancellation requests.")
            )
        self.check_access("read")
        # Deciding acts on the order: the member must be allowed to change it.
        self.order_id._check_cancel_reconciled_access()

    def action_approve(self):
        """Open the cancellation with the request's reason and the customer's comment; confirming
        it marks the request done."""
        self.ensure_one()
        self._check_member()
        if self.state not in ("requested", "failed"):
            raise UserError(self.env._("%s is no longer waiting for a decision.", self.display_name))
        action = self.order_id.action_cancel_reconciled()
        action["context"] = {
            **action["context"],
            "default_reason_id": self.reason_id.id,
            "default_note": self.comment or False,
            "default_notify_customer": True,
        }
        return action

    def action_refuse(self):
        self._check_member()
        for request in self:
            if request.state not in ("requested", "failed"):
                raise UserError(self.env._("%s is no longer waiting for a decision.", request.display_name))
            if not request.decision_note:
                raise UserError(self.env._("Write the note the customer receives with the refusal first."))
        self.sudo().write({"state": "refused", "decided_by_id": self.env.uid, "decision_date": fields.Datetime.now()})
        self.sudo()._notify_customer()
        self.order_id.sudo().activity_unlink([ACTIVITY_XMLID])
        return True

    def _mark_done(self, log=None):
        """Done with the order's cancellation: by the run whose log is given (its author decided,
        unless the rules had), or by a plain cancel of the order."""
        for request in self.sudo():
            vals = {"state": "done", "error": False}
            if log:
                vals["log_id"] = log.id
                if not request.decided_by_id and request.state != "approved":
                    vals.update(decided_by_id=log.user_id.id, decision_date=fields.Datetime.now())
            request.write(vals)
        self.order_id.sudo().activity_unlink([ACTIVITY_XMLID])

    # ------------------------------------------------------------------------------------------
    # Running approved requests (scheduled action)
    # ------------------------------------------------------------------------------------------

    def _prepare_options(self):
        """The company's default options; the customer is told, with the request's reason."""
        self.ensure_one()
        return self.env["order.cancel.reconciled.engine"]._prepare_options(
            self.company_id,
            reason_id=self.reason_id.id,
            note=self.env._("Requested by the customer: %s", self.comment or "-"),
            notify_customer=True,
            # Run by the scheduled action: approved by the company's rules, or by a member.
            channel="portal" if self.decided_by_id else "rule",
        )

    @api.model
    def _cron_process_approved(self):
        """Cancel the next approved request, one order per call: the scheduler commits between
        calls and calls again while some remain. A request another run holds is skipped, and one
        whose order someone is changing right now stays approved for the next run."""
        # A scheduled action of the system: the approval was the decision, checked when taken.
        requests = self.sudo()
        busy = []
        processed = requests.browse()
        # A busy order is passed over for the next request: it never holds the others back.
        while not processed and (request := requests._lock_next_approved(skip_ids=busy)):
            if request._process():
                processed = request
            else:
                busy.append(request.id)
        remaining = requests.search_count(
            [
                ("state", "=", "approved"),
                ("id", "not in", busy),
                "|",
                ("next_try", "=", False),
                ("next_try", "<=", fields.Datetime.now()),
            ]
        )
        # Nothing done (none left, or only busy ones) ends this run; a later one tries again.
        report_cron_progress(self.env, 1 if processed else 0, remaining if processed else 0)
        return processed

    @api.model
    def _lock_next_approved(self, skip_ids=()):
        # Two runs at once (a second worker, a manual run) each take a different request.
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT id FROM %s WHERE state = 'approved' AND NOT id = ANY(%s)"
                " AND (next_try IS NULL OR next_try <= %s) ORDER BY next_try NULLS FIRST, id LIMIT 1"
                " FOR UPDATE SKIP LOCKED",
                SQL.identifier(self._table),
                list(skip_ids),
                fields.Datetime.now(),
            )
        )
        row = self.env.cr.fetchone()
        request = self.browse(row[0] if row else [])
        request.invalidate_recordset()
        return request.filtered(lambda request: request.state == "approved")

    def _process(self):
        """Run the cancellation elevated (the approval was the decision), all or nothing. A
        request the company's rules approved is checked against them again: the order may have
        shipped meanwhile. On a refusal or an error the request is marked failed and the members
        are told. False when the order is busy: the request stays approved for a later run."""
        self.ensure_one()
        if not self.decided_by_id and self._recheck_rules():
            return True
        engine = self.env["order.cancel.reconciled.engine"].sudo()
        try:
            # A conflict is tried again later: PostgreSQL's answer is not logged as an error.
            with _conflicts_retried(), self.env.cr.savepoint():
                logs = engine._run(self.order_id.sudo(), self._prepare_options())
        except OrdersBusyError:
            # Someone is paying or editing the order right now: a later run tries again.
            self._retry_later(self.env._("The order or its invoices were being changed by another user."))
            return False
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            # Another transaction changed the same rows: not the request's fault, nor final.
            self._retry_later(self.env._("Another transaction changed the same records at the same time."))
            return False
        except (UserError, ValidationError) as error:
            self._mark_failed(error.args[0])
            return True
        except Exception as error:
            # Not the refusal of a rule: a fault. Marked failed all the same, so that one request
            # never holds back the others.
            _logger.exception("Cancellation request %s failed", self.id)
            self._mark_failed(f"{type(error).__name__}: {error}")
            return True
        # The engine's cancel step has marked the request done with the log.
        return bool(logs)

    def _recheck_rules(self):
        """The rules that approved this request, read again now: when one no longer holds, the
        request goes back to the members with the reasons. True when it did."""
        staff = self.with_context(lang=self._get_staff_lang())
        failures = staff._get_rule_failures()
        if not failures:
            return False
        reasons = "; ".join(failures)
        self.write({"state": "requested", "decision_date": False, "error": reasons})
        self.message_post(
            body=staff.env._(
                "The company's rules no longer approve this request: %s. A user allowed to cancel paid orders decides.",
                reasons,
            ),
            subtype_xmlid="mail.mt_note",
        )
        staff._schedule_member_activity(staff.env._("Cancellation requested: approve or refuse it"), reasons)
        return True

    def _retry_later(self, why):
        """Try again later, waiting longer each time (with jitter), never giving up: a busy order
        is not a reason to fail a customer's request."""
        attempts = self.attempts + 1
        wait = random.uniform(1, min(60 * 2**attempts, MAX_RETRY_WAIT_SECONDS))
        next_try = fields.Datetime.now() + timedelta(seconds=wait)
        _logger.info("Cancellation request %s: %s Tried again at %s.", self.id, why, next_try)
        self.write({"attempts": attempts, "next_try": next_try})
        self.env.ref("order_cancel_reconciled.ir_cron_process_cancel_requests")._trigger(at=next_try)

    def _mark_failed(self, error):
        staff = self.with_context(lang=self._get_staff_lang())
        self.write({"state": "failed", "error": error})
        self.message_post(body=staff.env._("The cancellation failed: %s", error))
        staff._schedule_member_activity(staff.env._("The automatic cancellation failed"), error)

    # ------------------------------------------------------------------------------------------
    # Telling people
    # ------------------------------------------------------------------------------------------

    def _schedule_member_activity(self, summary, note=None):
        """A to-do on the order for its salesperson when a member, else for every member."""
        members = self.env.ref(GROUP_XMLID).sudo().all_user_ids.filtered(lambda user: not user.share and user.active)
        for request in self:
            order = request.order_id
            users = order.user_id if order.user_id in members else members
            for user in users.filtered(lambda user, order=order: order.company_id in user.company_ids):
                # The customer's words are text, never markup in the members' to-do.
                order.sudo().activity_schedule(
                    ACTIVITY_XMLID,
                    user_id=user.id,
                    summary=summary,
                    note=Markup("<p>%s</p>") % (note or request.comment or ""),
                )

    def _notify_customer(self):
        """The customer's message for the request's state, in the customer's language."""
        template = self.env.ref("order_cancel_reconciled.mail_template_cancel_request_update").sudo()
        for request in self:
            subject, body = (
                template._render_field(field, request.ids, compute_lang=True, options={"post_process": True})[
                    request.id
                ]
                for field in ("subject", "body_html")
            )
            # Written by the company (the salesperson), not by the customer who asked: an author
            # is left out of a message's recipients.
            author = request.order_id.user_id.partner_id or request.company_id.partner_id
            request.order_id.sudo().message_post(
                author_id=author.id,
                subject=subject,
                body=body,
                partner_ids=request.partner_id.ids,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
                email_layout_xmlid="mail.mail_notification_light",
            )
