from collections import defaultdict

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.osv import expression

from .order_cancel_reconciled_plan import AMOUNT_FIELDS, CHANNELS, INVOICE_ACTIONS, PAYMENT_ACTIONS, STOCK_ACTIONS


class SaleOrderCancelReconciledLog(models.Model):
    _name = "sale.order.cancel.reconciled.log"
    _description = "Cancellation of a reconciled order"
    _inherit = ["mail.thread", "order.cancel.reconciled.caller.guard"]
    _order = "date desc, id desc"
    _check_company_auto = True
    # Accountants comment on the logs they review without being able to change them.
    _mail_post_access = "read"

    # Titles and descriptions are rendered when read, in the reader's language, from the facts the
    # log stores (kinds, documents, amounts): a reviewer never reads the writer's language.
    name = fields.Char(compute="_compute_name", search="_search_name")
    # A log records one order: a sale order here; another kind of order (purchase orders, with
    # purchase_order_cancel_reconciled) adds its kind and its own field, exactly one of them set.
    order_kind = fields.Selection(
        [("sale", "Sale")], string="Order Type", required=True, readonly=True, default="sale", index=True
    )
    order_id = fields.Many2one(
        "sale.order",
        string="Sale Order",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
        check_company=True,
    )
    partner_id = fields.Many2one(
        "res.partner", compute="_compute_partner_id", store=True, precompute=True, string="Customer", index=True
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    user_id = fields.Many2one("res.users", string="Cancelled by", required=True, readonly=True, index=True)
    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    reason_id = fields.Many2one("sale.order.cancel.reconciled.reason", readonly=True, ondelete="restrict")
    note = fields.Text(readonly=True)
    invoice_action = fields.Selection(INVOICE_ACTIONS, string="Invoices", required=True, readonly=True)
    payment_action = fields.Selection(PAYMENT_ACTIONS, string="Payments", required=True, readonly=True)
    stock_action = fields.Selection(STOCK_ACTIONS, string="Delivered Goods", required=True, readonly=True)
    notify_customer = fields.Boolean(string="Customer Notified", readonly=True)
    channel = fields.Selection(
        CHANNELS,
        readonly=True,
        index=True,
        help="Who started the cancellation: a user in the dialog, a customer's request (approved by a "
        "member), the company's rules, a background batch, or code (the API).",
    )
    state = fields.Selection(
        [("to_review", "To review"), ("reviewed", "Reviewed")],
        default="to_review",
        required=True,
        copy=False,
        tracking=True,
    )
    reviewer_id = fields.Many2one("res.users", readonly=True, copy=False, tracking=True)
    review_date = fields.Datetime(readonly=True, copy=False)
    line_ids = fields.One2many("sale.order.cancel.reconciled.log.line", "log_id", string="Effects", readonly=True)
    unreconcile_line_ids = fields.One2many(
        "sale.order.cancel.reconciled.log.line",
        "log_id",
        string="Unreconciled Payments",
        domain=[("kind", "=", "unreconcile")],
        readonly=True,
    )
    invoice_line_ids = fields.One2many(
        "sale.order.cancel.reconciled.log.line",
        "log_id",
        string="Invoices Reversed or Cancelled",
        domain=[("kind", "in", ("credit_note", "invoice_cancel"))],
        readonly=True,
    )
    payment_line_ids = fields.One2many(
        "sale.order.cancel.reconciled.log.line",
        "log_id",
        string="Payments Cancelled or Refunded",
        domain=[("kind", "in", ("payment_cancel", "payment_refund", "writeoff_reversal"))],
        readonly=True,
    )
    picking_line_ids = fields.One2many(
        "sale.order.cancel.reconciled.log.line",
        "log_id",
        string="Transfers Cancelled or Returned",
        domain=[("kind", "in", ("picking_cancel", "picking_return"))],
        readonly=True,
    )
    # Written once by the run that writes the lines, summed from them as it writes them: the
    # lines are the run's own and none is added or changed after it (not read back to sum them).
    amount_unreconciled = fields.Monetary(readonly=True)
    amount_reversed = fields.Monetary(readonly=True)
    amount_refunded = fields.Monetary(readonly=True)

    # The field naming the order, per kind.
    _order_fields = {"sale": "order_id"}

    def _get_cancelled_order(self):
        """The order this log records, whatever its kind."""
        self.ensure_one()
        return self[self._order_fields[self.order_kind]]

    @api.constrains("order_kind", "order_id")
    def _check_cancelled_order(self):
        for log in self:
            if not log._get_cancelled_order():
                raise ValidationError(self.env._("A cancellation log records one order: it has none."))

    @api.depends("order_id.partner_id")
    def _compute_partner_id(self):
        for log in self:
            log.partner_id = log._get_cancelled_order().partner_id

    @api.depends("order_id.name", "order_kind")
    @api.depends_context("lang")
    def _compute_name(self):
        for log in self:
            log.name = log._get_name_of(log._get_cancelled_order())

    def _get_name_of(self, order):
        """The name of the log of this order, in the reader's language."""
        return self.env._("Cancellation of %s", order.name)

    def _search_name(self, operator, value):
        # A negative search is the complement of the positive one: a log leaves every other kind's
        # field empty, which a negative term on that field would not match.
        negative = operator in expression.NEGATIVE_TERM_OPERATORS
        positive = expression.TERM_OPERATORS_NEGATION[operator] if negative else operator
        fields_ = dict.fromkeys(self._order_fields.values())
        domain = expression.OR([[(f"{name}.name", positive, value)] for name in fields_])
        # The orders' names are read elevated: a reviewer or a member may lack the Sales or the
        # Purchase app; which logs they see is still decided by the logs' own rules.
        matching = self.sudo()._search(domain)
        return [("id", "not in" if negative else "in", matching)]

    @api.model
    def _get_amounts_of(self, vals_list):
        """The totals of the lines to write, as the log's amounts: each kind adds its amount in
        the company's currency to one of them (the others add to none)."""
        totals = defaultdict(float)
        for vals in vals_list:
            field = AMOUNT_FIELDS.get(vals["kind"])
            if field:
                totals[field] += vals.get("amount_company") or 0.0
        return totals

    def _action_open_logs(self):
        """The logs of a run, as the faces show them once it is done."""
        if len(self) == 1:
            # The log's form alone, as the client shows it (its title is the log's name): built
            # here, not read from the menu's action, which costs a cancellation a few queries.
            return {
                "type": "ir.actions.act_window",
                "res_model": self._name,
                "res_id": self.id,
                "view_mode": "form",
                "views": [(False, "form")],
                "target": "current",
            }
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "order_cancel_reconciled.sale_order_cancel_reconciled_log_action"
        )
        # These logs, all of them: not the review's default filter.
        action.update(domain=[("id", "in", self.ids)], context={})
        return action

    def action_reorder(self):
        """Start a new quotation with the cancelled order's lines: "refund or re-order"."""
        self.ensure_one()
        # As the user: creating a quotation needs the sales rights the button is shown for.
        quotation = self.order_id.copy({"origin": self.order_id.name})
        quotation.message_post_with_source(
            "mail.message_origin_link",
            render_values={"self": quotation, "origin": self.order_id},
            subtype_xmlid="mail.mt_note",
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "sale.order",
            "res_id": quotation.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }

    def _check_reviewer(self):
        if not self.env.user.has_group("account.group_account_manager"):
            raise AccessError(
                self.env._("Only billing administrators (Accounting: Administrator) may review cancellation logs.")
            )
        self.check_access("read")

    def action_mark_reviewed(self):
        self._check_reviewer()
        done = self.filtered(lambda log: log.state == "reviewed")
        if done:
            raise UserError(self.env._("Already reviewed: %s.", ", ".join(done.mapped("name"))))
        # Logs are read-only for everyone: reviewing is the one change, made by this action only.
        self.sudo().write({"state": "reviewed", "reviewer_id": self.env.uid, "review_date": fields.Datetime.now()})
        self.sudo()._message_log_batch(
            bodies=dict.fromkeys(self.ids, Markup(self.env._("Reviewed by %s.")) % self.env.user.name)
        )
        return True

    def action_reset_to_review(self):
        self._check_reviewer()
        self.sudo().write({"state": "to_review", "reviewer_id": False, "review_date": False})
        self.sudo()._message_log_batch(
            bodies=dict.fromkeys(self.ids, Markup(self.env._("Set back to review by %s.")) % self.env.user.name)
        )
        return True

    def _get_affected_moves(self):
        lines = self.line_ids
        moves = lines.invoice_id | lines.counterpart_move_id | lines.result_move_id
        return moves | lines.result_payment_id.move_id | lines.payment_id.move_id

    def action_open_journal_items(self):
        # The domain is built apart: Odoo 19's term extractor takes a string of a literal next to
        # a translated one for a term.
        domain = [("move_id", "in", self._get_affected_moves().ids)]
        return {
            "name": self.env._("Journal Items Affected"),
            "type": "ir.actions.act_window",
            "res_model": "account.move.line",
            "view_mode": "list,form",
            "domain": domain,
            "context": {"search_default_group_by_move": 1, "create": False},
        }
