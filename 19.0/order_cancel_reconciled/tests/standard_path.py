"""The wizard's end state reached by hand, one standard Odoo operation at a time.

This is what an accountant and a warehouse user do without the addon: unreconcile each payment
from each invoice, reverse each invoice with a credit note, cancel the order, return and validate
each delivery. The query-count guards of ``test_reliability`` and ``bench/bench_cancel.py``
measure the wizard against it: whatever this costs per order line is the price of the core
operations themselves, not of the engine.
"""

from odoo import fields

RECEIVABLE_TYPES = ("asset_receivable", "liability_payable")


def cancel_by_hand(orders, validate_returns=True):
    """Cancel paid, delivered orders (invoices reversed, payments kept as credit) without the wizard."""
    env = orders.env
    today = fields.Date.context_today(orders)
    for order in orders:
        invoices = order.invoice_ids.filtered(lambda move: move.state == "posted" and move.payment_state != "reversed")
        # One click on "unreconcile" per match in the invoice's payment widget.
        for invoice in invoices:
            lines = invoice.line_ids.filtered(lambda line: line.account_id.account_type in RECEIVABLE_TYPES)
            for partial in lines.matched_debit_ids | lines.matched_credit_ids:
                partial.unlink()
        # One "Reverse" per invoice, the way the reversal wizard's "Reverse" and "cancel" does it.
        for invoice in invoices:
            invoice._reverse_moves([{"date": today, "invoice_date": today}], cancel=True)
        done_pickings = order.picking_ids.filtered(lambda picking: picking.state == "done" and not picking.return_id)
        # Cancelling first: the order's cancellation would also cancel a return still waiting.
        order._action_cancel()
        for picking in done_pickings:
            wizard = (
                env["stock.return.picking"]
                .with_context(active_model="stock.picking", active_id=picking.id, active_ids=picking.ids)
                .create({"picking_id": picking.id})
            )
            return_picking = env["stock.picking"].browse(wizard.action_create_returns_all()["res_id"])
            if validate_returns:
                for move in return_picking.move_ids:
                    move.quantity = move.product_uom_qty
                return_picking.move_ids.picked = True
                return_picking.with_context(skip_backorder=True, skip_sms=True).button_validate()
