from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import format_date, formatLang

from ..models.order_cancel_reconciled_caller_guard import check_caller_fields, check_caller_vals
from ..models.order_cancel_reconciled_plan import (
    DEFAULT_REASON_XMLID,
    INVOICE_ACTIONS,
    MAX_IDS_IN_MESSAGE,
    MAX_ORDERS,
    PAYMENT_ACTIONS,
    STOCK_ACTIONS,
)

ENGINE = "order.cancel.reconciled.engine"


class SaleOrderCancelReconciled(models.TransientModel):
    """The dialog of the cancellation: the options, the customer's message and the preview of
    what will happen. The run itself is the engine's (``order.cancel.reconciled.engine``); the
    preview shows the plans and findings the engine will act on and refuse on."""

    _name = "sale.order.cancel.reconciled"
    _inherit = ["order.cancel.reconciled.caller.guard"]
    _description = "Cancel reconciled sale orders"
    # The dialog of another kind of order (purchase_order_cancel_reconciled) inherits this one
    # with its own orders; the vendor's side changes the preview's words.
    _vendor_side = False

    order_ids = fields.Many2many("sale.order", string="Orders", required=True)
    company_id = fields.Many2one("res.company", compute="_compute_company_id")
    invoice_action = fields.Selection(
        INVOICE_ACTIONS, string="Invoices", required=True, default=lambda self: self._default_option("invoice_action")
    )
    payment_action = fields.Selection(
        PAYMENT_ACTIONS, string="Payments", required=True, default=lambda self: self._default_option("payment_action")
    )
    stock_action = fields.Selection(
        STOCK_ACTIONS,
        string="Delivered Goods",
        required=True,
        default=lambda self: self._default_option("stock_action"),
    )
    reason_id = fields.Many2one("sale.order.cancel.reconciled.reason", domain=lambda self: self._domain_reason_id())
    # The dialog asks a person for the reason unless the company made it optional; a run given
    # none (code, or an RPC caller confirming the dialog) gets the documented default reason.
    opened_from_cancel = fields.Boolean(
        string="Opened by Cancel", help="The user pressed Cancel on paid orders: the dialog says why it opened."
    )
    reason_optional = fields.Boolean(related="company_id.cancel_reconciled_reason_optional")
    note = fields.Text()
    notify_customer = fields.Boolean(string="Notify the Customer")
    # Computed before the dialog is inserted (precompute): no update of a dialog just created.
    mail_subject = fields.Char(
        string="Subject", compute="_compute_mail", store=True, readonly=False, compute_sudo=True, precompute=True
    )
    mail_body = fields.Html(
        string="Message",
        compute="_compute_mail",
        store=True,
        readonly=False,
        compute_sudo=True,
        precompute=True,
        sanitize_style=True,
    )
    preview_html = fields.Html(string="What Will Happen", compute="_compute_preview", sanitize=False)
    is_blocked = fields.Boolean(string="Blocked", compute="_compute_preview")
    blocked_order_ids = fields.Many2many("sale.order", string="Blocked Orders", compute="_compute_preview")
    can_remove_blocked = fields.Boolean(compute="_compute_preview")
    order_count = fields.Integer(string="Number of Orders", compute="_compute_in_background")
    in_background = fields.Boolean(
        compute="_compute_in_background", help="More orders than the company's threshold: a background batch."
    )

    def _domain_reason_id(self):
        # "No reason given" is what a cancellation given none is logged with (a person leaves an
        # optional reason empty): the dialog offers the company's reasons to pick.
        not_given = self.env.ref(DEFAULT_REASON_XMLID, raise_if_not_found=False)
        return [("id", "!=", not_given.id)] if not_given else []

    @api.model
    def _default_option(self, option):
        return self.env.company[f"cancel_reconciled_{option}"] or self._fields[option].selection[0][0]

    @api.model
    def default_get(self, fields_list):
        check_caller_fields(self, fields_list)
        res = super().default_get(fields_list)
        context = self.env.context
        order_model = self._fields["order_ids"].comodel_name
        if "order_ids" in fields_list and not res.get("order_ids") and context.get("active_model") == order_model:
            res["order_ids"] = [Command.set(context.get("active_ids") or [])]
        return res

    @api.model_create_multi
    def create(self, vals_list):
        check_caller_vals(self, vals_list)
        for vals in vals_list:
            self._check_input_vals(vals)
        return super().create(vals_list)

    def write(self, vals):
        check_caller_vals(self, vals, many=False)
        self._check_input_vals(vals)
        return super().write(vals)

    @api.model
    def _check_input_vals(self, vals):
        """Refuse, with a message an integrator can act on, what the database would reject later:
        the options as the engine does, and order ids that are not ids of visible orders."""
        engine = self.env[ENGINE]
        engine._check_option_values(vals)
        if "order_ids" in vals:
            ids = self._ids_from_commands(vals["order_ids"])
            wrong = [value for value in ids if not engine._is_record_id(value)]
            if wrong:
                raise ValidationError(
                    self.env._(
                        "order_ids must be ids of orders; these are not: %s.",
                        ", ".join(repr(value) for value in wrong[:MAX_IDS_IN_MESSAGE]),
                    )
                )
            self.env[self._fields["order_ids"].comodel_name].browse(ids)._check_orders_visible()

    @api.model
    def _ids_from_commands(self, commands):
        """The ids a many2many value links: plain ids, or Command.set/link; nothing else.

        A create or update command would change orders through the wizard, and a value that is not
        a list is an integrator's mistake: both are refused, and so is an oversized request, before
        anything is read.
        """
        _ = self.env._
        if not isinstance(commands, (list, tuple)):
            raise ValidationError(_("order_ids must be a list of order ids or of link/set commands, not %r.", commands))
        plain = [value for value in commands if not isinstance(value, (list, tuple))]
        if plain and len(plain) != len(commands):
            raise ValidationError(_("order_ids is either a list of ids or a list of commands, not both."))
        ids = []
        for command in commands:
            if isinstance(command, (list, tuple)) and len(command) == 3 and command[0] == Command.SET:
                if not isinstance(command[2], (list, tuple)):
                    raise ValidationError(_("order_ids: Command.set takes a list of ids."))
                ids += list(command[2])
            elif isinstance(command, (list, tuple)) and len(command) in (2, 3) and command[0] == Command.LINK:
                ids.append(command[1])
            elif isinstance(command, (list, tuple)):
                raise ValidationError(
                    _("order_ids accepts order ids and link or set commands only, not %r.", tuple(command)[:2])
                )
            else:
                ids.append(command)
            if len(ids) > MAX_ORDERS:
                raise ValidationError(_("At most %(max)s orders can be cancelled in one request.", max=MAX_ORDERS))
        return ids

    @api.depends("order_ids")
    def _compute_company_id(self):
        for wizard in self:
            wizard.company_id = wizard.order_ids.company_id[:1]

    @api.depends("order_ids")
    def _compute_in_background(self):
        for wizard in self:
            wizard.order_count = len(wizard.order_ids)
            company = wizard.company_id or self.env.company
            wizard.in_background = wizard.order_count > company.cancel_reconciled_background_from

    @api.depends("order_ids", "notify_customer", "payment_action", "reason_id")
    def _compute_mail(self):
        for wizard in self:
            order = wizard.order_ids._origin
            # Computed elevated (it may be recomputed while another user flushes): the message
            # shows the order, so it is rendered only when the dialog's owner may see it.
            owner = wizard.create_uid or self.env.user
            if wizard.notify_customer and len(order) == 1 and order.with_user(owner)._is_visible_to_user():
                wizard.mail_subject, wizard.mail_body = self.env[ENGINE]._render_customer_message(
                    order, wizard._prepare_options()
                )
            else:
                wizard.mail_subject = wizard.mail_body = False

    def _prepare_options(self, with_message=True):
        """The engine's options from the dialog's fields; with the message as the user edited it."""
        self.ensure_one()
        edited = with_message and self.notify_customer and len(self.order_ids) == 1 and self.mail_body
        return self.env[ENGINE]._prepare_options(
            self.company_id or self.env.company,
            invoice_action=self.invoice_action,
            payment_action=self.payment_action,
            stock_action=self.stock_action,
            reason_id=self.reason_id.id,
            note=self.note,
            notify_customer=self.notify_customer,
            message=(self.mail_subject, self.mail_body) if edited else (),
            channel="backoffice",
        )

    # ------------------------------------------------------------------------------------------
    # Preview: the engine's plans and findings, in words
    # ------------------------------------------------------------------------------------------

    @api.depends("order_ids", "invoice_action", "payment_action", "stock_action")
    def _compute_preview(self):
        for wizard in self:
            orders = wizard.order_ids._origin
            try:
                # The preview reads elevated: only after the user's own right to see the orders.
                orders._check_orders_visible()
            except AccessError as refusal:
                wizard.is_blocked = True
                wizard.blocked_order_ids = False
                wizard.can_remove_blocked = False
                wizard.preview_html = self.env["ir.qweb"]._render(
                    "order_cancel_reconciled.cancel_reconciled_preview",
                    {"previews": [{"error": refusal.args[0]}], "wizard": wizard, "vendor": self._vendor_side},
                )
                continue
            # Shown to members who may lack accounting and stock rights, like the run itself.
            wizard_sudo = wizard.sudo()
            engine = self.env[ENGINE].sudo()
            if wizard.in_background:
                wizard._set_background_preview(engine._get_batch_findings(orders))
                continue
            options = wizard._prepare_options(with_message=False)
            plans = engine._prepare_plans(orders.sudo(), options)
            previews = [wizard_sudo._prepare_preview(plan, options) for plan in plans]
            balances = wizard_sudo._preview_balances(plans, options)
            for preview in previews:
                preview["balance"] = balances[preview["order"].partner_id.commercial_partner_id]
            blocked = [preview["order"].id for preview in previews if preview["error"]]
            wizard.blocked_order_ids = [Command.set(blocked)]
            wizard.can_remove_blocked = bool(blocked) and len(blocked) < len(previews)
            summary = wizard_sudo._prepare_summary(plans, previews, options) if len(plans) > 1 else False
            batch = [{"error": finding.message} for finding in engine._get_batch_findings(orders) if finding.blocking]
            previews[:0] = batch
            wizard.is_blocked = any(preview.get("error") for preview in previews)
            wizard.preview_html = self.env["ir.qweb"]._render(
                "order_cancel_reconciled.cancel_reconciled_preview",
                {
                    "previews": previews,
                    "wizard": wizard,
                    "summary": summary,
                    "balances": balances,
                    "vendor": self._vendor_side,
                },
            )

    def _set_background_preview(self, batch_findings):
        """A big selection is planned order by order when each runs, not all here: the preview
        says how it will go and what refuses the selection as a whole."""
        errors = [{"error": finding.message} for finding in batch_findings if finding.blocking]
        self.is_blocked = bool(errors)
        self.blocked_order_ids = False
        self.can_remove_blocked = False
        self.preview_html = self.env["ir.qweb"]._render(
            "order_cancel_reconciled.cancel_reconciled_preview",
            {
                "previews": errors,
                "wizard": self,
                "background": {"count": self.order_count},
                "vendor": self._vendor_side,
            },
        )

    def _prepare_preview(self, plan, options):
        """What the run will do to one order, in words, with what needs attention."""
        return {
            "order": plan.order,
            "error": plan.refusal or False,
            "payments": self._preview_payments(plan),
            "writeoffs": self._preview_writeoffs(plan, options),
            "invoices": self._preview_invoices(plan, options),
            "pickings": self._preview_pickings(plan, options),
            "warnings": plan.warnings,
        }

    def _preview_writeoffs(self, plan, options):
        """Per payment with discounts or write-offs: the money received and what is reversed."""
        if options.payment_action == "cancel":
            return []
        engine = self.env[ENGINE]
        rows = []
        for share in plan.writeoffs:
            currency = share.counterpart.currency_id
            writeoff = engine._writeoff_total(share)
            rows.append(
                {
                    "name": share.move.origin_payment_id.display_name or share.move.name,
                    "money": currency.format(sum(share.freed.values()) - writeoff),
                    "writeoff": currency.format(abs(writeoff)),
                    "accounts": ", ".join(
                        dict.fromkeys(share_line.line.account_id.display_name for share_line in share.lines)
                    ),
                }
            )
        return rows

    def _preview_payments(self, plan):
        engine = self.env[ENGINE]
        ways = engine._get_refund_ways(plan)
        rows = []
        for match in plan.external_matches:
            line = match.counterpart_line
            payment = line.move_id.origin_payment_id
            others = engine._get_matched_moves(line) - plan.documents
            rows.append(
                {
                    "name": payment.display_name or line.move_id.name,
                    "document": match.document_line.move_id.name,
                    "amount": match.currency.format(match.amount),
                    "shared": ", ".join(others.filtered(lambda move: move.is_invoice()).mapped("display_name")),
                    # How a refund goes back: through the payment's provider, or by hand.
                    "provider": ways[line][1].provider_id.name if line in ways else False,
                }
            )
        return rows

    def _preview_invoices(self, plan, options):
        _ = self.env._
        engine = self.env[ENGINE]
        rows = []
        for move in plan.documents:
            if options.invoice_action == "cancel":
                outcome = _("reset to draft and cancelled")
            else:
                date = format_date(self.env, engine._get_reversal_date(move))
                outcome = _("reversed by a credit note dated %s", date)
            rows.append({"name": move.name, "amount": move.currency_id.format(move.amount_total), "outcome": outcome})
        for move in plan.draft_invoices:
            rows.append(
                {
                    "name": move.display_name,
                    "amount": move.currency_id.format(move.amount_total),
                    "outcome": _("draft: cancelled"),
                }
            )
        return rows

    def _preview_pickings(self, plan, options):
        _ = self.env._
        rows = [
            {"name": picking.name, "outcome": _("cancelled"), "moves": self._describe_moves(picking.move_ids)}
            for picking in plan.pending_pickings
        ]
        if options.stock_action != "none":
            outcome = (
                _("returned and validated now")
                if options.stock_action == "return_validate"
                else _("return prepared for the warehouse")
            )
            quantities = self.env[ENGINE]._get_returnable_quantities(plan.done_pickings)
            for picking in plan.done_pickings:
                moves = {move: qty for move, qty in quantities.items() if move.picking_id == picking}
                if moves:
                    rows.append({"name": picking.name, "outcome": outcome, "moves": self._describe_moves(moves)})
        return rows

    def _describe_moves(self, moves):
        if not isinstance(moves, dict):
            moves = {move: move.product_qty for move in moves if move.state not in ("done", "cancel")}
        return ", ".join(
            f"{formatLang(self.env, qty, digits=0 if float(qty).is_integer() else 2)} {move.product_id.uom_id.name} "
            f"{move.product_id.display_name}"
            for move, qty in moves.items()
        )

    def _preview_balances(self, plans, options):
        """Per customer, the receivable balance once the whole run is done, in company currency:
        one figure per customer however many of their orders are selected."""
        if not plans:
            return {}
        partners = self.env["res.partner"].union(*(plan.order.partner_id.commercial_partner_id for plan in plans))
        company = self.company_id or self.env.company
        current = dict(
            self.env["account.move.line"]._read_group(
                [
                    ("partner_id.commercial_partner_id", "in", partners.ids),
                    ("account_id.account_type", "=", plans[0].order._get_cancel_reconciled_account_type()),
                    ("parent_state", "=", "posted"),
                    ("company_id", "=", company.id),
                ],
                ["partner_id"],
                ["balance:sum"],
            )
        )
        balances = dict.fromkeys(partners, 0.0)
        for partner, amount in current.items():
            balances[partner.commercial_partner_id] += amount
        engine = self.env[ENGINE]
        for plan in plans:
            balances[plan.order.partner_id.commercial_partner_id] += engine._get_balance_change(plan, options)
        currency = company.currency_id
        return {
            partner: self._describe_balance(currency, currency.round(amount) + 0.0)
            for partner, amount in balances.items()
        }

    def _describe_balance(self, currency, balance):
        """The balance in words, which way it is owed: a customer's receivable below zero is credit
        the customer holds (never a minus sign); a payable's debit is what the vendor owes us."""
        if currency.is_zero(balance):
            return self.env._("nothing owed either way")
        if not self._vendor_side:
            if balance > 0:
                return self.env._("%s owed by the customer", currency.format(balance))
            return self.env._("%s in credit for the customer", currency.format(-balance))
        if balance > 0:
            return self.env._("%s owed by the vendor", currency.format(balance))
        return self.env._("%s owed to the vendor", currency.format(-balance))

    def _prepare_summary(self, plans, previews, options):
        """The batch at a glance: what is ready, what is blocked and why, the money and goods."""
        currency = (self.company_id or self.env.company).currency_id
        engine = self.env[ENGINE]
        ready = [preview for preview in previews if preview.get("order") and not preview["error"]]
        money = sum(engine._get_money_to_refund(plan) for plan in plans) if options.payment_action == "refund" else 0.0
        goods = 0.0
        if options.stock_action != "none":
            pickings = self.env["stock.picking"].union(*(plan.done_pickings for plan in plans))
            goods = sum(engine._get_returnable_quantities(pickings).values())
        return {
            "ready": len(ready),
            "blocked": [
                (preview["order"].name, preview["error"])
                for preview in previews
                if preview.get("error") and preview.get("order")
            ],
            "refund": currency.format(money) if options.payment_action == "refund" else False,
            "goods": formatLang(self.env, goods, digits=0 if float(goods).is_integer() else 2),
        }

    # ------------------------------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------------------------------

    def action_remove_blocked_orders(self):
        """Take the orders that cannot be cancelled out of the selection, so the rest can go."""
        self.ensure_one()
        self.order_ids -= self.blocked_order_ids
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("Cancel Reconciled Orders"),
        }

    def action_confirm(self):
        """Cancel the orders and everything that hangs on them; return an action on the logs."""
        self.ensure_one()
        if self.in_background:
            return self._queue()._action_open()
        return self._run()._action_open_logs()

    def _queue(self):
        """Hand the dialog's orders and options to a background batch; return the batch."""
        self.ensure_one()
        self.check_access("write")
        orders = self.sudo().order_ids.with_env(self.env)
        return self.env["sale.order.cancel.reconciled.batch"]._create_for_orders(orders, self._prepare_options())

    def _run(self):
        """Hand the dialog's orders and options to the engine; return the logs."""
        self.ensure_one()
        # The dialog is its creator's (record rule): another member may not confirm it.
        self.check_access("write")
        # Read without record rules so that an order the user may no longer see is refused by the
        # engine, not silently left out of the run.
        orders = self.sudo().order_ids.with_env(self.env)
        return self.env[ENGINE]._run(orders, self._prepare_options())
