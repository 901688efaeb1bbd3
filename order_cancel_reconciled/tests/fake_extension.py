"""An extension as another addon would write it: one more step in the cancellation run."""

from odoo import models
from odoo.exceptions import UserError


class SaleOrderCancelReconciled(models.TransientModel):
    _inherit = "sale.order.cancel.reconciled"

    def _get_cancel_steps(self):
        steps = super()._get_cancel_steps()
        steps.insert(steps.index("_step_cancel_order") + 1, "_step_cancel_linked_documents")
        return steps

    def _step_cancel_linked_documents(self, order, plan, log):
        if order.client_order_ref == "fail in extension":
            raise UserError(self.env._("The linked purchase order is already received."))
        log.note = f"{log.note or ''}Linked documents of {order.name} cancelled (order state: {order.state})."
