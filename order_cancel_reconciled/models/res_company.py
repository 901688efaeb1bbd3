from odoo import fields, models

from .order_cancel_reconciled_plan import INVOICE_ACTIONS, PAYMENT_ACTIONS, STOCK_ACTIONS


class ResCompany(models.Model):
    _inherit = "res.company"

    cancel_reconciled_invoice_action = fields.Selection(
        INVOICE_ACTIONS, string="Invoices of Cancelled Orders", default="reverse"
    )
    cancel_reconciled_payment_action = fields.Selection(PAYMENT_ACTIONS, string="Freed Payments", default="keep")
    cancel_reconciled_stock_action = fields.Selection(STOCK_ACTIONS, string="Delivered Goods", default="return")
