from odoo import fields, models

from .account_move import LOG_READERS


class AccountPayment(models.Model):
    _inherit = "account.payment"

    cancel_reconciled_log_ids = fields.Many2many(
        "sale.order.cancel.reconciled.log",
        string="Order Cancellation Logs",
        compute="_compute_cancel_reconciled_log_ids",
        groups=LOG_READERS,
    )
    cancel_reconciled_log_count = fields.Integer(compute="_compute_cancel_reconciled_log_ids", groups=LOG_READERS)

    def _compute_cancel_reconciled_log_ids(self):
        lines = self.env["sale.order.cancel.reconciled.log.line"].search(
            ["|", ("payment_id", "in", self.ids), ("result_payment_id", "in", self.ids)]
        )
        for payment in self:
            logs = lines.filtered(
                lambda line, payment=payment: payment in (line.payment_id | line.result_payment_id)
            ).log_id
            payment.cancel_reconciled_log_ids = logs
            payment.cancel_reconciled_log_count = len(logs)

    def action_open_cancel_reconciled_logs(self):
        return self.cancel_reconciled_log_ids._get_records_action(name=self.env._("Order Cancellation Logs"))
