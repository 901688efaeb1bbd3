from odoo import fields, models
from odoo.fields import Domain

from .order_cancel_reconciled_plan import GROUP_XMLID

LOG_READERS = f"account.group_account_invoice,{GROUP_XMLID}"


class SaleOrderCancelReconciledLogMixin(models.AbstractModel):
    """Links a document to the cancellation logs whose lines name it (invoices, payments)."""

    _name = "sale.order.cancel.reconciled.log.mixin"
    _description = "Documents touched by a reconciled order cancellation"
    # The log line fields that may point to a record of the inheriting model.
    _cancel_reconciled_log_line_fields = ()

    cancel_reconciled_log_ids = fields.Many2many(
        "sale.order.cancel.reconciled.log",
        string="Order Cancellation Logs",
        compute="_compute_cancel_reconciled_log_ids",
        groups=LOG_READERS,
    )
    cancel_reconciled_log_count = fields.Integer(compute="_compute_cancel_reconciled_log_ids", groups=LOG_READERS)

    def _compute_cancel_reconciled_log_ids(self):
        names = self._cancel_reconciled_log_line_fields
        lines = self.env["sale.order.cancel.reconciled.log.line"].search(
            Domain.OR([Domain(name, "in", self.ids) for name in names])
        )
        for record in self:
            logs = lines.filtered(lambda line, record=record: any(line[name] == record for name in names)).log_id
            record.cancel_reconciled_log_ids = logs
            record.cancel_reconciled_log_count = len(logs)

    def _action_open_cancel_reconciled_logs(self):
        # Private here: a public method of an abstract model is callable over RPC on no record.
        return self.cancel_reconciled_log_ids._get_records_action(name=self.env._("Order Cancellation Logs"))
