"""18.0.2.2.0 (from 18.0.2.1.0)

A log never has no reason and says who started the cancellation (its new field ``channel``):
- logs without a reason get the documented one, "No reason given (by code)" (loaded just before);
- the channel of the existing logs is read from what they hang on: a batch line (background
  batch), the customer's request they closed (the company's rules when nobody decided, else the
  customer's request), and otherwise the back office: releases before this one did not tell the
  dialog from the API apart.
The list action "Cancel with Payments (Company Defaults)" is gone from the data files: Odoo removes
it with the update.
"""

import logging

_logger = logging.getLogger(__name__)


def give_logs_a_reason(cr):
    cr.execute(
        """
        UPDATE sale_order_cancel_reconciled_log log
           SET reason_id = data.res_id
          FROM ir_model_data data
         WHERE data.module = 'order_cancel_reconciled' AND data.name = 'reason_not_given'
           AND log.reason_id IS NULL
        """
    )
    return cr.rowcount


def set_log_channels(cr):
    cr.execute(
        """
        UPDATE sale_order_cancel_reconciled_log log
           SET channel = CASE
                   WHEN EXISTS (SELECT 1 FROM sale_order_cancel_reconciled_batch_line line
                                 WHERE line.log_id = log.id) THEN 'batch'
                   WHEN EXISTS (SELECT 1 FROM sale_order_cancel_reconciled_request req
                                 WHERE req.log_id = log.id AND req.decided_by_id IS NULL) THEN 'rule'
                   WHEN EXISTS (SELECT 1 FROM sale_order_cancel_reconciled_request req
                                 WHERE req.log_id = log.id) THEN 'portal'
                   ELSE 'backoffice'
               END
         WHERE log.channel IS NULL
        """
    )
    return cr.rowcount


def migrate(cr, version):
    if not version:
        return
    reasons = give_logs_a_reason(cr)
    channels = set_log_channels(cr)
    _logger.info("order_cancel_reconciled 18.0.2.2.0: %s logs got the default reason, %s a channel", reasons, channels)
