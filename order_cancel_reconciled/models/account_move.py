from odoo import fields, models

LOG_READERS = "account.group_account_invoice,order_cancel_reconciled.group_cancel_reconciled"


class AccountMove(models.Model):
    _inherit = "account.move"

    cancel_reconciled_log_ids = fields.Many2many(
        "sale.order.cancel.reconciled.log",
        string="Order Cancellation Logs",
        compute="_compute_cancel_reconciled_log_ids",
        groups=LOG_READERS,
    )
    cancel_reconciled_log_count = fields.Integer(compute="_compute_cancel_reconciled_log_ids", groups=LOG_READERS)

    def _compute_cancel_reconciled_log_ids(self):
        lines = self.env["sale.order.cancel.reconciled.log.line"].search(
            [
                "|",
                "|",
                ("invoice_id", "in", self.ids),
                ("result_move_id", "in", self.ids),
                ("counterpart_move_id", "in", self.ids),
            ]
        )
        for move in self:
            logs = lines.filtered(
                lambda line, move=move: move in (line.invoice_id | line.result_move_id | line.counterpart_move_id)
            ).log_id
            move.cancel_reconciled_log_ids = logs
            move.cancel_reconciled_log_count = len(logs)

    def action_open_cancel_reconciled_logs(self):
        return self.cancel_reconciled_log_ids._get_records_action(name=self.env._("Order Cancellation Logs"))
