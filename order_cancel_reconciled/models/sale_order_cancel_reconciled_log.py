from odoo import api, fields, models

INVOICE_ACTIONS = [
    ("reverse", "Reverse with a credit note"),
    ("cancel", "Reset to draft and cancel"),
]
PAYMENT_ACTIONS = [
    ("keep", "Keep as customer credit"),
    ("cancel", "Cancel the payment"),
    ("refund", "Refund the customer"),
]
STOCK_ACTIONS = [
    ("return", "Prepare returns"),
    ("return_validate", "Return and validate now"),
    ("none", "Leave the deliveries as they are"),
]
LINE_KINDS = [
    ("unreconcile", "Unreconciled match"),
    ("credit_note", "Credit note"),
    ("invoice_cancel", "Cancelled invoice"),
    ("payment_cancel", "Cancelled payment"),
    ("payment_refund", "Refund payment"),
    ("picking_cancel", "Cancelled transfer"),
    ("picking_return", "Return"),
]


class SaleOrderCancelReconciledLog(models.Model):
    _name = "sale.order.cancel.reconciled.log"
    _description = "Cancellation of a reconciled sale order"
    _inherit = ["mail.thread"]
    _order = "date desc, id desc"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    order_id = fields.Many2one(
        "sale.order", required=True, readonly=True, index=True, ondelete="restrict", check_company=True
    )
    partner_id = fields.Many2one(related="order_id.partner_id", store=True, string="Customer")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    user_id = fields.Many2one("res.users", string="Cancelled by", required=True, readonly=True, index=True)
    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    reason_id = fields.Many2one("sale.order.cancel.reconciled.reason", readonly=True, ondelete="restrict")
    note = fields.Text(readonly=True)
    invoice_action = fields.Selection(INVOICE_ACTIONS, required=True, readonly=True)
    payment_action = fields.Selection(PAYMENT_ACTIONS, required=True, readonly=True)
    stock_action = fields.Selection(STOCK_ACTIONS, required=True, readonly=True)
    notify_customer = fields.Boolean(readonly=True)
    state = fields.Selection(
        [("to_review", "To review"), ("reviewed", "Reviewed")],
        default="to_review",
        required=True,
        copy=False,
        tracking=True,
    )
    reviewer_id = fields.Many2one("res.users", readonly=True, copy=False, tracking=True)
    review_date = fields.Datetime(readonly=True, copy=False)
    line_ids = fields.One2many("sale.order.cancel.reconciled.log.line", "log_id", readonly=True)
    amount_unreconciled = fields.Monetary(compute="_compute_amounts", store=True)
    amount_reversed = fields.Monetary(compute="_compute_amounts", store=True)
    amount_refunded = fields.Monetary(compute="_compute_amounts", store=True)

    @api.depends("order_id.name")
    def _compute_name(self):
        for log in self:
            log.name = self.env._("Cancellation of %s", log.order_id.name)

    @api.depends("line_ids.kind", "line_ids.amount_company")
    def _compute_amounts(self):
        groups = self.env["sale.order.cancel.reconciled.log.line"]._read_group(
            [("log_id", "in", self.ids)], ["log_id", "kind"], ["amount_company:sum"]
        )
        totals = {(log.id, kind): amount for log, kind, amount in groups}
        for log in self:
            log.amount_unreconciled = totals.get((log.id, "unreconcile"), 0.0)
            log.amount_reversed = totals.get((log.id, "credit_note"), 0.0) + totals.get(
                (log.id, "invoice_cancel"), 0.0
            )
            log.amount_refunded = totals.get((log.id, "payment_refund"), 0.0)


class SaleOrderCancelReconciledLogLine(models.Model):
    _name = "sale.order.cancel.reconciled.log.line"
    _description = "Effect of a reconciled order cancellation"
    _order = "log_id, sequence, id"

    log_id = fields.Many2one("sale.order.cancel.reconciled.log", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="log_id.company_id", store=True)
    sequence = fields.Integer()
    kind = fields.Selection(LINE_KINDS, required=True)
    name = fields.Char(string="Description", required=True)
    invoice_id = fields.Many2one("account.move", string="Invoice", ondelete="set null")
    counterpart_move_id = fields.Many2one(
        "account.move", string="Counterpart Entry", ondelete="set null",
        help="The entry on the other side of an unreconciled match: a payment, a bank "
        "transaction or another document.",
    )
    result_move_id = fields.Many2one("account.move", string="Resulting Entry", ondelete="set null")
    payment_id = fields.Many2one("account.payment", ondelete="set null")
    result_payment_id = fields.Many2one("account.payment", string="Refund Payment", ondelete="set null")
    amount = fields.Monetary(currency_field="currency_id")
    currency_id = fields.Many2one("res.currency")
    amount_company = fields.Monetary(currency_field="company_currency_id", string="Amount (Company Currency)")
    company_currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    date = fields.Date()
    picking_id = fields.Many2one("stock.picking", string="Transfer", ondelete="set null")
    result_picking_id = fields.Many2one("stock.picking", string="Return", ondelete="set null")
    product_id = fields.Many2one("product.product", ondelete="set null")
    quantity = fields.Float(digits="Product Unit of Measure")
    uom_id = fields.Many2one("uom.uom", ondelete="set null")
