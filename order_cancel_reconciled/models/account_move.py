from odoo import models


class AccountMove(models.Model):
    _name = "account.move"
    _inherit = ["account.move", "sale.order.cancel.reconciled.log.mixin"]
    _cancel_reconciled_log_line_fields = ("invoice_id", "result_move_id", "counterpart_move_id")

    def action_open_cancel_reconciled_logs(self):
        return self._action_open_cancel_reconciled_logs()
