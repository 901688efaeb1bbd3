from collections import defaultdict

from markupsafe import Markup
from psycopg2.errors import LockNotAvailable

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, float_is_zero, format_date, formatLang

from ..models.sale_order import MAX_IDS_IN_MESSAGE, MAX_ORDERS, PLAIN_CANCEL_KEY
from ..models.sale_order_cancel_reconciled_log import INVOICE_ACTIONS, PAYMENT_ACTIONS, STOCK_ACTIONS

RECEIVABLE_TYPES = ("asset_receivable", "liability_payable")


class SaleOrderCancelReconciled(models.TransientModel):
    """Cancel confirmed orders together with their payments, invoices and deliveries.

    The run is a list of named steps (:meth:`_get_cancel_steps`), each called with the order, the
    plan computed before anything changed (:meth:`_prepare_plan`) and the order's log. Another
    addon adds a step by extending that list.
    """

    _name = "sale.order.cancel.reconciled"
    _description = "Cancel reconciled sale orders"

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
    reason_id = fields.Many2one("sale.order.cancel.reconciled.reason")
    note = fields.Text()
    notify_customer = fields.Boolean(string="Notify the Customer")
    mail_subject = fields.Char(string="Subject", compute="_compute_mail", store=True, readonly=False, compute_sudo=True)
    mail_body = fields.Html(
        string="Message", compute="_compute_mail", store=True, readonly=False, compute_sudo=True, sanitize_style=True
    )
    preview_html = fields.Html(string="What Will Happen", compute="_compute_preview", sanitize=False)
    is_blocked = fields.Boolean(string="Blocked", compute="_compute_preview")
    blocked_order_ids = fields.Many2many("sale.order", string="Blocked Orders", compute="_compute_preview")
    can_remove_blocked = fields.Boolean(compute="_compute_preview")

    @api.model
    def _default_option(self, option):
        return self.env.company[f"cancel_reconciled_{option}"] or self._fields[option].selection[0][0]

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        context = self.env.context
        if "order_ids" in fields_list and not res.get("order_ids") and context.get("active_model") == "sale.order":
            res["order_ids"] = [Command.set(context.get("active_ids") or [])]
        return res

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_input_vals(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._check_input_vals(vals)
        return super().write(vals)

    @api.model
    def _check_input_vals(self, vals):
        """Refuse, with a message an integrator can act on, what the database would reject later."""
        _ = self.env._
        for name in ("invoice_action", "payment_action", "stock_action"):
            allowed = [key for key, _label in self._fields[name].selection]
            if name in vals and vals[name] not in allowed:
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
        if "order_ids" in vals:
            ids = self._ids_from_commands(vals["order_ids"])
            wrong = [value for value in ids if not self._is_record_id(value)]
            if wrong:
                raise ValidationError(
                    _(
                        "order_ids must be ids of sale orders; these are not: %s.",
                        ", ".join(repr(value) for value in wrong[:MAX_IDS_IN_MESSAGE]),
                    )
                )
            self.env["sale.order"].browse(ids)._check_orders_visible()

    @staticmethod
    def _is_record_id(value):
        return isinstance(value, int) and not isinstance(value, bool) and value > 0

    @api.model
    def _ids_from_commands(self, commands):
        """The ids a many2many value links: plain ids, or Command.set/link; nothing else.

        A create or update command would change orders through the wizard, and a value that is not
        a list is an integrator's mistake: both are refused, and so is an oversized request, before
        anything is read.
        """
        _ = self.env._
        if not isinstance(commands, (list, tuple)):
            raise ValidationError(
                _("order_ids must be a list of sale order ids or of link/set commands, not %r.", commands)
            )
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
                    _("order_ids accepts sale order ids and link or set commands only, not %r.", tuple(command)[:2])
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

    @api.depends("order_ids", "notify_customer", "payment_action", "reason_id")
    def _compute_mail(self):
        for wizard in self:
            order = wizard.order_ids._origin
            # Computed elevated (it may be recomputed while another user flushes): the message
            # shows the order, so it is rendered only when the dialog's owner may see it.
            owner = wizard.create_uid or self.env.user
            if order and not order.with_user(owner)._is_visible_to_user():
                wizard.mail_subject = wizard.mail_body = False
            elif wizard.notify_customer and len(order) == 1:
                wizard.mail_subject, wizard.mail_body = wizard._render_customer_message(order)
            else:
                wizard.mail_subject = wizard.mail_body = False

    def _render_customer_message(self, order):
        template = self.env.ref("order_cancel_reconciled.mail_template_order_cancel_reconciled").sudo()
        # The reason is part of the message: in the customer's language, like the rest of it.
        lang = template._render_lang(order.ids)[order.id]
        template = template.with_context(
            cancel_reconciled_payment_action=self.payment_action,
            cancel_reconciled_reason=self.reason_id.with_context(lang=lang).name,
        )
        return tuple(
            template._render_field(field, order.ids, compute_lang=True, options={"post_process": True})[order.id]
            for field in ("subject", "body_html")
        )

    @api.depends("order_ids", "invoice_action", "payment_action", "stock_action")
    def _compute_preview(self):
        for wizard in self:
            try:
                # The preview reads elevated: only after the user's own right to see the orders.
                wizard.order_ids._origin._check_orders_visible()
            except AccessError as refusal:
                wizard.is_blocked = True
                wizard.blocked_order_ids = False
                wizard.can_remove_blocked = False
                wizard.preview_html = self.env["ir.qweb"]._render(
                    "order_cancel_reconciled.cancel_reconciled_preview",
                    {"previews": [{"error": refusal.args[0]}], "wizard": wizard},
                )
                continue
            # Shown to members who may lack accounting and stock rights, like the run itself.
            wizard_sudo = wizard.sudo()
            plans = wizard_sudo._prepare_plans()
            previews = [wizard_sudo._prepare_preview(order, plan) for order, plan in plans.items()]
            balances = wizard_sudo._preview_balances(plans)
            for preview in previews:
                preview["balance"] = balances[preview["order"].partner_id.commercial_partner_id]
            blocked = [preview["order"].id for preview in previews if preview["error"]]
            wizard.blocked_order_ids = [Command.set(blocked)]
            wizard.can_remove_blocked = bool(blocked) and len(blocked) < len(previews)
            summary = wizard_sudo._prepare_summary(plans, previews) if len(plans) > 1 else False
            if len(wizard.order_ids.company_id) > 1:
                previews.insert(0, {"error": self.env._("The orders belong to several companies.")})
            wizard.is_blocked = any(preview.get("error") for preview in previews)
            wizard.preview_html = self.env["ir.qweb"]._render(
                "order_cancel_reconciled.cancel_reconciled_preview",
                {"previews": previews, "wizard": wizard, "summary": summary, "balances": balances},
            )

    def _prepare_preview(self, order, plan):
        """What the run will do to one order, in words, with what needs attention."""
        try:
            self._check_order(order, plan)
            error = False
        except UserError as refusal:
            error = refusal.args[0]
        return {
            "order": order,
            "error": error,
            "payments": self._preview_payments(plan),
            "writeoffs": self._preview_writeoffs(plan),
            "invoices": self._preview_invoices(plan),
            "pickings": self._preview_pickings(plan),
            "warnings": self._preview_order_warnings(order) + self._preview_warnings(plan),
        }

    def _preview_order_warnings(self, order):
        # Odoo's Cancel refuses locked orders; the full cancellation is a member's deliberate act
        # and cancels them as they are, which the preview says.
        if order.locked and order.state == "sale":
            return [self.env._("%s is locked: it will be cancelled without being unlocked.", order.name)]
        return []

    def _preview_writeoffs(self, plan):
        """Per payment with discounts or write-offs: the money received and what is reversed."""
        if self.payment_action == "cancel":
            return []
        rows = []
        for share in plan["writeoffs"]:
            currency = next(iter(share["freed"])).currency_id
            writeoff = self._writeoff_total(share)
            rows.append(
                {
                    "name": share["move"].origin_payment_id.display_name or share["move"].name,
                    "money": currency.format(sum(share["freed"].values()) - writeoff),
                    "writeoff": currency.format(abs(writeoff)),
                    "accounts": ", ".join(
                        dict.fromkeys(vals["line"].account_id.display_name for vals in share["lines"])
                    ),
                }
            )
        return rows

    def _preview_payments(self, plan):
        documents = plan["documents"]
        rows = []
        for match in plan["external_matches"]:
            line = match["counterpart_line"]
            payment = line.move_id.origin_payment_id
            others = line.matched_debit_ids.debit_move_id | line.matched_credit_ids.credit_move_id
            rows.append(
                {
                    "name": payment.display_name or line.move_id.name,
                    "document": match["document_line"].move_id.name,
                    "amount": match["currency"].format(match["amount"]),
                    "shared": ", ".join(
                        (others.move_id - documents).filtered(lambda move: move.is_invoice()).mapped("display_name")
                    ),
                }
            )
        return rows

    def _preview_invoices(self, plan):
        _ = self.env._
        rows = []
        for move in plan["documents"]:
            if self.invoice_action == "cancel":
                outcome = _("reset to draft and cancelled")
            else:
                outcome = _("reversed by a credit note dated %s", format_date(self.env, self._get_reversal_date(move)))
            rows.append({"name": move.name, "amount": move.currency_id.format(move.amount_total), "outcome": outcome})
        for move in plan["draft_invoices"]:
            rows.append(
                {
                    "name": move.display_name,
                    "amount": move.currency_id.format(move.amount_total),
                    "outcome": _("draft: cancelled"),
                }
            )
        return rows

    def _preview_pickings(self, plan):
        _ = self.env._
        rows = [
            {"name": picking.name, "outcome": _("cancelled"), "moves": self._describe_moves(picking.move_ids)}
            for picking in plan["pending_pickings"]
        ]
        if self.stock_action != "none":
            outcome = (
                _("returned and validated now")
                if self.stock_action == "return_validate"
                else _("return prepared for the warehouse")
            )
            quantities = self._get_returnable_quantities(plan["done_pickings"])
            for picking in plan["done_pickings"]:
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

    def _preview_balances(self, plans):
        """Per customer, the receivable balance once the whole run is done, in company currency:
        one figure per customer however many of their orders are selected."""
        partners = self.env["res.partner"].union(*(order.partner_id.commercial_partner_id for order in plans))
        company = self.company_id or self.env.company
        current = dict(
            self.env["account.move.line"]._read_group(
                [
                    ("partner_id.commercial_partner_id", "in", partners.ids),
                    ("account_id.account_type", "=", "asset_receivable"),
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
        for order, plan in plans.items():
            balances[order.partner_id.commercial_partner_id] += self._balance_change(plan)
        currency = company.currency_id
        return {partner: currency.format(currency.round(amount) + 0.0) for partner, amount in balances.items()}

    def _balance_change(self, plan):
        """How the run changes the customer's receivable for one order."""
        change = -sum(plan["documents"].mapped("amount_total_signed"))
        if self.payment_action == "keep":
            # The reversed discounts and write-offs leave only the money received as credit.
            change += sum(vals["balance"] for share in plan["writeoffs"] for vals in share["lines"])
        if self.payment_action in ("cancel", "refund"):
            change += sum(
                match["amount_company"] * (1 if match["counterpart_line"].balance < 0 else -1)
                for match in plan["external_matches"]
            )
        return change

    def _prepare_summary(self, plans, previews):
        """The batch at a glance: what is ready, what is blocked and why, the money and goods."""
        currency = (self.company_id or self.env.company).currency_id
        ready = [preview for preview in previews if preview.get("order") and not preview["error"]]
        money = 0.0
        for plan in plans.values():
            if self.payment_action == "refund":
                # What was freed less what was not money: a discount lowers it, an excess
                # written off as income raises it (the customer paid it).
                money += sum(abs(match["amount_company"]) for match in plan["external_matches"])
                money -= sum(
                    self._money_sign(next(iter(share["freed"]))) * vals["balance"]
                    for share in plan["writeoffs"]
                    for vals in share["lines"]
                )
        goods = 0.0
        if self.stock_action != "none":
            quantities = self._get_returnable_quantities(
                self.env["stock.picking"].union(*(plan["done_pickings"] for plan in plans.values()))
            )
            goods = sum(quantities.values())
        return {
            "ready": len(ready),
            "blocked": [
                (preview["order"].name, preview["error"])
                for preview in previews
                if preview.get("error") and preview.get("order")
            ],
            "refund": currency.format(money) if self.payment_action == "refund" else False,
            "goods": formatLang(self.env, goods, digits=0 if float(goods).is_integer() else 2),
        }

    def _preview_warnings(self, plan):
        _ = self.env._
        warnings = []
        for move in plan["documents"]:
            if move.company_id._get_violated_lock_dates(move.date, bool(move.line_ids.tax_ids), move.journal_id):
                warnings.append(
                    _("%s is in a locked period: it can only be reversed, at the first open date.", move.name)
                )
            if move.journal_id.restrict_mode_hash_table:
                warnings.append(
                    _(
                        "%(invoice)s is in the hash-protected journal %(journal)s: it can only be reversed.",
                        invoice=move.name,
                        journal=move.journal_id.name,
                    )
                )
        for match in plan["external_matches"]:
            payment_move = match["counterpart_line"].move_id
            lines = payment_move.line_ids
            others = (lines.matched_debit_ids.debit_move_id | lines.matched_credit_ids.credit_move_id).move_id
            if payment_move.statement_line_id or others.statement_line_id:
                warnings.append(
                    _(
                        "%s is matched with a bank statement line: it cannot be cancelled.",
                        payment_move.origin_payment_id.display_name or payment_move.name,
                    )
                )
        serials = plan["done_pickings"].move_line_ids.lot_id
        if serials and self.stock_action != "none":
            warnings.append(_("Serial/lot numbers to return: %s.", ", ".join(serials.mapped("name"))))
        return list(dict.fromkeys(warnings))

    # ------------------------------------------------------------------------------------------
    # Public action
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
        return self._action_open_logs(self._run())

    def _run(self):
        """The run shared by the wizard and ``sale.order.cancel_reconciled()``; returns the logs."""
        self.ensure_one()
        # The dialog is its creator's (record rule): another member may not confirm it.
        self.check_access("write")
        # Read without record rules so that an order the user may no longer see is refused
        # below, not silently left out of the run.
        orders = self.sudo().order_ids.with_env(self.env)
        orders._check_cancel_reconciled_access()
        # Members need neither accounting nor stock rights: once the group and the right to
        # change these orders are checked as the real user, the run reads and acts elevated.
        # The real user stays env.uid, and so the author of the logs and messages.
        wizard = self.sudo().with_company(self.company_id)
        wizard._lock_orders()
        plans = wizard._prepare_plans()
        wizard._check_orders(plans)
        logs = self.env["sale.order.cancel.reconciled.log"]
        # A savepoint makes the run all-or-nothing even for a caller that catches the error.
        with self.env.cr.savepoint():
            for order, plan in plans.items():
                logs |= wizard._cancel_order(order, plan)
        return logs

    def _lock_orders(self):
        """Take the orders and their invoices for this run, or fail at once if another run,
        payment or edit holds them: nothing is then done twice."""
        orders = self.order_ids
        try:
            with self.env.cr.savepoint(flush=False):
                for table, ids in (("sale_order", orders.ids), ("account_move", orders.invoice_ids.ids)):
                    if ids:
                        # A refusal is expected here, not a bad query for the server log.
                        self.env.cr.execute(
                            SQL(
                                "SELECT id FROM %s WHERE id IN %s FOR UPDATE NOWAIT", SQL.identifier(table), tuple(ids)
                            ),
                            log_exceptions=False,
                        )
        except LockNotAvailable:
            raise UserError(
                self.env._(
                    "These orders or their invoices are being changed by another user right now (a payment, an "
                    "edit or another cancellation): %s. Try again in a moment.",
                    ", ".join(orders.mapped("name")),
                )
            ) from None
        # What was read before the lock may be older than what the lock now guarantees.
        orders.invalidate_recordset()
        orders.invoice_ids.invalidate_recordset()

    @api.model
    def _action_open_logs(self, logs):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "order_cancel_reconciled.sale_order_cancel_reconciled_log_action"
        )
        if len(logs) == 1:
            action.update(res_id=logs.id, view_mode="form", views=[(False, "form")])
        else:
            action["domain"] = [("id", "in", logs.ids)]
        return action

    # ------------------------------------------------------------------------------------------
    # Plan: what the run will touch, read before anything changes
    # ------------------------------------------------------------------------------------------

    def _prepare_plans(self):
        """A plan per order; an invoice shared by orders of the run is undone with the first."""
        plans = {}
        taken = self.env["account.move"]
        # Orders with a prefetch set of their own: the wizard's order_ids leave the cache during
        # the run, and orders read through them would then be fetched one at a time.
        for order in self.order_ids._origin.with_prefetch():
            plans[order] = self._prepare_plan(order, taken)
            taken |= plans[order]["documents"] | plans[order]["draft_invoices"]
        return plans

    def _prepare_plan(self, order, taken):
        documents = order._get_cancel_reconciled_documents()
        matches = self._get_matches(documents - taken)
        external = [match for match in matches if match["counterpart_line"].move_id not in documents]
        pickings = order.picking_ids
        return {
            "documents": documents - taken,
            "undone_earlier": documents & taken,
            "draft_invoices": order.invoice_ids.filtered(lambda move: move.state == "draft") - taken,
            "matches": matches,
            "external_matches": external,
            "payments": self._get_payments(external),
            "writeoffs": self._get_writeoff_shares(external),
            "pending_pickings": pickings.filtered(lambda picking: picking.state not in ("done", "cancel")),
            "done_pickings": pickings.filtered(lambda picking: picking.state == "done" and not picking.return_id),
        }

    def _get_matches(self, documents):
        """Each reconciliation of the documents' receivable lines, seen from the document's side.

        Amounts are read now: unreconciling deletes the partial reconcile records. Matches with
        exchange difference entries are left out: deleting the match that booked such an entry
        reverses it.
        """
        lines = documents.line_ids.filtered(lambda line: line.account_id.account_type in RECEIVABLE_TYPES)
        partials = lines.matched_debit_ids | lines.matched_credit_ids
        exchange_moves = partials.exchange_move_id | lines.full_reconcile_id.exchange_move_id
        matches = []
        for partial in partials:
            if (partial.debit_move_id | partial.credit_move_id).move_id & exchange_moves:
                continue
            document_is_debit = partial.debit_move_id in lines
            counterpart = partial.credit_move_id if document_is_debit else partial.debit_move_id
            matches.append(
                {
                    "partial": partial,
                    "document_line": partial.debit_move_id if document_is_debit else partial.credit_move_id,
                    "counterpart_line": counterpart,
                    "amount": partial.credit_amount_currency if document_is_debit else partial.debit_amount_currency,
                    "currency": counterpart.currency_id,
                    "amount_company": partial.amount,
                    "date": partial.max_date,
                    "exchange_move": partial.exchange_move_id,
                }
            )
        return matches

    def _get_payments(self, matches):
        return self.env["account.payment"].union(
            *(match["counterpart_line"].move_id.origin_payment_id for match in matches)
        )

    def _get_writeoff_lines(self, move):
        """Lines of a payment or bank entry that settled documents without being money: early
        payment discounts, write-offs, "mark as fully paid" differences. Other entries have none."""
        if move.origin_payment_id:
            _liquidity, _counterpart, writeoffs = move.origin_payment_id._seek_for_lines()
        elif move.statement_line_id:
            _liquidity, _suspense, writeoffs = move.statement_line_id._seek_for_lines()
        else:
            return self.env["account.move.line"]
        return writeoffs.filtered(lambda line: line.account_id.account_type not in RECEIVABLE_TYPES)

    def _get_writeoff_shares(self, matches):
        """Per payment (or bank) entry, this order's share of its non-money lines.

        The entry's receivable lines settled its documents for the money received plus those
        lines. This order's share is the part of that total it frees, applied to each line and
        rounded in its currency: the whole of it when the entry settled only this order.
        """
        freed = defaultdict(lambda: defaultdict(float))
        for match in matches:
            freed[match["counterpart_line"].move_id][match["counterpart_line"]] += match["amount"]
        shares = []
        for move, freed_by_line in freed.items():
            writeoffs = self._get_writeoff_lines(move)
            if not writeoffs:
                continue
            settled = sum(
                abs(line.amount_currency) for line in move.line_ids if line.account_id.account_type in RECEIVABLE_TYPES
            )
            if not settled:
                continue
            ratio = min(sum(freed_by_line.values()) / settled, 1.0)
            lines = [
                {
                    "line": line,
                    "amount_currency": line.currency_id.round(line.amount_currency * ratio),
                    "balance": line.company_currency_id.round(line.balance * ratio),
                }
                for line in writeoffs
            ]
            if all(
                line.company_currency_id.is_zero(vals["balance"]) for line, vals in zip(writeoffs, lines, strict=True)
            ):
                continue
            shares.append({"move": move, "freed": dict(freed_by_line), "lines": lines})
        return shares

    # ------------------------------------------------------------------------------------------
    # Checks: refuse before anything changes
    # ------------------------------------------------------------------------------------------

    def _check_orders(self, plans):
        orders = self.order_ids
        if not orders:
            raise UserError(self.env._("Select at least one order to cancel."))
        if len(orders.company_id) > 1:
            raise UserError(
                self.env._(
                    "The orders belong to several companies (%s): cancel them one company at a time.",
                    ", ".join(orders.company_id.mapped("name")),
                )
            )
        for order, plan in plans.items():
            self._check_order(order, plan)

    def _check_order(self, order, plan):
        _ = self.env._
        if order.state in ("draft", "sent"):
            raise UserError(_("%s is a quotation: cancel it with the standard Cancel button.", order.name))
        if order.state == "cancel":
            raise UserError(_("%s is already cancelled.", order.name))
        if not plan["documents"] | plan["undone_earlier"]:
            raise UserError(
                _("%s has no posted invoice to undo: cancel it with the standard Cancel button.", order.name)
            )
        self._check_shared_invoices(order, plan["documents"])
        if self.invoice_action == "cancel":
            for move in plan["documents"]:
                self._check_invoice_cancellable(order, move)
        if self.payment_action == "cancel":
            self._check_payments_cancellable(order, plan)

    def _check_shared_invoices(self, order, documents):
        for move in documents:
            others = move.invoice_line_ids.sale_line_ids.order_id - self.order_ids._origin
            if others:
                raise UserError(
                    self.env._(
                        "Invoice %(invoice)s of %(order)s also bills %(others)s. Cancel these orders "
                        "together, or issue a credit note for this order's lines by hand.",
                        invoice=move.name,
                        order=order.name,
                        others=", ".join(others.mapped("name")),
                    )
                )

    def _check_invoice_cancellable(self, order, move):
        _ = self.env._
        reason = False
        if move.need_cancel_request:
            reason = _("its cancellation must be requested from the tax authority")
        elif move.inalterable_hash or move.journal_id.restrict_mode_hash_table:
            reason = _("journal %s is hash-protected (inalterable)", move.journal_id.name)
        else:
            locks = move.company_id._get_violated_lock_dates(move.date, bool(move.line_ids.tax_ids), move.journal_id)
            if locks:
                reason = _(
                    "its date %(date)s is before the lock date %(lock)s",
                    date=format_date(self.env, move.date),
                    lock=format_date(self.env, locks[-1][0]),
                )
        if reason:
            raise UserError(
                _(
                    "Invoice %(invoice)s of %(order)s cannot be cancelled: %(reason)s. Choose “Reverse "
                    "with a credit note” instead.",
                    invoice=move.name,
                    order=order.name,
                    reason=reason,
                )
            )

    def _check_payments_cancellable(self, order, plan):
        _ = self.env._
        for match in plan["external_matches"]:
            move = match["counterpart_line"].move_id
            if not move.origin_payment_id:
                raise UserError(
                    _(
                        "%(entry)s, which pays %(order)s, is not a payment (a bank transaction or another "
                        "entry) and cannot be cancelled here. Keep the money as customer credit or refund it.",
                        entry=move.name,
                        order=order.name,
                    )
                )
        documents = plan["documents"]
        for payment in plan["payments"]:
            reason = False
            lines = payment.move_id.line_ids
            others = (lines.matched_debit_ids.debit_move_id | lines.matched_credit_ids.credit_move_id).move_id
            others -= payment.move_id | documents
            if others.statement_line_id:
                reason = _("it is matched with a bank statement line")
            elif others:
                reason = _("it also pays %s", ", ".join(others.mapped("display_name")))
            elif payment.move_id.inalterable_hash:
                reason = _("its journal entry is hash-protected (inalterable)")
            elif payment.company_id._get_violated_lock_dates(payment.date, False, payment.journal_id):
                reason = _("its date %s is in a locked period", format_date(self.env, payment.date))
            if reason:
                raise UserError(
                    _(
                        "Payment %(payment)s of %(order)s cannot be cancelled: %(reason)s. Keep it as "
                        "customer credit or refund it instead.",
                        payment=payment.display_name,
                        order=order.name,
                        reason=reason,
                    )
                )

    # ------------------------------------------------------------------------------------------
    # The run
    # ------------------------------------------------------------------------------------------

    def _get_cancel_steps(self):
        """Names of the methods that cancel one order, in order; each takes (order, plan, log)."""
        return [
            "_step_unreconcile_payments",
            "_step_settle_invoices",
            "_step_reverse_writeoffs",
            "_step_handle_payments",
            "_step_cancel_pending_pickings",
            "_step_cancel_order",
            "_step_return_delivered_goods",
            "_step_notify_customer",
            "_step_post_chatter",
        ]

    def _cancel_order(self, order, plan):
        log = self.env["sale.order.cancel.reconciled.log"].create(self._prepare_log_vals(order))
        for step in self._get_cancel_steps():
            try:
                getattr(self, step)(order, plan, log)
            except (UserError, ValidationError) as error:
                raise UserError(
                    self.env._("%(order)s could not be cancelled: %(error)s", order=order.name, error=error.args[0])
                ) from error
        return log

    def _prepare_log_vals(self, order):
        return {
            "order_id": order.id,
            "company_id": order.company_id.id,
            "user_id": self.env.uid,
            "reason_id": self.reason_id.id,
            "note": self.note,
            "invoice_action": self.invoice_action,
            "payment_action": self.payment_action,
            "stock_action": self.stock_action,
            "notify_customer": self.notify_customer,
        }

    def _add_log_lines(self, log, vals_list):
        self.env["sale.order.cancel.reconciled.log.line"].create(
            [{"log_id": log.id, "sequence": len(log.line_ids) + index, **vals} for index, vals in enumerate(vals_list)]
        )

    def _step_unreconcile_payments(self, order, plan, log):
        """Free the order's documents from their payments and from each other; nothing else."""
        vals_list = []
        for match in plan["matches"]:
            counterpart = match["counterpart_line"].move_id
            vals_list.append(
                {
                    "kind": "unreconcile",
                    "exchange_move_id": match["exchange_move"].id,
                    "invoice_id": match["document_line"].move_id.id,
                    "counterpart_move_id": counterpart.id,
                    "payment_id": counterpart.origin_payment_id.id,
                    "amount": match["amount"],
                    "currency_id": match["currency"].id,
                    "amount_company": match["amount_company"],
                    "date": match["date"],
                }
            )
        self._add_log_lines(log, vals_list)
        partials = self.env["account.partial.reconcile"].union(*(match["partial"] for match in plan["matches"]))
        partials.unlink()
        # A payment's invoice_ids is not updated by unreconciling; left stale, it keeps a freed
        # payment "paid" through the state of documents it no longer pays.
        for payment in plan["payments"]:
            stale = payment.invoice_ids & plan["documents"]
            if stale:
                payment.invoice_ids = [Command.unlink(move.id) for move in stale]

    def _step_settle_invoices(self, order, plan, log):
        documents = plan["documents"]
        if self.invoice_action == "cancel":
            documents.button_draft()
            documents.button_cancel()
            self._add_log_lines(log, [self._prepare_invoice_log_vals(move, "invoice_cancel") for move in documents])
        else:
            reversals = documents._reverse_moves([self._prepare_reversal_vals(move) for move in documents], cancel=True)
            self._add_log_lines(
                log,
                [
                    self._prepare_invoice_log_vals(move, "credit_note", reversal)
                    for move, reversal in zip(documents, reversals, strict=True)
                ],
            )
        draft_invoices = plan["draft_invoices"]
        draft_invoices.button_cancel()
        self._add_log_lines(log, [self._prepare_invoice_log_vals(move, "invoice_cancel") for move in draft_invoices])

    def _get_reversal_date(self, move):
        """Today, or the first open date when today falls in a locked period (today without a move)."""
        today = fields.Date.context_today(self)
        return move._get_accounting_date(today, move._affect_tax_report()) if move else today

    def _prepare_reversal_vals(self, move):
        date = self._get_reversal_date(move)
        reason = self.reason_id.name or self.env._("order %s cancelled", move.invoice_origin or "")
        return {
            "ref": self.env._("Reversal of: %(move)s, %(reason)s", move=move.name, reason=reason),
            "date": date,
            "invoice_date": date,
            "invoice_date_due": date,
            "invoice_payment_term_id": False,
            "invoice_user_id": move.invoice_user_id.id,
            "auto_post": "no",
        }

    def _prepare_invoice_log_vals(self, move, kind, result=None):
        # A credit note's amounts are its own (at its date's rate), not the invoice's.
        posted = result or move
        return {
            "kind": kind,
            "invoice_id": move.id,
            "result_move_id": result.id if result else False,
            "amount": posted.amount_total,
            "currency_id": posted.currency_id.id,
            "amount_company": abs(posted.amount_total_signed),
            "date": result.date if result else move.date,
        }

    def _step_reverse_writeoffs(self, order, plan, log):
        """Undo this order's share of discounts and write-offs booked in its payments' entries, so
        that what stays open (credit, or refunded) is exactly the money received.

        A cancelled payment takes its whole entry with it: nothing to undo then.
        """
        plan["writeoff_reversals"] = {}
        if self.payment_action == "cancel":
            return
        vals_list = []
        for share in plan["writeoffs"]:
            # The lines are given as they must be: no tax lines computed again from their taxes.
            reversal = (
                self.env["account.move"]
                .with_context(skip_invoice_sync=True)
                .create(self._prepare_writeoff_reversal_vals(order, plan, share))
            )
            reversal.action_post()
            receivables, writeoffs = self._split_receivable_lines(reversal.line_ids.sorted("id"))
            for counterpart, receivable in zip(share["freed"], receivables, strict=True):
                plan["writeoff_reversals"][counterpart] = receivable
                # A discount (debit) is matched with the freed credit; an excess written off as
                # income (credit) stays open beside it, and a refund pays both back.
                if counterpart.balance * receivable.balance < 0:
                    (counterpart | receivable).reconcile()
            payment = share["move"].origin_payment_id
            currency = share["lines"][0]["line"].currency_id
            amount = sum(writeoffs.mapped("amount_currency"))
            vals_list.append(
                {
                    "kind": "writeoff_reversal",
                    "payment_id": payment.id,
                    "counterpart_move_id": share["move"].id,
                    "result_move_id": reversal.id,
                    "amount": abs(amount),
                    "currency_id": currency.id,
                    "amount_company": abs(sum(writeoffs.mapped("balance"))),
                    "date": reversal.date,
                }
            )
        self._add_log_lines(log, vals_list)

    @staticmethod
    def _split_receivable_lines(lines):
        receivables = lines.filtered(lambda line: line.account_id.account_type in RECEIVABLE_TYPES)
        return receivables, lines - receivables

    @staticmethod
    def _money_sign(counterpart_line):
        """1 for money received (a freed credit on the receivable), -1 for money paid out: the
        money in a freed amount is that amount less this sign times the non-money share."""
        return 1 if counterpart_line.balance < 0 else -1

    def _writeoff_total(self, share):
        """This order's share of an entry's non-money lines, signed as the money it is not."""
        counterpart = next(iter(share["freed"]))
        return self._money_sign(counterpart) * sum(vals["amount_currency"] for vals in share["lines"])

    def _prepare_writeoff_reversal_vals(self, order, plan, share):
        """An entry with the opposite of each share line, then one receivable line per freed line
        of the payment entry carrying the total, split in proportion to what each line freed."""
        move = share["move"]
        journal = (
            self.env["account.journal"].search(
                [*self.env["account.journal"]._check_company_domain(order.company_id), ("type", "=", "general")],
                limit=1,
            )
            or move.journal_id
        )
        line_vals = [
            {
                "name": self.env._(
                    "Reversal for %(order)s: %(label)s", order=order.name, label=vals["line"].name or ""
                ),
                "account_id": vals["line"].account_id.id,
                "partner_id": vals["line"].partner_id.id,
                "currency_id": vals["line"].currency_id.id,
                "amount_currency": -vals["amount_currency"],
                "balance": -vals["balance"],
                "analytic_distribution": vals["line"].analytic_distribution,
                # A discount on a taxed invoice also lowered the tax due: the same taxes, grids and
                # grid sign with the opposite amount undo it in the tax report too, as Odoo's own
                # reversal of an entry does.
                "tax_ids": [Command.set(vals["line"].tax_ids.ids)],
                "tax_repartition_line_id": vals["line"].tax_repartition_line_id.id,
                "tax_tag_ids": [Command.set(vals["line"].tax_tag_ids.ids)],
                "tax_tag_invert": vals["line"].tax_tag_invert,
            }
            for vals in share["lines"]
        ]
        total_currency = sum(vals["amount_currency"] for vals in share["lines"])
        total_balance = sum(vals["balance"] for vals in share["lines"])
        freed_total = sum(share["freed"].values())
        counterparts = list(share["freed"])
        for index, counterpart in enumerate(counterparts):
            if index == len(counterparts) - 1:
                part_currency, part_balance = total_currency, total_balance
            else:
                ratio = share["freed"][counterpart] / freed_total
                part_currency = counterpart.currency_id.round(total_currency * ratio)
                part_balance = counterpart.company_currency_id.round(total_balance * ratio)
            total_currency -= part_currency
            total_balance -= part_balance
            line_vals.append(
                {
                    "name": self.env._("Reversal for %s", order.name),
                    "account_id": counterpart.account_id.id,
                    "partner_id": counterpart.partner_id.id or order.partner_id.commercial_partner_id.id,
                    "currency_id": counterpart.currency_id.id,
                    "amount_currency": part_currency,
                    "balance": part_balance,
                }
            )
        return {
            "move_type": "entry",
            "journal_id": journal.id,
            # Dated like the credit note of the order's first document.
            "date": self._get_reversal_date(plan["documents"][:1]),
            "ref": self.env._(
                "%(order)s cancelled: discounts and write-offs of %(payment)s reversed",
                order=order.name,
                payment=move.origin_payment_id.display_name or move.name,
            ),
            "line_ids": [Command.create(vals) for vals in line_vals],
        }

    def _step_handle_payments(self, order, plan, log):
        if self.payment_action == "cancel":
            payments = plan["payments"]
            # Cancelling the entries cancels the payments and keeps their history; the payment's
            # own action_cancel would delete the entry once reset to draft.
            payments.move_id.button_cancel()
            self._add_log_lines(log, [self._prepare_payment_log_vals(payment) for payment in payments])
        elif self.payment_action == "refund":
            self._refund_freed_money(order, plan, log)

    def _prepare_payment_log_vals(self, payment):
        return {
            "kind": "payment_cancel",
            "payment_id": payment.id,
            "counterpart_move_id": payment.move_id.id,
            "amount": payment.amount,
            "currency_id": payment.currency_id.id,
            "amount_company": abs(payment.amount_company_currency_signed),
            "date": payment.date,
        }

    def _refund_freed_money(self, order, plan, log):
        """Give back, per freed payment line, exactly what was freed from this order's documents."""
        freed = defaultdict(float)
        for match in plan["external_matches"]:
            freed[match["counterpart_line"]] += match["amount"]
        vals_list = []
        for line, amount in freed.items():
            # Only the money received goes back: the posted reversal of this order's share of the
            # entry's discounts and write-offs tells how much of the freed amount was not money.
            reversal_line = plan.get("writeoff_reversals", {}).get(line, self.env["account.move.line"])
            amount = line.currency_id.round(
                amount - self._money_sign(line) * sum(reversal_line.mapped("amount_currency"))
            )
            if float_is_zero(amount, precision_rounding=line.currency_id.rounding):
                continue
            refund = self.env["account.payment"].create(self._prepare_refund_payment_vals(order, line, amount))
            refund.action_post()
            refund_line = refund.move_id.line_ids.filtered(
                lambda refund_line, line=line: refund_line.account_id == line.account_id
            )
            (refund_line | line | reversal_line).filtered(lambda open_line: not open_line.reconciled).reconcile()
            vals_list.append(
                {
                    "kind": "payment_refund",
                    "payment_id": line.move_id.origin_payment_id.id,
                    "counterpart_move_id": line.move_id.id,
                    "result_payment_id": refund.id,
                    "amount": refund.amount,
                    "currency_id": line.currency_id.id,
                    "amount_company": abs(refund.amount_company_currency_signed),
                    "date": refund.date,
                }
            )
        self._add_log_lines(log, vals_list)

    def _prepare_refund_payment_vals(self, order, line, amount):
        journal = line.move_id.origin_payment_id.journal_id or line.journal_id
        if journal.type not in ("bank", "cash"):
            journal = self.env["account.journal"].search(
                [*self.env["account.journal"]._check_company_domain(order.company_id), ("type", "=", "bank")], limit=1
            )
        return {
            # A credit freed on the receivable (money received) goes back out, and vice versa.
            "payment_type": "outbound" if line.balance < 0 else "inbound",
            "partner_type": "customer",
            "partner_id": line.partner_id.id or order.partner_id.commercial_partner_id.id,
            "amount": amount,
            "currency_id": line.currency_id.id,
            "journal_id": journal.id,
            "date": fields.Date.context_today(self),
            "destination_account_id": line.account_id.id,
            "memo": self.env._("Refund: %s cancelled", order.name),
        }

    def _step_cancel_pending_pickings(self, order, plan, log):
        pickings = plan["pending_pickings"]
        vals_list = [
            {
                "kind": "picking_cancel",
                "picking_id": move.picking_id.id,
                "product_id": move.product_id.id,
                "quantity": move.product_uom_qty,
                "uom_id": move.product_uom.id,
            }
            for move in pickings.move_ids.filtered(lambda move: move.state not in ("done", "cancel"))
        ]
        pickings.action_cancel()
        self._add_log_lines(log, vals_list)

    def _step_cancel_order(self, order, plan, log):
        # The standard cancellation, without its wizard and whether or not the order is locked:
        # the user has confirmed in ours.
        # skip_activity: sale_stock would schedule "ordered quantity decreased" activities on the
        # done deliveries; the returns made next tell the warehouse what to do.
        order.with_context(skip_activity=True, **{PLAIN_CANCEL_KEY: True})._action_cancel()

    def _step_return_delivered_goods(self, order, plan, log):
        if self.stock_action == "none":
            return
        quantities = self._get_returnable_quantities(plan["done_pickings"])
        vals_list = []
        for picking in plan["done_pickings"]:
            if not any(move in quantities for move in picking.move_ids):
                continue
            return_picking = self._create_return(picking, quantities)
            if self.stock_action == "return_validate":
                self._validate_return(return_picking)
            vals_list += [
                {
                    "kind": "picking_return",
                    "picking_id": picking.id,
                    "result_picking_id": return_picking.id,
                    "product_id": move.product_id.id,
                    "quantity": move.product_uom_qty,
                    "uom_id": move.product_uom.id,
                }
                for move in return_picking.move_ids
            ]
        self._add_log_lines(log, vals_list)

    def _get_returnable_quantities(self, pickings):
        """Per done move, in the product's unit: what neither moved on to a next step nor came back.

        In a multi-step route, goods still in pack/output are returned from the step that put them
        there; goods that left with the final delivery are returned from it.
        """
        quantities = {}
        for move in pickings.move_ids.filtered(lambda move: move.state == "done" and not move.scrapped):
            gone = move.returned_move_ids.filtered(lambda ret: ret.state != "cancel")
            gone |= move.move_dest_ids.filtered(lambda dest: dest.state == "done" and not dest.origin_returned_move_id)
            quantity = move.product_qty - sum(gone.mapped("product_qty"))
            if not float_is_zero(quantity, precision_rounding=move.product_id.uom_id.rounding):
                quantities[move] = quantity
        return quantities

    def _create_return(self, picking, quantities):
        wizard = (
            self.env["stock.return.picking"]
            .with_context(active_model="stock.picking", active_id=picking.id, active_ids=picking.ids)
            .create({"picking_id": picking.id})
        )
        for line in wizard.product_return_moves:
            line.write({"quantity": quantities.get(line.move_id, 0.0), "to_refund": True})
        return wizard._create_return()

    def _validate_return(self, return_picking):
        for move in return_picking.move_ids:
            move.quantity = move.product_uom_qty
        return_picking.move_ids.picked = True
        return_picking.with_context(skip_backorder=True, skip_sms=True).button_validate()
        if return_picking.state != "done":
            raise UserError(
                self.env._("Return %s could not be validated: validate it from Inventory.", return_picking.name)
            )

    def _step_notify_customer(self, order, plan, log):
        if not self.notify_customer:
            return
        # The message the user may have edited in the wizard, else the template for this order.
        if len(self.order_ids) == 1 and self.mail_body:
            subject, body = self.mail_subject, self.mail_body
        else:
            subject, body = self._render_customer_message(order)
        order.message_post(
            subject=subject,
            body=body,
            partner_ids=order.partner_id.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            email_layout_xmlid="mail.mail_notification_light",
        )

    def _step_post_chatter(self, order, plan, log):
        body = Markup(self.env._("Cancelled with its payments, invoices and deliveries by %(user)s: %(log)s")) % {
            "user": self.env.user.name,
            "log": log._get_html_link(),
        }
        records = [order, *plan["documents"], *plan["payments"]]
        for record in records:
            record.message_post(body=body, subtype_xmlid="mail.mt_note")
