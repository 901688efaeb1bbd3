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
        Request = request.env["sale.order.cancel.reconciled.request"].sudo()
        reason = request.env["sale.order.cancel.reconciled.reason"].sudo()
        if reason_id and str(reason_id).isdigit():
            reason = reason.browse(int(reason_id)).exists()
        outcome = Request._request_from_portal(order_sudo, reason, (comment or "").strip())
        return request.redirect(order_sudo.get_portal_url(query_string=f"&cancel_request={outcome}"))
