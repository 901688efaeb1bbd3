from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    cancel_reconciled_invoice_action = fields.Selection(
        related="company_id.cancel_reconciled_invoice_action", readonly=False, string="Invoices of Cancelled Orders"
    )
    cancel_reconciled_payment_action = fields.Selection(
        related="company_id.cancel_reconciled_payment_action", readonly=False, string="Freed Payments"
    )
    cancel_reconciled_stock_action = fields.Selection(
        related="company_id.cancel_reconciled_stock_action", readonly=False, string="Delivered Goods"
    )
    cancel_reconciled_background_from = fields.Integer(
        related="company_id.cancel_reconciled_background_from", readonly=False
    )
    cancel_reconciled_reason_optional = fields.Boolean(
        related="company_id.cancel_reconciled_reason_optional", readonly=False
    )
    cancel_request_portal = fields.Boolean(related="company_id.cancel_request_portal", readonly=False)
    cancel_request_auto = fields.Boolean(related="company_id.cancel_request_auto", readonly=False)
    cancel_request_auto_undelivered = fields.Boolean(
        related="company_id.cancel_request_auto_undelivered", readonly=False
    )
    cancel_request_auto_days = fields.Integer(related="company_id.cancel_request_auto_days", readonly=False)
    cancel_request_auto_max_amount = fields.Monetary(
        related="company_id.cancel_request_auto_max_amount", readonly=False
    )
    cancel_request_auto_online_only = fields.Boolean(
        related="company_id.cancel_request_auto_online_only", readonly=False
    )
    cancel_refund_days = fields.Integer(related="company_id.cancel_refund_days", readonly=False)
    cancel_refund_unknown_hours = fields.Integer(related="company_id.cancel_refund_unknown_hours", readonly=False)
