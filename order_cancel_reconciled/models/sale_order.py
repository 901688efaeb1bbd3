from odoo import api, fields, models
from odoo.exceptions import UserError

from .sale_order_cancel_reconciled_log_mixin import LOG_READERS

PAID_STATES = ("paid", "in_payment")
GROUP_XMLID = "order_cancel_reconciled.group_cancel_reconciled"


class SaleOrder(models.Model):
    _inherit = "sale.order"

    cancel_reconciled_log_ids = fields.One2many(
        "sale.order.cancel.reconciled.log", "order_id", string="Cancellation Logs", readonly=True, groups=LOG_READERS
    )
    cancel_reconciled_log_count = fields.Integer(compute="_compute_cancel_reconciled_log_count", groups=LOG_READERS)
    invoice_payment_status = fields.Selection(
        [("not_paid", "Not Paid"), ("partial", "Partly Paid"), ("paid", "Paid")],
        string="Payment Status",
        compute="_compute_invoice_payment_status",
        search="_search_invoice_payment_status",
        compute_sudo=True,
        help="Payment of the order's posted customer invoices that are not reversed.",
    )

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
        if operator not in ("=", "in") or not value:
            raise UserError(self.env._("Search the payment status with “is” or “is in” a value."))
        values = {value} if operator == "=" else set(value)

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

    def action_open_cancel_reconciled_logs(self):
        return self.cancel_reconciled_log_ids._get_records_action(name=self.env._("Order Cancellation Logs"))

    def action_cancel_reconciled(self):
        """Open the wizard that cancels these orders with their payments, invoices and deliveries."""
        return {
            "name": self.env._("Cancel Reconciled Orders"),
            "type": "ir.actions.act_window",
            "res_model": "sale.order.cancel.reconciled",
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_ids": self.ids},
        }

    def action_cancel(self):
        # The standard Cancel would leave posted invoices paid and delivered goods out: orders
        # with posted invoices go through our wizard, or are refused with who can do it.
        with_invoices = self.filtered(
            lambda order: order.state == "sale" and order.sudo()._get_cancel_reconciled_documents()
        )
        if not with_invoices:
            return super().action_cancel()
        if self.env.user.has_group(GROUP_XMLID):
            return with_invoices.action_cancel_reconciled()
        members = self.env.ref(GROUP_XMLID).sudo().users.filtered(lambda user: not user.share and user.active)
        raise UserError(
            self.env._(
                "Orders with posted invoices (%(orders)s): cancelling them must also undo their payments, "
                "invoices and deliveries. Only members of “Cancel reconciled orders” can do this. Who to ask: "
                "%(members)s.",
                orders=", ".join(with_invoices.mapped("name")),
                members=", ".join(members[:5].mapped("name")) or self.env._("your administrator"),
            )
        )

    def _get_cancel_reconciled_documents(self):
        """Posted invoices and credit notes of the order not already netted by a reversal."""
        posted = self.invoice_ids.filtered(lambda move: move.state == "posted")
        netted = posted.filtered(lambda move: move.payment_state == "reversed")
        netted |= posted.filtered(lambda move: move.reversed_entry_id in netted)
        return posted - netted
