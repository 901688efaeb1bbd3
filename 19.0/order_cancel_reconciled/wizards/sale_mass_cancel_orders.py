from odoo import models
from odoo.exceptions import UserError

from ..models.order_cancel_reconciled_caller_guard import caller_checked
from ..models.sale_order import FROM_BUTTON_KEY, GROUP_XMLID


class SaleMassCancelOrders(models.TransientModel):
    _inherit = "sale.mass.cancel.orders"

    @caller_checked
    def action_mass_cancel(self):
        # The list's Actions > Cancel: as on the form, a person who selected orders with posted
        # invoices is led to our wizard (members, with every selected order) or told who can;
        # code reaches the guard of _action_cancel and gets an error naming the API.
        orders = self.sale_order_ids
        with_invoices = orders._get_orders_needing_full_cancel()
        if with_invoices and self.env.context.get(FROM_BUTTON_KEY):
            if self.env.user.has_group(GROUP_XMLID):
                return orders.action_cancel_reconciled(from_cancel=True)
            raise UserError(with_invoices._ask_a_member_message())
        return super().action_mass_cancel()
