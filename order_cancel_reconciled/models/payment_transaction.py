from odoo import models

from .order_cancel_reconciled_engine_outbox import get_prepared_refund


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    def _create_child_transaction(self, amount, is_refund=False, **custom_create_values):
        """The refund a cancellation is sending was created and committed before the provider's
        code was called: that code gets it, with its reference, instead of a new one."""
        prepared = self.browse(get_prepared_refund() or []).exists()
        if (
            is_refund
            and prepared
            and prepared.source_transaction_id == self
            and prepared.operation == "refund"
            and prepared.state == "draft"
            and self.currency_id.compare_amounts(-prepared.amount, amount) == 0
        ):
            return prepared
        return super()._create_child_transaction(amount, is_refund=is_refund, **custom_create_values)

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
