"""18.0.2.1.0 (from 18.0.2.0.0)

Provider refunds move through an outbox (see models/order_cancel_reconciled_engine_outbox.py).
One state of 18.0.2.0.0 meant two things: "failed" was also written for a refund the provider had
made but whose payment could not be matched with the freed credit, with a to-do that asked to
refund the customer by hand. Those lines become "refunded, to match": the customer has their
money. The other new fields (attempts, next try, sent on) start empty; the requests' attempts too.

Members see the logs of the scheduled actions (OdooBot's: the requests the rules approved) beside
their own: the record rules are noupdate data, so their domain is brought to this version here,
unless an administrator changed it.
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


MEMBER_RULES = {
    "order_cancel_reconciled.sale_order_cancel_reconciled_log_rule_member": (
        "[('user_id', '=', user.id)]",
        "['|', ('user_id', '=', user.id), ('user_id', '=', 1)]",
    ),
    "order_cancel_reconciled.sale_order_cancel_reconciled_log_line_rule_member": (
        "[('log_id.user_id', '=', user.id)]",
        "['|', ('log_id.user_id', '=', user.id), ('log_id.user_id', '=', 1)]",
    ),
}


def update_member_rules(env):
    """Bring the members' log rules to this version where they are as 18.0.2.0.0 made them."""
    for xmlid, (old, new) in MEMBER_RULES.items():
        rule = env.ref(xmlid, raise_if_not_found=False)
        if rule and rule.domain_force == old:
            rule.domain_force = new


def migrate(cr, version):
    if not version:
        return
    from odoo import SUPERUSER_ID, api

    update_member_rules(api.Environment(cr, SUPERUSER_ID, {}))
    count = mark_refunds_to_match(cr)
    _logger.info("order_cancel_reconciled: %s provider refund(s) made but not matched are now 'to match'.", count)
