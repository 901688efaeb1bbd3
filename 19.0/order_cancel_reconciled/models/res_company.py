from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .order_cancel_reconciled_plan import INVOICE_ACTIONS, PAYMENT_ACTIONS, STOCK_ACTIONS


class ResCompany(models.Model):
    _inherit = "res.company"

    cancel_reconciled_invoice_action = fields.Selection(
        INVOICE_ACTIONS, string="Invoices of Cancelled Orders", default="reverse"
    )
    cancel_reconciled_payment_action = fields.Selection(PAYMENT_ACTIONS, string="Freed Payments", default="keep")
    cancel_reconciled_stock_action = fields.Selection(STOCK_ACTIONS, string="Delivered Goods", default="return")
    cancel_reconciled_background_from = fields.Integer(
        string="Background Cancellation Above (Orders)",
        default=10,
        help="When more orders than this are selected, they are cancelled in the background, one at a time.",
    )
    cancel_reconciled_reason_optional = fields.Boolean(
        string="Reason Optional",
        help="The cancellation dialog lets a user leave the reason empty (it asks for one by default). "
        "A cancellation without a reason is logged with “No reason given”.",
    )
    cancel_request_portal = fields.Boolean(string="Cancellation Requests on the Portal")
    cancel_request_auto = fields.Boolean(string="Approve Requests Automatically")
    cancel_request_auto_undelivered = fields.Boolean(string="Only When Nothing Is Delivered", default=True)
    cancel_request_auto_days = fields.Integer(string="Within Days of Confirmation", default=14)
    cancel_request_auto_max_amount = fields.Monetary(
        string="Up to an Order Total", currency_field="currency_id", help="0 for any total."
    )
    cancel_request_auto_online_only = fields.Boolean(string="Only Paid Online (Refundable)")
    cancel_refund_days = fields.Integer(
        string="Refunds Reach Customers Within (Days)",
        default=7,
        help="Told to customers whose money is refunded; 0 to say nothing about when.",
    )
    cancel_refund_unknown_hours = fields.Integer(
        string="Ask a Person After (Hours) Without the Provider's Answer",
        default=24,
        help="A refund sent to a payment provider that has not answered after this many hours goes to a billing "
        "user as 'outcome unknown', to check in the provider's dashboard. It is never sent twice by itself.",
    )

    @api.constrains("cancel_refund_unknown_hours")
    def _check_cancel_refund_unknown_hours(self):
        for company in self:
            if company.cancel_refund_unknown_hours < 1:
                raise ValidationError(self.env._("A provider is given 1 hour or more to answer a refund."))

    @api.constrains("cancel_reconciled_background_from")
    def _check_cancel_reconciled_background_from(self):
        for company in self:
            if company.cancel_reconciled_background_from < 1:
                raise ValidationError(self.env._("The background threshold must be 1 order or more."))
