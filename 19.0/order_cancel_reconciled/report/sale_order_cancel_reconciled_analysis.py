from odoo import api, fields, models
from odoo.tools import SQL

from ..models.order_cancel_reconciled_plan import CHANNELS, REFUND_IN_FLIGHT

# What a refund line counts as, by its refund status (empty: a refund payment the run booked).
REFUND_DONE = ("done", "to_match")
REFUND_PENDING = (*REFUND_IN_FLIGHT, "held", "failed")
RECEIVABLE_TYPES = ("asset_receivable", "liability_payable")


class SaleOrderCancelReconciledAnalysis(models.Model):
    """One row per confirmed order, cancelled or not: how many confirmed orders are cancelled,
    why, through which channel, and what became of the customer's money.

    One row per order, not per order line: a rate is then cancelled orders / confirmed orders in
    any group, and amounts are never counted twice. The product of an order is that of its largest
    line (an order of several products counts under its main one only)."""

    _name = "sale.order.cancel.reconciled.analysis"
    _inherit = ["order.cancel.reconciled.caller.guard"]
    _description = "Cancellation Analysis"
    _auto = False
    _order = "date desc"
    # Flushed before the report is read, so that it counts what the transaction just changed.
    _depends = {
        "sale.order": ["date_order", "state", "company_id", "user_id", "team_id", "partner_id", "amount_total"],
        "sale.order.line": ["order_id", "product_id", "price_subtotal", "display_type", "is_downpayment"],
        "sale.order.cancel.reconciled.log": ["order_id", "reason_id", "date", "channel", "payment_action"],
        "sale.order.cancel.reconciled.log.line": [
            "log_id",
            "kind",
            "amount_company",
            "refund_state",
            "invoice_id",
            "counterpart_move_id",
            "result_move_id",
        ],
        "sale.order.cancel.reconciled.request": ["order_id", "reason_id", "request_date"],
    }

    order_id = fields.Many2one("sale.order", readonly=True)
    date = fields.Datetime(string="Order Date", readonly=True)
    cancel_date = fields.Datetime(string="Cancellation Date", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    product_id = fields.Many2one(
        "product.product", string="Main Product", readonly=True, help="The product of the order's largest line."
    )
    categ_id = fields.Many2one(
        "product.category", string="Product Category", readonly=True, help="Of the order's largest line."
    )
    reason_id = fields.Many2one(
        "sale.order.cancel.reconciled.reason", readonly=True, help="Why the order was cancelled; empty if it was not."
    )
    channel = fields.Selection(
        [*CHANNELS, ("not_cancelled", "Not cancelled")],
        readonly=True,
        help="How the order was cancelled.",
    )
    order_count = fields.Integer(string="Confirmed Orders", readonly=True, help="1 per confirmed order.")
    cancelled_count = fields.Integer(
        string="Cancelled Paid Orders", readonly=True, help="1 per order cancelled with its payments, else 0."
    )
    request_count = fields.Integer(string="Cancellation Requests", readonly=True)
    cancellation_rate = fields.Float(
        string="Cancellation Rate (%)",
        readonly=True,
        aggregator="avg",
        help="Cancelled orders / confirmed orders, by product, customer, salesperson or order month. "
        "Meaningless by reason, channel or cancellation date: orders not cancelled have none.",
    )
    cancellation_share = fields.Float(
        string="Share of Cancellations (%)",
        readonly=True,
        aggregator="sum",
        help="This group's cancelled orders / all cancelled orders of the current search, e.g. by reason. "
        "Meaningful in the pivot and graph views only.",
    )
    amount_total = fields.Monetary(string="Order Total", readonly=True, currency_field="currency_id")
    amount_refunded = fields.Monetary(
        string="Refunded",
        readonly=True,
        currency_field="currency_id",
        help="Refund payments booked by the cancellation, and refunds the payment provider confirmed.",
    )
    amount_refund_pending = fields.Monetary(
        string="Refunds Pending",
        readonly=True,
        currency_field="currency_id",
        help="Refunds sent to a payment provider without an answer yet, on hold or failed: not yet refunded.",
    )
    amount_kept = fields.Monetary(
        string="Kept as Credit",
        readonly=True,
        currency_field="currency_id",
        help="Money received that the cancellation left to the customer as credit, "
        "and provider refunds turned into credit.",
    )
    hours_to_cancel = fields.Float(string="Hours from Request to Cancellation", readonly=True, aggregator="avg")

    @api.model
    def _read_group_select(self, aggregate_spec, query):
        # The share of a group is its cancelled orders over those of every group the query returns
        # (before its limit): the current search's cancellations, whatever the grouping.
        if aggregate_spec == "cancellation_share:sum":
            cancelled = self._field_to_sql(self._table, "cancelled_count", query)
            return SQL(
                "100.0 * SUM(%(cancelled)s) / NULLIF(SUM(SUM(%(cancelled)s)) OVER (), 0)",
                cancelled=cancelled,
            )
        return super()._read_group_select(aggregate_spec, query)

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
                   main.product_id,
                   main.categ_id,
                   CASE WHEN log.id IS NOT NULL THEN COALESCE(log.reason_id, req.reason_id) END AS reason_id,
                   CASE WHEN log.id IS NULL THEN 'not_cancelled' ELSE log.channel END AS channel,
                   1 AS order_count,
                   CASE WHEN log.id IS NOT NULL THEN 1 ELSE 0 END AS cancelled_count,
                   CASE WHEN log.id IS NOT NULL THEN 100.0 ELSE 0.0 END AS cancellation_rate,
                   CASE WHEN log.id IS NOT NULL THEN 100.0 ELSE 0.0 END AS cancellation_share,
                   COALESCE(requests.count, 0) AS request_count,
                   so.amount_total / COALESCE(NULLIF(so.currency_rate, 0), 1.0) AS amount_total,
                   COALESCE(money.refunded, 0.0) AS amount_refunded,
                   COALESCE(money.pending, 0.0) AS amount_refund_pending,
                   COALESCE(money.kept, 0.0) AS amount_kept,
                   CASE WHEN log.id IS NOT NULL AND req.id IS NOT NULL
                        THEN EXTRACT(EPOCH FROM log.date - req.request_date) / 3600.0 END AS hours_to_cancel
              FROM sale_order so
              LEFT JOIN LATERAL (
                    SELECT sol.product_id, pt.categ_id
                      FROM sale_order_line sol
                      JOIN product_product pp ON pp.id = sol.product_id
                      JOIN product_template pt ON pt.id = pp.product_tmpl_id
                     WHERE sol.order_id = so.id AND sol.display_type IS NULL AND sol.is_downpayment IS NOT TRUE
                     ORDER BY sol.price_subtotal DESC, sol.id
                     LIMIT 1) main ON TRUE
              LEFT JOIN LATERAL (
                    SELECT l.id, l.reason_id, l.date, l.channel FROM sale_order_cancel_reconciled_log l
                     WHERE l.order_id = so.id ORDER BY l.date DESC, l.id DESC LIMIT 1) log ON TRUE
              LEFT JOIN LATERAL (
                    SELECT r.id, r.reason_id, r.request_date FROM sale_order_cancel_reconciled_request r
                     WHERE r.order_id = so.id ORDER BY r.request_date DESC, r.id DESC LIMIT 1) req ON TRUE
              LEFT JOIN LATERAL (
                    SELECT count(*) AS count FROM sale_order_cancel_reconciled_request r
                     WHERE r.order_id = so.id) requests ON TRUE
              LEFT JOIN LATERAL (%(money)s) money ON TRUE
             WHERE so.state = 'sale' OR log.id IS NOT NULL
            """,
            money=self._money_query(),
        )

    def _money_query(self):
        """What became of the customer's money, in company currency, over the order's logs.

        Refunded: refund payments the run booked (refunds made by hand are booked at once) and
        refunds a payment provider confirmed. Pending: provider refunds not answered, on hold or
        failed. Kept: with "Keep as customer credit", the money freed from payments and bank
        transactions (a credit note's payment counts against it) less the discounts and
        write-offs the run reversed; and provider refunds a person decided to keep as credit."""
        return SQL(
            """
            SELECT sum(part.refunded) AS refunded, sum(part.pending) AS pending, sum(part.kept) AS kept
              FROM (
                    SELECT CASE WHEN line.kind = 'payment_refund'
                                 AND (line.refund_state IS NULL OR line.refund_state IN %(done)s)
                                THEN line.amount_company ELSE 0.0 END AS refunded,
                           CASE WHEN line.kind = 'payment_refund' AND line.refund_state IN %(pending)s
                                THEN line.amount_company ELSE 0.0 END AS pending,
                           CASE WHEN line.kind = 'payment_refund' AND line.refund_state = 'kept'
                                THEN line.amount_company
                                WHEN l.payment_action = 'keep' AND line.kind = 'unreconcile'
                                 AND NOT EXISTS (SELECT 1 FROM sale_order_cancel_reconciled_log_line doc
                                                  WHERE doc.log_id = l.id
                                                    AND doc.invoice_id = line.counterpart_move_id)
                                THEN line.amount_company * CASE WHEN document.move_type = 'out_refund'
                                                                THEN -1 ELSE 1 END
                                WHEN l.payment_action = 'keep' AND line.kind = 'writeoff_reversal'
                                THEN -COALESCE((SELECT sum(aml.balance)
                                                  FROM account_move_line aml
                                                  JOIN account_account account ON account.id = aml.account_id
                                                 WHERE aml.move_id = line.result_move_id
                                                   AND account.account_type IN %(receivable)s), 0.0)
                                ELSE 0.0 END AS kept
                      FROM sale_order_cancel_reconciled_log_line line
                      JOIN sale_order_cancel_reconciled_log l ON l.id = line.log_id
                      LEFT JOIN account_move document ON document.id = line.invoice_id
                     WHERE l.order_id = so.id) part
            """,
            done=REFUND_DONE,
            pending=REFUND_PENDING,
            receivable=RECEIVABLE_TYPES,
        )
