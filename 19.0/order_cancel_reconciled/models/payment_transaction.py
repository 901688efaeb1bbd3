from odoo import models


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    def _post_process(self):
        result = super()._post_process()
        self._settle_cancel_reconciled_refunds()
        return result

    def _set_error(self, state_message, extra_allowed_states=()):
        transactions = super()._set_error(state_message, extra_allowed_states=extra_allowed_states)
        transactions._settle_cancel_reconciled_refunds()
        return transactions

    def _set_canceled(self, state_message=None, extra_allowed_states=()):
        transactions = super()._set_canceled(state_message=state_message, extra_allowed_states=extra_allowed_states)
        transactions._settle_cancel_reconciled_refunds()
        return transactions

    def _settle_cancel_reconciled_refunds(self):
        """A refund asked by a cancellation is answered: match its payment, or report it failed."""
        refunds = self.filtered(lambda tx: tx.operation == "refund")
        if refunds:
            self.env["order.cancel.reconciled.engine"].sudo()._settle_provider_refunds(refunds)
