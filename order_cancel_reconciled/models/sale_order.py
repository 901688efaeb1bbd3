from odoo import fields, models

from .account_move import LOG_READERS


class SaleOrder(models.Model):
    _inherit = "sale.order"

    cancel_reconciled_log_ids = fields.One2many(
        "sale.order.cancel.reconciled.log", "order_id", string="Cancellation Logs", readonly=True, groups=LOG_READERS
    )
    cancel_reconciled_log_count = fields.Integer(compute="_compute_cancel_reconciled_log_count", groups=LOG_READERS)

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
