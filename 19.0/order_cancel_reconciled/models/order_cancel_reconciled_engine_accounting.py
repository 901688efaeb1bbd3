from odoo import Command, fields, models
from odoo.tools import format_date

from .order_cancel_reconciled_plan import RECEIVABLE_TYPES, Finding, Match


class OrderCancelReconciledEngineAccounting(models.AbstractModel):
    """The accounting side: payments unreconciled, invoices reversed or cancelled, freed money
    kept, cancelled or refunded. Discounts and write-offs: ``..._engine_writeoffs.py``."""

    _name = "order.cancel.reconciled.engine.accounting"
    _description = "Cancellation engine: payments and invoices"

    # ------------------------------------------------------------------------------------------
    # What is matched, read before anything changes
    # ------------------------------------------------------------------------------------------

    def _get_matches(self, documents):
        """Each reconciliation of the documents' receivable lines, seen from the document's side.

        Amounts are read now: unreconciling deletes the partial reconcile records. Matches with
        exchange difference entries are left out: deleting the match that booked such an entry
        reverses it.
        """
        lines = documents.line_ids.filtered(lambda line: line.account_id.account_type in RECEIVABLE_TYPES)
        partials = lines.matched_debit_ids | lines.matched_credit_ids
        # Odoo 19 books every exchange difference on a partial (a full reconcile has none).
        exchange_moves = partials.exchange_move_id | lines.full_reconcile_id.partial_reconcile_ids.exchange_move_id
        matches = []
        for partial in partials:
            if (partial.debit_move_id | partial.credit_move_id).move_id & exchange_moves:
                continue
            document_is_debit = partial.debit_move_id in lines
            counterpart = partial.credit_move_id if document_is_debit else partial.debit_move_id
            matches.append(
                Match(
                    partial=partial,
                    document_line=partial.debit_move_id if document_is_debit else partial.credit_move_id,
                    counterpart_line=counterpart,
                    amount=partial.credit_amount_currency if document_is_debit else partial.debit_amount_currency,
                    currency=counterpart.currency_id,
                    amount_company=partial.amount,
                    date=partial.max_date,
                    exchange_move=partial.exchange_move_id,
                )
            )
        return matches

    def _get_payments(self, matches):
        return self.env["account.payment"].union(
            *(match.counterpart_line.move_id.origin_payment_id for match in matches)
        )

    def _get_matched_moves(self, lines):
        """The entries matched with these lines (their own entry included when it matches itself)."""
        return (lines.matched_debit_ids.debit_move_id | lines.matched_credit_ids.credit_move_id).move_id

    # ------------------------------------------------------------------------------------------
    # Findings
    # ------------------------------------------------------------------------------------------

    def _get_invoice_findings(self, plan, options):
        """A locked or hash-protected invoice can only be reversed: that blocks a cancellation of
        the invoice and is a warning for a credit note."""
        if options.invoice_action != "cancel" and not plan.preview:
            return []  # a reversal is never refused: these are warnings for the preview
        _ = self.env._
        findings = []
        for move in plan.documents:
            locks = move.company_id._get_violated_lock_dates(move.date, bool(move.line_ids.tax_ids), move.journal_id)
            hashed = move.inalterable_hash or move.journal_id.restrict_mode_hash_table
            if options.invoice_action == "cancel":
                reason = False
                if move.need_cancel_request:
                    reason = _("its cancellation must be requested from the tax authority")
                elif hashed:
                    reason = _("journal %s is hash-protected (inalterable)", move.journal_id.name)
                elif locks:
                    reason = _(
                        "its date %(date)s is before the lock date %(lock)s",
                        date=format_date(self.env, move.date),
                        lock=format_date(self.env, locks[-1][0]),
                    )
                if reason:
                    message = _(
                        "Invoice %(invoice)s of %(order)s cannot be cancelled: %(reason)s. Choose “Reverse "
                        "with a credit note” instead.",
                        invoice=move.name,
                        order=plan.order.name,
                        reason=reason,
                    )
                    findings.append(Finding(message, blocking=True))
                continue
            if locks:
                message = _("%s is in a locked period: it can only be reversed, at the first open date.", move.name)
                findings.append(Finding(message))
            if hashed:
                message = _(
                    "%(invoice)s is in the hash-protected journal %(journal)s: it can only be reversed.",
                    invoice=move.name,
                    journal=move.journal_id.name,
                )
                findings.append(Finding(message))
        return findings

    def _get_payment_findings(self, plan, options):
        """A payment can be cancelled only when it is a payment, pays nothing else, and its entry
        may still change; matched with a bank statement line, it is a warning otherwise."""
        _ = self.env._
        order = plan.order
        cancel = options.payment_action == "cancel"
        findings = []
        for match in plan.external_matches:
            move = match.counterpart_line.move_id
            if cancel and not move.origin_payment_id:
                message = _(
                    "%(entry)s, which pays %(order)s, is not a payment (a bank transaction or another "
                    "entry) and cannot be cancelled here. Keep the money as %(credit)s or refund it.",
                    entry=move.name,
                    order=order.name,
                    credit=order._get_cancel_reconciled_credit_name(),
                )
                findings.append(Finding(message, blocking=True))
        if not cancel and not plan.preview:
            return findings  # what follows only refuses a cancellation of the payment
        for move in self.env["account.move"].union(
            *(match.counterpart_line.move_id for match in plan.external_matches)
        ):
            payment = move.origin_payment_id
            others = self._get_matched_moves(move.line_ids) - move - plan.documents
            on_statement = move.statement_line_id or others.statement_line_id
            if not (cancel and payment):
                if on_statement:
                    message = _(
                        "%s is matched with a bank statement line: it cannot be cancelled.",
                        payment.display_name or move.name,
                    )
                    findings.append(Finding(message))
                continue
            reason = False
            if on_statement:
                reason = _("it is matched with a bank statement line")
            elif others:
                reason = _("it also pays %s", ", ".join(others.mapped("display_name")))
            elif payment.is_sent:
                reason = _("it was already sent (a printed check or a payment file)")
            elif move.inalterable_hash:
                reason = _("its journal entry is hash-protected (inalterable)")
            elif payment.company_id._get_violated_lock_dates(payment.date, False, payment.journal_id):
                reason = _("its date %s is in a locked period", format_date(self.env, payment.date))
            if reason:
                message = _(
                    "Payment %(payment)s of %(order)s cannot be cancelled: %(reason)s. Keep it as "
                    "%(credit)s or refund it instead.",
                    payment=payment.display_name,
                    order=order.name,
                    reason=reason,
                    credit=order._get_cancel_reconciled_credit_name(),
                )
                findings.append(Finding(message, blocking=True))
        return findings

    # ------------------------------------------------------------------------------------------
    # Steps
    # ------------------------------------------------------------------------------------------

    def _step_unreconcile_payments(self, plan, options, log):
        """Free the order's documents from their payments and from each other; nothing else."""
        vals_list = []
        for match in plan.matches:
            counterpart = match.counterpart_line.move_id
            vals_list.append(
                {
                    "kind": "unreconcile",
                    "exchange_move_id": match.exchange_move.id,
                    "invoice_id": match.document_line.move_id.id,
                    "counterpart_move_id": counterpart.id,
                    "payment_id": counterpart.origin_payment_id.id,
                    "amount": match.amount,
                    "currency_id": match.currency.id,
                    "amount_company": match.amount_company,
                    "date": match.date,
                }
            )
        self._add_log_lines(log, vals_list)
        self.env["account.partial.reconcile"].union(*(match.partial for match in plan.matches)).unlink()
        self._forget_paid_documents(plan)

    def _forget_paid_documents(self, plan):
        """Take the documents out of the invoices of the payments they freed, once their matches
        are deleted.

        Unreconciling leaves a payment's invoice_ids as they were: a freed payment would go on
        naming documents it no longer pays (its Invoices button) and its state would follow
        theirs. One write for all of them (unlinking a document a payment does not hold changes
        nothing). Written after the matches are gone, unlike on 18.0: Odoo 19 stores the
        documents' reconciled payments, which the links change, and computing them for the
        write before the deletion and again after it costs more than the payments' state twice.
        """
        stale = plan.payments.filtered(lambda payment: payment.invoice_ids & plan.documents)
        if stale:
            stale.invoice_ids = [Command.unlink(move.id) for move in plan.documents]

    def _step_settle_invoices(self, plan, options, log):
        """Reverse the posted documents with credit notes, or reset them to draft and cancel
        them; cancel the draft invoices."""
        documents = plan.documents
        if options.invoice_action == "cancel":
            documents.button_draft()
            documents.button_cancel()
            self._add_log_lines(log, [self._prepare_invoice_log_vals(move, "invoice_cancel") for move in documents])
        else:
            reversals = documents._reverse_moves(
                [self._prepare_reversal_vals(move, options) for move in documents], cancel=True
            )
            self._add_log_lines(
                log,
                [
                    self._prepare_invoice_log_vals(move, "credit_note", reversal)
                    for move, reversal in zip(documents, reversals, strict=True)
                ],
            )
        plan.draft_invoices.button_cancel()
        self._add_log_lines(
            log, [self._prepare_invoice_log_vals(move, "invoice_cancel") for move in plan.draft_invoices]
        )

    def _get_reversal_date(self, move):
        """Today, or the first open date when today falls in a locked period (today without a move)."""
        today = fields.Date.context_today(self)
        if not move:
            return today
        has_tax = move._affect_tax_report()
        lock_dates = move._get_violated_lock_dates(today, has_tax)
        # With no lock date in the way, Odoo's rule gives today itself: it reads the journal's last
        # number only to place a date after a locked period.
        return move._get_accounting_date(today, has_tax, lock_dates) if lock_dates else today

    def _prepare_reversal_vals(self, move, options):
        date = self._get_reversal_date(move)
        reason = options.told_reason.name or self.env._("order %s cancelled", move.invoice_origin or "")
        return {
            "ref": self.env._("Reversal of: %(move)s, %(reason)s", move=move.name, reason=reason),
            "date": date,
            "invoice_date": date,
            "invoice_date_due": date,
            "invoice_payment_term_id": False,
            "invoice_user_id": move.invoice_user_id.id,
            "auto_post": "no",
        }

    def _prepare_invoice_log_vals(self, move, kind, result=None):
        # A credit note's amounts are its own (at its date's rate), not the invoice's.
        posted = result or move
        return {
            "kind": kind,
            "invoice_id": move.id,
            "result_move_id": result.id if result else False,
            "amount": posted.amount_total,
            "currency_id": posted.currency_id.id,
            "amount_company": abs(posted.amount_total_signed),
            "date": result.date if result else move.date,
        }

    def _step_handle_payments(self, plan, options, log):
        """Cancel the freed payments or refund the freed money; kept, it is the partner's credit."""
        if options.payment_action == "cancel":
            # Cancelling the entries cancels the payments and keeps their history; the payment's
            # own action_cancel would delete the entry once reset to draft.
            plan.payments.move_id.button_cancel()
            self._add_log_lines(log, [self._prepare_payment_log_vals(payment) for payment in plan.payments])
        elif options.payment_action == "refund":
            self._refund_freed_money(plan, log)

    def _prepare_payment_log_vals(self, payment):
        return {
            "kind": "payment_cancel",
            "payment_id": payment.id,
            "counterpart_move_id": payment.move_id.id,
            "amount": payment.amount,
            "currency_id": payment.currency_id.id,
            "amount_company": abs(payment.amount_company_currency_signed),
            "date": payment.date,
        }

    # ------------------------------------------------------------------------------------------
    # The money of a plan, in company currency, for the preview
    # ------------------------------------------------------------------------------------------

    def _get_balance_change(self, plan, options):
        """How the run changes the partner's receivable for one order."""
        change = -sum(plan.documents.mapped("amount_total_signed"))
        if options.payment_action == "keep":
            # The reversed discounts and write-offs leave only the money received as credit.
            change += sum(share_line.balance for share in plan.writeoffs for share_line in share.lines)
        if options.payment_action in ("cancel", "refund"):
            change += sum(
                match.amount_company * (1 if match.counterpart_line.balance < 0 else -1)
                for match in plan.external_matches
            )
        return change

    def _get_money_to_refund(self, plan):
        """What a refund pays back: what was freed less what was not money. A discount lowers it,
        an excess written off as income raises it (the customer paid it)."""
        money = sum(abs(match.amount_company) for match in plan.external_matches)
        money -= sum(
            self._money_sign(share.counterpart) * share_line.balance
            for share in plan.writeoffs
            for share_line in share.lines
        )
        return money
