from odoo import models
from odoo.exceptions import AccessError

from .order_cancel_reconciled_plan import GROUP_XMLID, MAX_IDS_IN_MESSAGE


class OrderCancelReconciledMixin(models.AbstractModel):
    """What the engine asks of a kind of order (sale orders here, purchase orders in
    ``purchase_order_cancel_reconciled``): who may cancel it, which documents hang on it, how it
    is cancelled and how its log names it. A kind of order inherits this and overrides what
    differs; the engine's accounting and stock steps serve every kind alike."""

    _name = "order.cancel.reconciled.mixin"
    _description = "Order cancellable with its payments, invoices and transfers"
    # The group whose members may run the full cancellation of this kind of order.
    _cancel_reconciled_group = GROUP_XMLID
    # The log's kind of order and its field that names an order of this kind.
    _cancel_reconciled_log_kind = "sale"
    _cancel_reconciled_log_field = "order_id"

    # ------------------------------------------------------------------------------------------
    # Who may cancel
    # ------------------------------------------------------------------------------------------

    def _check_cancel_reconciled_access(self):
        """Refuse, as the real user, anyone but a member, and orders they may not change.

        One message for orders that do not exist and orders the user may not see, so that the
        answer tells nothing about the ids of others.
        """
        if not self.env.su and not self.env.user.has_group(self._cancel_reconciled_group):
            raise AccessError(self._not_a_member_message())
        self._check_orders_visible("write")

    def _not_a_member_message(self):
        return self.env._(
            "Only members of the group “Cancel reconciled orders” may cancel orders whose "
            "invoices are posted or paid. Ask your administrator to add you to it."
        )

    def _check_orders_visible(self, operation="read"):
        """Refuse the whole request when one of these orders does not exist or the real user may
        not read (or change) it, with record rules and the active companies. Code that elevated
        itself with sudo() has chosen to see everything."""
        if self.env.su:
            refused = [order_id for order_id in self.ids if order_id not in set(self.exists().ids)]
        else:
            allowed = set(self.exists()._filtered_access(operation).ids)
            refused = [order_id for order_id in self.ids if order_id not in allowed]
        if refused:
            raise AccessError(self._refused_orders_message(refused))

    def _is_visible_to_user(self):
        try:
            self._check_orders_visible()
        except AccessError:
            return False
        return True

    def _refused_orders_message(self, refused_ids):
        return self.env._(
            "These sale orders do not exist or you may not access them (check the companies selected in the "
            "company switcher): %s.",
            self._shown_ids(refused_ids),
        )

    def _shown_ids(self, ids):
        shown = ", ".join(str(order_id) for order_id in ids[:MAX_IDS_IN_MESSAGE])
        if len(ids) > MAX_IDS_IN_MESSAGE:
            shown += self.env._(" and %s more", len(ids) - MAX_IDS_IN_MESSAGE)
        return shown

    def _short_names(self):
        names = ", ".join(self[:MAX_IDS_IN_MESSAGE].mapped("name"))
        if len(self) > MAX_IDS_IN_MESSAGE:
            names += self.env._(" and %s more", len(self) - MAX_IDS_IN_MESSAGE)
        return names

    def _get_cancel_reconciled_members(self):
        """The members who could cancel these orders: of the group, and of the orders' companies."""
        companies = self.company_id
        return (
            self.env.ref(self._cancel_reconciled_group)
            .sudo()
            .all_user_ids.filtered(lambda user: not user.share and user.active and companies <= user.company_ids)
        )

    # ------------------------------------------------------------------------------------------
    # What hangs on the order
    # ------------------------------------------------------------------------------------------

    def _get_cancel_reconciled_documents(self):
        """Posted invoices and credit notes of the order not already netted by a reversal."""
        posted = self.invoice_ids.filtered(lambda move: move.state == "posted")
        netted = posted.filtered(lambda move: move.payment_state == "reversed")
        netted |= posted.filtered(lambda move: move.reversed_entry_id in netted)
        return posted - netted

    def _get_cancel_reconciled_draft_invoices(self):
        return self.invoice_ids.filtered(lambda move: move.state == "draft")

    def _get_cancel_reconciled_pickings(self):
        return self.picking_ids

    def _get_cancel_reconciled_released_moves(self):
        """Stock moves waiting for goods of this order that its returns take back: their
        reservations are released for the returns (none by default)."""
        return self.env["stock.move"]

    def _get_cancel_reconciled_orders_of(self, invoices):
        """The orders of this kind these invoices bill."""
        raise NotImplementedError

    def _get_cancel_reconciled_open_requests(self):
        """The partner's requests to cancel the order that wait for it (none by default)."""
        return self.env["sale.order.cancel.reconciled.request"]

    def _get_cancel_reconciled_partner_type(self):
        """The partner's side of the order's payments and refunds: customer or supplier."""
        return "customer"

    def _get_cancel_reconciled_credit_name(self):
        """What freed money kept with the partner is, in the user's words."""
        return self.env._("customer credit")

    def _get_cancel_reconciled_account_type(self):
        """The account of the partner's open balance: receivable for customers, payable for vendors."""
        return "asset_receivable" if self._get_cancel_reconciled_partner_type() == "customer" else "liability_payable"

    # ------------------------------------------------------------------------------------------
    # Its states and its cancellation
    # ------------------------------------------------------------------------------------------

    def _is_cancel_reconciled_quotation(self):
        """Not confirmed yet: the standard Cancel is the way."""
        raise NotImplementedError

    def _is_cancel_reconciled_locked(self):
        """Confirmed and locked against changes."""
        return False

    def _get_cancel_reconciled_findings(self, plan, options):
        """What this kind of order adds to the preview and the refusals (Findings)."""
        return []

    def _cancel_reconciled_cancel_order(self):
        """Cancel the order itself, once its documents and transfers are undone."""
        raise NotImplementedError

    def _get_cancel_reconciled_log_vals(self):
        """The log's fields that name this order."""
        return {"order_kind": self._cancel_reconciled_log_kind, self._cancel_reconciled_log_field: self.id}
