from odoo import fields, models


class SaleOrderCancelReconciledReason(models.Model):
    _name = "sale.order.cancel.reconciled.reason"
    _inherit = ["order.cancel.reconciled.caller.guard"]
    _description = "Reason for cancelling a reconciled order"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    show_on_portal = fields.Boolean(
        string="Shown to Customers", help="Customers pick this reason when they ask to cancel on the portal."
    )
