from odoo import api, fields, models


class SaleOrderCancelReconciledLog(models.Model):
    """The same log, and the same review, for purchase orders: the log says which kind of order it
    records, and its words fit both sides."""

    _inherit = "sale.order.cancel.reconciled.log"
    _order_fields = {"sale": "order_id", "purchase": "purchase_order_id"}

    # An audit log goes with the addon that wrote it, on uninstall only.
    order_kind = fields.Selection(selection_add=[("purchase", "Purchase")], ondelete={"purchase": "cascade"})
    purchase_order_id = fields.Many2one(
        "purchase.order",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
        check_company=True,
    )
    partner_id = fields.Many2one(string="Customer or Vendor")
    # Words for both sides: the log of a purchase order reads "credit", not "customer credit".
    payment_action = fields.Selection(
        selection=[("keep", "Keep as credit"), ("cancel", "Cancel the payment"), ("refund", "Refund")]
    )
    stock_action = fields.Selection(
        selection=[
            ("return", "Prepare returns"),
            ("return_validate", "Return and validate now"),
            ("none", "Leave the transfers as they are"),
        ],
        string="Delivered or Received Goods",
    )
    notify_customer = fields.Boolean(string="Partner Notified")

    @api.constrains("order_kind", "order_id", "purchase_order_id")
    def _check_cancelled_order(self):
        return super()._check_cancelled_order()

    @api.depends("order_id.partner_id", "purchase_order_id.partner_id")
    def _compute_partner_id(self):
        return super()._compute_partner_id()

    @api.depends("order_id.name", "purchase_order_id.name", "order_kind")
    @api.depends_context("lang")
    def _compute_name(self):
        return super()._compute_name()
