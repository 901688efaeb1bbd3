from odoo import fields, models
from odoo.tools import SQL


class SaleOrderCancelReconciledAnalysis(models.Model):
    """One row per confirmed order, cancelled or not: how many paid orders are cancelled, why,
    through which channel, how much is refunded and how long a customer's request takes."""

    _name = "sale.order.cancel.reconciled.analysis"
    _description = "Cancellation Analysis"
    _auto = False
    _order = "date desc"
    # Flushed before the report is read, so that it counts what the transaction just changed.
    _depends = {
        "sale.order": ["date_order", "state", "company_id", "user_id", "team_id", "partner_id", "amount_total"],
        "sale.order.line": ["order_id", "product_id", "price_subtotal", "display_type"],
        "sale.order.cancel.reconciled.log": ["order_id", "reason_id", "date"],
        "sale.order.cancel.reconciled.log.line": ["log_id", "kind", "amount_company"],
        "sale.order.cancel.reconciled.request": ["order_id", "reason_id", "channel", "request_date"],
    }

    order_id = fields.Many2one("sale.order", readonly=True)
    date = fields.Datetime(string="Order Date", readonly=True)
    cancel_date = fields.Datetime(string="Cancellation Date", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    categ_id = fields.Many2one(
        "product.category", string="Product Category", readonly=True, help="Of the order's largest line."
    )
    reason_id = fields.Many2one("sale.order.cancel.reconciled.reason", readonly=True)
    channel = fields.Selection([("portal", "Portal"), ("backoffice", "Back office")], readonly=True)
    order_count = fields.Integer(string="Confirmed Orders", readonly=True)
    cancelled_count = fields.Integer(string="Cancelled Paid Orders", readonly=True)
    request_count = fields.Integer(string="Cancellation Requests", readonly=True)
    cancellation_rate = fields.Float(
        string="Cancellation Rate (%)",
        readonly=True,
        aggregator="avg",
        help="Cancelled paid orders / confirmed orders.",
    )
    amount_total = fields.Monetary(string="Order Total", readonly=True, currency_field="currency_id")
    amount_refunded = fields.Monetary(string="Refunded", readonly=True, currency_field="currency_id")
    hours_to_cancel = fields.Float(string="Hours from Request to Cancellation", readonly=True, aggregator="avg")

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT so.id AS id,
                   so.id AS order_id,
                   so.date_order AS date,
                   log.date AS cancel_date,
                   so.company_id,
                   so.user_id,
                   so.team_id,
                   so.partner_id,
                   (SELECT pt.categ_id
                      FROM sale_order_line sol
                      JOIN product_product pp ON pp.id = sol.product_id
                      JOIN product_template pt ON pt.id = pp.product_tmpl_id
                     WHERE sol.order_id = so.id AND sol.display_type IS NULL
                     ORDER BY sol.price_subtotal DESC, sol.id
                     LIMIT 1) AS categ_id,
                   COALESCE(log.reason_id, req.reason_id) AS reason_id,
                   CASE WHEN req.id IS NOT NULL THEN req.channel
                        WHEN log.id IS NOT NULL THEN 'backoffice' END AS channel,
                   1 AS order_count,
                   CASE WHEN log.id IS NOT NULL THEN 1 ELSE 0 END AS cancelled_count,
                   CASE WHEN log.id IS NOT NULL THEN 100.0 ELSE 0.0 END AS cancellation_rate,
                   COALESCE(requests.count, 0) AS request_count,
                   so.amount_total / COALESCE(NULLIF(so.currency_rate, 0), 1.0) AS amount_total,
                   COALESCE(refunds.amount, 0.0) AS amount_refunded,
                   CASE WHEN log.id IS NOT NULL AND req.id IS NOT NULL
                        THEN EXTRACT(EPOCH FROM log.date - req.request_date) / 3600.0 END AS hours_to_cancel
              FROM sale_order so
              LEFT JOIN LATERAL (
                    SELECT l.id, l.reason_id, l.date FROM sale_order_cancel_reconciled_log l
                     WHERE l.order_id = so.id ORDER BY l.date DESC, l.id DESC LIMIT 1) log ON TRUE
              LEFT JOIN LATERAL (
                    SELECT r.id, r.reason_id, r.channel, r.request_date FROM sale_order_cancel_reconciled_request r
                     WHERE r.order_id = so.id ORDER BY r.request_date DESC, r.id DESC LIMIT 1) req ON TRUE
              LEFT JOIN LATERAL (
                    SELECT count(*) AS count FROM sale_order_cancel_reconciled_request r
                     WHERE r.order_id = so.id) requests ON TRUE
              LEFT JOIN LATERAL (
                    SELECT sum(line.amount_company) AS amount
                      FROM sale_order_cancel_reconciled_log_line line
                      JOIN sale_order_cancel_reconciled_log l ON l.id = line.log_id
                     WHERE l.order_id = so.id AND line.kind = 'payment_refund') refunds ON TRUE
             WHERE so.state = 'sale' OR log.id IS NOT NULL
            """
        )
