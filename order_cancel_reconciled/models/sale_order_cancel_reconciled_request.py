from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from .order_cancel_reconciled_plan import GROUP_XMLID, OrdersBusyError

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


class SaleOrderCancelReconciledRequest(models.Model):
    """A customer's request to cancel a confirmed order, from the portal or taken by a member.

    The company's rules approve it at once or leave it to a member; approved requests are run
    by the scheduled action, one order per transaction, with the company's default options.
    """

    _name = "sale.order.cancel.reconciled.request"
    _description = "Request to cancel a paid order"
    _inherit = ["mail.thread"]
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

    _sql_constraints = [
        ("comment_length", f"CHECK(char_length(comment) <= {MAX_COMMENT})", "The comment is too long."),
    ]

    @api.depends("order_id")
    def _compute_display_name(self):
        for request in self:
            request.display_name = self.env._("Cancellation of %s", request.order_id.name)

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
        self._create_from_portal(order, reason, comment)
        return "sent"

    @api.model
    def _create_from_portal(self, order, reason, comment):
        """The customer's request: recorded, told to the members, and approved at once when the
        company's rules allow it."""
        request = self.create(
            {"order_id": order.id, "reason_id": reason.id, "comment": comment or False, "channel": "portal"}
        )
        order.message_post(
            body=Markup(self.env._("Cancellation requested by the customer: %(reason)s. %(comment)s"))
            % {"reason": reason.name, "comment": comment or ""},
            author_id=order.partner_id.id,
            subtype_xmlid="mail.mt_note",
        )
        request._notify_customer()
        if not request._approve_by_rules():
            request._schedule_member_activity(self.env._("Cancellation requested: approve or refuse it"))
        return request

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
        if company.cancel_request_auto_online_only and not self._is_paid_online_only(plan):
            failures.append(_("not paid only by online payments that can be refunded"))
        if plan.refusal:
            failures.append(plan.refusal)
        return failures

    @staticmethod
    def _is_paid_online_only(plan):
        payments = plan.payments
        return (
            bool(payments)
            and all(match.counterpart_line.move_id.origin_payment_id for match in plan.external_matches)
            and all(
                payment.payment_transaction_id.provider_id.support_refund in ("full_only", "partial")
                for payment in payments
            )
        )

    def _approve_by_rules(self):
        """Approve when every condition the company chose holds; the scheduled action runs it."""
        failures = self._get_rule_failures()
        if failures:
            self.message_post(
                body=self.env._("Waits for a member: %s.", "; ".join(failures)), subtype_xmlid="mail.mt_note"
            )
            return False
        self.write({"state": "approved", "decision_date": fields.Datetime.now(), "decided_by_id": False})
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
        self.check_access("write")

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
            "default_cancel_request_id": self.id,
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
        self.order_id.activity_unlink(["mail.mail_activity_data_todo"])
        return True

    def _mark_done(self, log):
        if self:
            self.sudo().write({"state": "done", "log_id": log.id, "error": False})
            self.order_id.activity_unlink(["mail.mail_activity_data_todo"])

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
        )

    @api.model
    def _cron_process_approved(self):
        """Cancel the next approved request, one order per call: the scheduler commits between
        calls and calls again while some remain. A request another run holds is skipped, and one
        whose order someone is changing right now stays approved for the next run."""
        # A scheduled action of the system: the approval was the decision, checked when taken.
        requests = self.sudo()
        request = requests._lock_next_approved()
        processed = request and request._process()
        remaining = requests.search_count([("state", "=", "approved")])
        # Nothing done (none left, or the order is busy) ends this run; the next one tries again.
        self.env["ir.cron"]._notify_progress(done=1 if processed else 0, remaining=remaining)
        return request if processed else requests.browse()

    @api.model
    def _lock_next_approved(self):
        # Two runs at once (a second worker, a manual run) each take a different request.
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT id FROM %s WHERE state = 'approved' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
                SQL.identifier(self._table),
            )
        )
        row = self.env.cr.fetchone()
        request = self.browse(row[0] if row else [])
        request.invalidate_recordset()
        return request.filtered(lambda request: request.state == "approved")

    def _process(self):
        """Run the cancellation elevated (the approval was the decision), all or nothing; on a
        refusal or an error the request is marked failed and the members are told. False when
        the order is busy and the request stays approved."""
        self.ensure_one()
        engine = self.env["order.cancel.reconciled.engine"].sudo()
        try:
            logs = engine._run(self.order_id.sudo(), self._prepare_options())
        except OrdersBusyError:
            # Someone is paying or editing the order right now: the next run tries again.
            return False
        except (UserError, ValidationError) as error:
            self.write({"state": "failed", "error": error.args[0]})
            self.message_post(body=self.env._("The cancellation failed: %s", error.args[0]))
            self._schedule_member_activity(self.env._("The automatic cancellation failed"), error.args[0])
            return True
        # The engine's cancel step has marked the request done with the log.
        return bool(logs)

    # ------------------------------------------------------------------------------------------
    # Telling people
    # ------------------------------------------------------------------------------------------

    def _schedule_member_activity(self, summary, note=None):
        """A to-do on the order for its salesperson when a member, else for every member."""
        members = self.env.ref(GROUP_XMLID).sudo().users.filtered(lambda user: not user.share and user.active)
        for request in self:
            order = request.order_id
            users = order.user_id if order.user_id in members else members
            for user in users.filtered(lambda user, order=order: order.company_id in user.company_ids):
                order.sudo().activity_schedule(
                    "mail.mail_activity_data_todo", user_id=user.id, summary=summary, note=note or request.comment
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
            request.order_id.sudo().message_post(
                subject=subject,
                body=body,
                partner_ids=request.partner_id.ids,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
                email_layout_xmlid="mail.mail_notification_light",
            )
