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
