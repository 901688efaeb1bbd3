from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from .order_cancel_reconciled_caller_guard import caller_checked
from .order_cancel_reconciled_plan import (
    FROM_BUTTON_KEY,
    GROUP_XMLID,
    MAX_ORDERS,
    ORDERS_IN_RUN,
    is_plain_cancel_allowed,
    plain_cancel_checked,
)
from .sale_order_cancel_reconciled_log_mixin import LOG_READERS
from .sale_order_cancel_reconciled_request import OPEN_STATES

PAID_STATES = ("paid", "in_payment")
RECONCILED_STATES = ("partial", *PAID_STATES)


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["sale.order", "order.cancel.reconciled.mixin"]

    cancel_reconciled_log_ids = fields.One2many(
        "sale.order.cancel.reconciled.log", "order_id", string="Cancellation Logs", readonly=True, groups=LOG_READERS
    )
    cancel_reconciled_log_count = fields.Integer(compute="_compute_cancel_reconciled_log_count", groups=LOG_READERS)
    cancel_request_ids = fields.One2many(
        "sale.order.cancel.reconciled.request", "order_id", string="Cancellation Requests", readonly=True
    )
    # Not tracked (a related field takes the request state's tracking): every tracked write of
    # any order, Odoo's own confirmations included, would read its requests. The request's own
    # chatter tracks its state.
    cancel_request_state = fields.Selection(
        related="cancel_request_ids.state",
        string="Cancellation Request",
        help="The state of the latest request.",
        tracking=False,
    )
    invoice_payment_status = fields.Selection(
        [("not_paid", "Not Paid"), ("partial", "Partly Paid"), ("paid", "Paid")],
        string="Payment Status",
        compute="_compute_invoice_payment_status",
        search="_search_invoice_payment_status",
        compute_sudo=True,
        help="Payment of the order's posted customer invoices that are not reversed.",
    )

    # Whether Odoo's Cancel leads a person to the full cancellation (its preview, or who can do
    # it): the form then offers a Cancel without Odoo 19's own "Are you sure?", the preview and
    # its confirmation being the questions.
    cancel_reconciled_from_cancel = fields.Boolean(
        string="Cancel Opens the Full Cancellation", compute="_compute_cancel_reconciled_from_cancel"
    )

    @api.depends("state", "invoice_ids.state")
    def _compute_cancel_reconciled_from_cancel(self):
        needing = self._get_orders_needing_full_cancel()
        for order in self:
            order.cancel_reconciled_from_cancel = order in needing

    def _get_posted_customer_invoices(self):
        return self.invoice_ids.filtered(
            lambda move: move.move_type == "out_invoice" and move.state == "posted" and move.payment_state != "reversed"
        )

    @api.depends("invoice_ids.payment_state", "invoice_ids.state")
    def _compute_invoice_payment_status(self):
        for order in self:
            states = set(order._get_posted_customer_invoices().mapped("payment_state"))
            if not states:
                order.invoice_payment_status = False
            elif states <= set(PAID_STATES):
                order.invoice_payment_status = "paid"
            elif states & {"partial", *PAID_STATES}:
                order.invoice_payment_status = "partial"
            else:
                order.invoice_payment_status = "not_paid"

    def _search_invoice_payment_status(self, operator, value):
        # Odoo 19 turns "=" into "in" and builds "not in" from "in" (NotImplemented).
        if operator != "in":
            return NotImplemented
        if not value:
            raise UserError(self.env._("Search the payment status with “is” or “is in” a value."))
        values = set(value)

        def invoices_in(states):
            return [
                (
                    "order_line.invoice_lines.move_id",
                    "any",
                    [
                        ("move_type", "=", "out_invoice"),
                        ("state", "=", "posted"),
                        ("payment_state", "in", list(states)),
                    ],
                )
            ]

        open_states = ("not_paid", "partial")
        domains = []
        if "paid" in values:
            domains.append(["&", *invoices_in(PAID_STATES), "!", *invoices_in(open_states)])
        if "partial" in values:
            domains.append(["|", *invoices_in(["partial"]), "&", *invoices_in(PAID_STATES), *invoices_in(["not_paid"])])
        if "not_paid" in values:
            domains.append(["&", *invoices_in(["not_paid"]), "!", *invoices_in(["partial", *PAID_STATES])])
        if "reconciled" in values:
            domains.append(invoices_in(["partial", *PAID_STATES]))
        return ["|"] * (len(domains) - 1) + [leaf for domain in domains for leaf in domain]

    def _compute_cancel_reconciled_log_count(self):
        counts = dict(
            self.env["sale.order.cancel.reconciled.log"]._read_group(
                [("order_id", "in", self.ids)], ["order_id"], ["__count"]
            )
        )
        for order in self:
            order.cancel_reconciled_log_count = counts.get(order, 0)

    @caller_checked
    def action_open_cancel_reconciled_logs(self):
        return self.cancel_reconciled_log_ids._get_records_action(name=self.env._("Order Cancellation Logs"))

    @caller_checked
    def action_open_cancel_requests(self):
        requests = self.cancel_request_ids
        if len(requests) == 1:
            return requests._get_records_action(name=requests.display_name)
        return requests._get_records_action(name=self.env._("Cancellation Requests"))

    @caller_checked
    def action_cancel_reconciled(self, from_cancel=False):
        """Open the wizard that cancels these orders with their payments, invoices and deliveries;
        ``from_cancel``: a person pressed Odoo's Cancel, and the dialog first says why it opened."""
        return {
            "name": self.env._("Cancel Reconciled Orders"),
            "type": "ir.actions.act_window",
            "res_model": "sale.order.cancel.reconciled",
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_ids": self.ids, "default_opened_from_cancel": bool(from_cancel)},
        }

    @caller_checked
    def cancel_reconciled(
        self,
        invoice_action=None,
        payment_action=None,
        stock_action=None,
        reason_id=None,
        note=None,
        notify_customer=False,
    ):
        """Cancel these orders with their payments, invoices and deliveries; return the logs.

        The server-side API for code, automated and server actions and integrators: the same run
        as the wizard's Confirm, all-or-nothing, checked as the real user (the group, record rules
        and active companies). An option left out is the company's default.
        """
        options = self._cancel_reconciled_options_checked(
            invoice_action, payment_action, stock_action, reason_id, note, notify_customer
        )
        return self.env["order.cancel.reconciled.engine"]._run(self, options)

    @caller_checked
    def cancel_reconciled_in_background(
        self,
        invoice_action=None,
        payment_action=None,
        stock_action=None,
        reason_id=None,
        note=None,
        notify_customer=False,
    ):
        """Queue these orders for cancellation in the background, one order per transaction;
        return the batch at once (its lines say, per order, done, failed and why, or skipped).

        The same options and checks as :meth:`cancel_reconciled`; each order is checked again,
        as the same user, when it runs.
        """
        options = self._cancel_reconciled_options_checked(
            invoice_action, payment_action, stock_action, reason_id, note, notify_customer
        )
        return self.env["sale.order.cancel.reconciled.batch"]._create_for_orders(self, options)

    def _cancel_reconciled_options_checked(self, *option_values):
        """The run's options, after the size and the real user's rights are checked; an option
        left out is the company's default (the orders' company, whichever the caller works in)."""
        if len(self) > MAX_ORDERS:
            raise ValidationError(self.env._("At most %(max)s orders can be cancelled in one request.", max=MAX_ORDERS))
        self._check_cancel_reconciled_access()
        names = ("invoice_action", "payment_action", "stock_action", "reason_id", "note", "notify_customer")
        return self.env["order.cancel.reconciled.engine"]._prepare_options(
            self.company_id[:1] or self.env.company, **dict(zip(names, option_values, strict=True))
        )

    # ------------------------------------------------------------------------------------------
    # The guard: every path that cancels a confirmed order with posted invoices
    # ------------------------------------------------------------------------------------------

    def _get_orders_needing_full_cancel(self):
        """Confirmed orders with posted invoices: a person cancelling them is led to the full
        cancellation (members) or told who can do it."""
        return self.filtered(lambda order: order.state == "sale" and order.sudo()._get_cancel_reconciled_documents())

    def _get_orders_with_reconciled_invoices(self):
        """Orders whose posted invoices are (partly) paid, in whatever state they are: cancelling
        them alone, or taking them out of "sale" by hand, would leave money matched with invoices
        of an order that no longer stands. Only the full cancellation may.

        Posted invoices with nothing matched are left to Odoo's plain cancel from code, as in
        standard Odoo (and its own tests): they stay open for the accountant to reverse.
        """
        return self.filtered(
            lambda order: (
                order.state != "cancel"
                and any(
                    move.payment_state in RECONCILED_STATES for move in order.sudo()._get_cancel_reconciled_documents()
                )
            )
        )

    def _check_plain_cancel(self):
        """The guard of every plain path: facts, not the caller's context. The engine's own
        cancel step and _cancel_plain_elevated pass; nothing a remote caller sends does."""
        if is_plain_cancel_allowed(self):
            return
        reconciled = self._get_orders_with_reconciled_invoices()
        if reconciled:
            raise UserError(reconciled._plain_cancel_refused_message())

    @caller_checked
    def action_cancel(self):
        # The standard Cancel would leave posted invoices paid and delivered goods out. A button
        # (its context says so) leads members to our wizard and tells others who can; code on
        # orders with paid invoices gets an error naming the API, never an action to display
        # that it would silently drop. The context only picks the answer: _action_cancel checks.
        if self.env.context.get(FROM_BUTTON_KEY) and not is_plain_cancel_allowed(self):
            with_invoices = self._get_orders_needing_full_cancel()
            if with_invoices:
                if self.env.user.has_group(GROUP_XMLID):
                    return with_invoices.action_cancel_reconciled(from_cancel=True)
                raise UserError(with_invoices._ask_a_member_message())
        self._check_plain_cancel()
        return super().action_cancel()

    def _action_cancel(self):
        self._check_plain_cancel()
        # Code below (sale_stock, the state write) knows the check is done.
        with plain_cancel_checked(self):
            result = super()._action_cancel()
        # However the order is cancelled, the customer's open request is done with it; the run of
        # a full cancellation closes the requests of its orders itself, with its log.
        in_run = self.env.cr.cache.get(ORDERS_IN_RUN, ())
        outside_runs = self.filtered(lambda order: (order._name, order.id) not in in_run)
        outside_runs._get_cancel_reconciled_open_requests()._mark_done()
        return result

    @caller_checked
    def write(self, vals):
        # Leaving "sale" by hand (back to a quotation, or cancelled) is a plain cancel too.
        if "state" in vals and vals["state"] != "sale":
            self.filtered(lambda order: order.state != vals["state"])._check_plain_cancel()
        return super().write(vals)

    def _cancel_plain_elevated(self):
        """Odoo's plain cancel of these orders even when their invoices are paid: the invoices
        stay posted and paid, the goods delivered. For server code that means it, elevated on
        purpose (``orders.sudo()._cancel_plain_elevated()``); a private method, which RPC cannot
        call, refused without sudo."""
        if not self.env.su:
            raise AccessError(self.env._("A plain cancel of orders with paid invoices is for elevated server code."))
        with plain_cancel_checked(self):
            return self._action_cancel()

    def _plain_cancel_refused_message(self):
        return self.env._(
            "%(orders)s: confirmed with paid invoices. Cancelling them alone, or taking them back to a "
            "quotation, would leave the invoices posted and paid and the goods delivered. Cancel them with "
            "sale.order.cancel_reconciled(), as a member of “Cancel reconciled orders”.",
            orders=self._short_names(),
        )

    def _ask_a_member_message(self):
        members = self._get_cancel_reconciled_members()
        return self.env._(
            "Orders with posted invoices (%(orders)s): cancelling them must also undo their payments, "
            "invoices and deliveries. Only members of “Cancel reconciled orders” can do this. Who to ask: "
            "%(members)s.",
            orders=self._short_names(),
            members=", ".join(members[:5].mapped("name")) or self.env._("your administrator"),
        )

    # ------------------------------------------------------------------------------------------
    # Hooks of the cancellation engine (order.cancel.reconciled.mixin): what differs for a sale
    # order. Who may cancel and which documents hang on it are the mixin's.
    # ------------------------------------------------------------------------------------------

    def _get_cancel_reconciled_orders_of(self, invoices):
        """The orders these invoices bill. Through all their lines (only lines that bill an order
        line have one), which the plan has read already: their invoice lines are another query."""
        return invoices.line_ids.sale_line_ids.order_id

    def _get_cancel_reconciled_open_requests(self):
        """The customer's requests to cancel the order that wait for it."""
        return self.cancel_request_ids.filtered(lambda request: request.state in OPEN_STATES)

    def _is_cancel_reconciled_quotation(self):
        return self.state in ("draft", "sent")

    def _is_cancel_reconciled_locked(self):
        return self.locked and self.state == "sale"

    def _cancel_reconciled_cancel_order(self):
        """The standard cancellation, without its wizard and whether or not the order is locked:
        the user has confirmed the full cancellation.

        skip_activity: sale_stock would schedule "ordered quantity decreased" activities on the
        done deliveries; the returns made next tell the warehouse what to do.
        """
        with plain_cancel_checked(self):
            self.with_context(skip_activity=True)._action_cancel()
