from odoo import models

from .order_cancel_reconciled_caller_guard import caller_checked


class AccountPayment(models.Model):
    _name = "account.payment"
    _inherit = ["account.payment", "sale.order.cancel.reconciled.log.mixin"]
    _cancel_reconciled_log_line_fields = ("payment_id", "result_payment_id")

    @caller_checked
    def action_open_cancel_reconciled_logs(self):
        return self._action_open_cancel_reconciled_logs()
