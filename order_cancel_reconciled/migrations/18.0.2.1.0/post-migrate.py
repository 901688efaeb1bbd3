"""18.0.2.1.0 (from 18.0.2.0.0)

Provider refunds move through an outbox (see models/order_cancel_reconciled_engine_outbox.py).
One state of 18.0.2.0.0 meant two things: "failed" was also written for a refund the provider had
made but whose payment could not be matched with the freed credit, with a to-do that asked to
refund the customer by hand. Those lines become "refunded, to match": the customer has their
money. The other new fields (attempts, next try, sent on) start empty; the requests' attempts too.
"""

import logging

_logger = logging.getLogger(__name__)


def mark_refunds_to_match(cr):
    """The refunds recorded as failed that the provider made (its refund transaction is done and
    booked a payment): refunded, to match. Returns how many."""
    cr.execute(
        """
        UPDATE sale_order_cancel_reconciled_log_line line
           SET refund_state = 'to_match'
          FROM payment_transaction tx
         WHERE tx.id = line.refund_transaction_id
           AND line.refund_state = 'failed'
           AND tx.state = 'done'
           AND line.result_payment_id IS NOT NULL
        """
    )
    return cr.rowcount


def migrate(cr, version):
    if not version:
        return
    count = mark_refunds_to_match(cr)
    _logger.info("order_cancel_reconciled: %s provider refund(s) made but not matched are now 'to match'.", count)
