from odoo import http
from odoo.exceptions import AccessError, MissingError
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal


class CancelRequestPortal(CustomerPortal):
    @http.route(["/my/orders/<int:order_id>/request_cancel"], type="http", auth="public", methods=["POST"])
    def portal_order_request_cancel(self, order_id, access_token=None, reason_id=None, comment=None, **kwargs):
        """The customer asks to cancel a confirmed order: the owner logged in, or anyone with the
        order's access token, as for the order's page (CSRF is checked by the route)."""
        try:
            order_sudo = self._document_check_access("sale.order", order_id, access_token=access_token)
        except (AccessError, MissingError):
            return request.redirect("/my")
        if request.env.user._is_internal():
            # The request is the customer's: a member of staff cancels from the back office,
            # under their own name, never as the customer.
            outcome = "internal_user"
        else:
            Request = request.env["sale.order.cancel.reconciled.request"].sudo()
            reason = self._get_cancel_request_reason(reason_id)
            outcome = Request._request_from_portal(order_sudo, reason, str(comment or "").strip())
        return request.redirect(order_sudo.get_portal_url(query_string=f"&cancel_request={outcome}"))

    @staticmethod
    def _get_cancel_request_reason(reason_id):
        """The reason the form sent, or none: whatever else was posted (a digit int() refuses or
        reads as another, a negative or unknown id), the request then says "choose one of the
        reasons"."""
        reasons = request.env["sale.order.cancel.reconciled.reason"].sudo()
        raw = str(reason_id or "")
        if not (raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**31):
            return reasons
        return reasons.browse(int(raw)).exists()
