"""An extension as another addon would write it: one more step in the cancellation engine's run."""

from odoo import models
from odoo.exceptions import UserError


class OrderCancelReconciledEngine(models.AbstractModel):
    _inherit = "order.cancel.reconciled.engine"

    def _get_steps(self):
        steps = super()._get_steps()
        steps.insert(steps.index(self._step_cancel_order) + 1, self._step_cancel_linked_documents)
        return steps

    def _step_cancel_linked_documents(self, plan, options, log):
        order = plan.order
        if order.client_order_ref == "fail in extension":
            raise UserError(self.env._("The linked purchase order is already received."))
        # What the log holds when this step runs: the lines of the steps before it.
        kinds = ", ".join(dict.fromkeys(log.line_ids.sorted("sequence").mapped("kind")))
        log.note = (
            f"{log.note or ''}Linked documents of {order.name} cancelled (order state: {order.state}; log: {kinds})."
        )
