from odoo import fields, models

from ..models.purchase_order import DEFAULT_OPTIONS

INVOICE_ACTIONS = [
    ("reverse", "Reverse with a vendor credit note"),
    ("cancel", "Reset to draft and cancel"),
]
PAYMENT_ACTIONS = [
    ("keep", "Keep as vendor credit"),
    ("cancel", "Cancel the payment"),
    ("refund", "Get refunded by the vendor"),
]
STOCK_ACTIONS = [
    ("return", "Prepare returns to the vendor"),
    ("return_validate", "Return to the vendor and validate now"),
    ("none", "Leave the receipts as they are"),
]


class PurchaseOrderCancelReconciled(models.TransientModel):
    """The sales dialog for purchase orders: the same options, checks, preview and run (the
    engine's), with the vendor's words. No customer message and no background batch: purchase
    orders are cancelled one selection at a time."""

    _name = "purchase.order.cancel.reconciled"
    _inherit = "sale.order.cancel.reconciled"
    _description = "Cancel reconciled purchase orders"
    _vendor_side = True

    order_ids = fields.Many2many(
        "purchase.order", "purchase_order_cancel_reconciled_order_rel", string="Orders", required=True
    )
    blocked_order_ids = fields.Many2many(
        "purchase.order",
        "purchase_order_cancel_reconciled_blocked_rel",
        string="Blocked Orders",
        compute="_compute_preview",
    )
    invoice_action = fields.Selection(INVOICE_ACTIONS, string="Vendor Bills")
    payment_action = fields.Selection(PAYMENT_ACTIONS)
    stock_action = fields.Selection(STOCK_ACTIONS, string="Received Goods")

    def _default_option(self, option):
        return DEFAULT_OPTIONS[option]

    def _compute_in_background(self):
        for wizard in self:
            wizard.order_count = len(wizard.order_ids)
            wizard.in_background = False

    def _compute_mail(self):
        self.mail_subject = self.mail_body = False

    def _prepare_options(self, with_message=True):
        self.ensure_one()
        return self.env["order.cancel.reconciled.engine"]._prepare_options(
            self.company_id or self.env.company,
            invoice_action=self.invoice_action,
            payment_action=self.payment_action,
            stock_action=self.stock_action,
            reason_id=self.reason_id.id,
            note=self.note,
            channel="backoffice",
        )

    def _queue(self):
        raise NotImplementedError("Purchase orders are not cancelled in background batches.")
