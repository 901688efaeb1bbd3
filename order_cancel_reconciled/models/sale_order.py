from odoo import fields, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    cancel_reconciled_log_ids = fields.One2many(
        "sale.order.cancel.reconciled.log", "order_id", string="Cancellation Logs", readonly=True
    )

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
