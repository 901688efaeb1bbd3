from markupsafe import Markup

from odoo import models

from .order_cancel_reconciled_plan import Finding


class OrderCancelReconciledEngineOrder(models.AbstractModel):
    """The order's side: whether it can be cancelled, its own cancellation, the customer's
    message and the chatter. What differs between kinds of orders is asked of the order through
    its ``_get_cancel_reconciled_*`` and ``_cancel_reconciled_*`` hooks."""

    _name = "order.cancel.reconciled.engine.order"
    _description = "Cancellation engine: the order and its customer"

    def _get_order_findings(self, plan, options, selection):
        _ = self.env._
        order = plan.order
        if order._is_cancel_reconciled_quotation():
            return [
                Finding(_("%s is a quotation: cancel it with the standard Cancel button.", order.name), blocking=True)
            ]
        if order.state == "cancel":
            return [Finding(_("%s is already cancelled.", order.name), blocking=True)]
        findings = []
        if not plan.documents | plan.undone_earlier:
            message = _("%s has no posted invoice to undo: cancel it with the standard Cancel button.", order.name)
            findings.append(Finding(message, blocking=True))
        for move in plan.documents:
            others = order._get_cancel_reconciled_orders_of(move) - selection
            if others:
                message = _(
                    "Invoice %(invoice)s of %(order)s also bills %(others)s. Cancel these orders "
                    "together, or issue a credit note for this order's lines by hand.",
                    invoice=move.name,
                    order=order.name,
                    others=", ".join(others.mapped("name")),
                )
                findings.append(Finding(message, blocking=True))
        # Odoo's Cancel refuses locked orders; the full cancellation is a member's deliberate act
        # and cancels them as they are, which the preview says.
        if order._is_cancel_reconciled_locked():
            findings.append(Finding(_("%s is locked: it will be cancelled without being unlocked.", order.name)))
        return findings + order._get_cancel_reconciled_findings(plan, options)

    def _step_cancel_order(self, plan, options, log):
        # The customer's open requests, read when the log was written, are done with this run and
        # its log (the plain cancel below leaves the orders of a run to it).
        requests = plan.open_requests
        if requests is None:
            requests = plan.order._get_cancel_reconciled_open_requests()
        plan.order._cancel_reconciled_cancel_order()
        requests._mark_done(log)

    def _step_notify_customer(self, plan, options, log):
        if not options.notify_customer:
            return
        # The message the user may have edited for this order, else the template's.
        # The refunds as they were made (the log's), not as a new plan would see them now.
        refunds = [
            (line.currency_id.format(line.amount), line.refund_provider_id.sudo().name)
            for line in log.line_ids.filtered(
                lambda line: line.kind == "payment_refund" and line.refund_state != "failed"
            )
        ]
        subject, body = options.message or self._render_customer_message(plan.order, options, refunds)
        plan.order.message_post(
            subject=subject,
            body=body,
            partner_ids=plan.order.partner_id.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            email_layout_xmlid="mail.mail_notification_light",
        )

    def _render_customer_message(self, order, options, refunds=None):
        """(subject, body) of the customer's message, in the customer's language: with a refund,
        how much goes back which way, and when to expect it."""
        template = self.env.ref("order_cancel_reconciled.mail_template_order_cancel_reconciled").sudo()
        # The reason is part of the message: in the customer's language, like the rest of it.
        lang = template._render_lang(order.ids)[order.id]
        template = template.with_context(
            cancel_reconciled_payment_action=options.payment_action,
            cancel_reconciled_reason=options.told_reason.with_context(lang=lang).name,
            cancel_reconciled_refunds=self._get_refunds_to_tell(order, options) if refunds is None else refunds,
            cancel_reconciled_refund_days=order.company_id.cancel_refund_days,
        )
        return tuple(
            template._render_field(field, order.ids, compute_lang=True, options={"post_process": True})[order.id]
            for field in ("subject", "body_html")
        )

    def _get_refunds_to_tell(self, order, options):
        """[(amount, provider name or False)] of the refund a run would make, as the customer
        reads it."""
        if options.payment_action != "refund":
            return []
        plan = self._prepare_plans(order, options)[0]
        return [
            (line.currency_id.format(amount), tx.provider_id.name if tx else False)
            for line, (amount, tx, _reason) in self._get_refund_ways(plan).items()
            if not line.currency_id.is_zero(amount)
        ]

    def _step_post_chatter(self, plan, options, log):
        body = Markup(self.env._("Cancelled with its payments, invoices and transfers by %(user)s: %(log)s")) % {
            "user": self.env.user.name,
            # Named after the order the run holds: the log's own name would read the log back.
            "log": log._get_html_link(title=log._get_name_of(plan.order)),
        }
        # Logged, not posted: a record of what happened to each document, like Odoo's own
        # tracking messages (an internal note, no notification, no follower), written in one
        # insert for the order, its invoices and its payments. Nothing is derived from the
        # documents (their name, their reply-to address), which would cost a read each: a note
        # is not answered by mail.
        user = self.env.user
        note = self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note")
        self.env["mail.message"].sudo().create(
            [
                {
                    "model": record._name,
                    "res_id": record.id,
                    "body": body,
                    "message_type": "notification",
                    "subtype_id": note,
                    "is_internal": True,
                    "author_id": user.partner_id.id,
                    "email_from": user.email_formatted,
                    "email_add_signature": False,
                    "reply_to": False,
                    "record_name": False,
                    "record_alias_domain_id": False,
                    "record_company_id": False,
                }
                for records in (plan.order, plan.documents, plan.payments)
                for record in records
            ]
        )
