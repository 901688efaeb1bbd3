from collections import defaultdict

from odoo import Command, models

from .order_cancel_reconciled_plan import RECEIVABLE_TYPES, WriteoffLine, WriteoffShare


class OrderCancelReconciledEngineWriteoffs(models.AbstractModel):
    """Discounts and write-offs: a payment's entry may settle invoices for more than the money
    received (early payment discount, "mark as fully paid", write-off). Cancelling the order
    reverses its share of those lines, so that what stays open, or is refunded, is exactly the
    money received."""

    _name = "order.cancel.reconciled.engine.writeoffs"
    _description = "Cancellation engine: discounts and write-offs"

    def _get_writeoff_lines(self, move):
        """Lines of a payment or bank entry that settled documents without being money: early
        payment discounts, write-offs, "mark as fully paid" differences. Other entries have none."""
        if len(move.line_ids) <= 2:
            # The money and its counterpart: settling more than the money takes a third line.
            return self.env["account.move.line"]
        if move.origin_payment_id:
            _liquidity, _counterpart, writeoffs = move.origin_payment_id._seek_for_lines()
        elif move.statement_line_id:
            _liquidity, _suspense, writeoffs = move.statement_line_id._seek_for_lines()
        else:
            return self.env["account.move.line"]
        return writeoffs.filtered(lambda line: line.account_id.account_type not in RECEIVABLE_TYPES)

    def _get_writeoff_shares(self, matches):
        """Per payment (or bank) entry, this order's share of its non-money lines.

        The entry's receivable lines settled its documents for the money received plus those
        lines. This order's share is the part of that total it frees, applied to each line and
        rounded in its currency: the whole of it when the entry settled only this order.
        """
        freed = defaultdict(lambda: defaultdict(float))
        for match in matches:
            freed[match.counterpart_line.move_id][match.counterpart_line] += match.amount
        shares = []
        for move, freed_by_line in freed.items():
            writeoffs = self._get_writeoff_lines(move)
            if not writeoffs:
                continue
            settled = sum(
                abs(line.amount_currency) for line in move.line_ids if line.account_id.account_type in RECEIVABLE_TYPES
            )
            if not settled:
                continue
            ratio = min(sum(freed_by_line.values()) / settled, 1.0)
            lines = [
                WriteoffLine(
                    line,
                    line.currency_id.round(line.amount_currency * ratio),
                    line.company_currency_id.round(line.balance * ratio),
                )
                for line in writeoffs
            ]
            if all(share_line.line.company_currency_id.is_zero(share_line.balance) for share_line in lines):
                continue
            shares.append(WriteoffShare(move=move, freed=dict(freed_by_line), lines=lines))
        return shares

    @staticmethod
    def _money_sign(counterpart_line):
        """1 for money received (a freed credit on the receivable), -1 for money paid out: the
        money in a freed amount is that amount less this sign times the non-money share."""
        return 1 if counterpart_line.balance < 0 else -1

    def _writeoff_total(self, share):
        """This order's share of an entry's non-money lines, signed as the money it is not."""
        return self._money_sign(share.counterpart) * sum(share_line.amount_currency for share_line in share.lines)

    @staticmethod
    def _split_receivable_lines(lines):
        receivables = lines.filtered(lambda line: line.account_id.account_type in RECEIVABLE_TYPES)
        return receivables, lines - receivables

    def _step_reverse_writeoffs(self, plan, options, log):
        """Undo this order's share of discounts and write-offs booked in its payments' entries.

        A cancelled payment takes its whole entry with it: nothing to undo then.
        """
        if options.payment_action == "cancel":
            return
        vals_list = []
        for share in plan.writeoffs:
            # The lines are given as they must be: no tax lines computed again from their taxes.
            reversal = (
                self.env["account.move"]
                .with_context(skip_invoice_sync=True)
                .create(self._prepare_writeoff_reversal_vals(plan, share))
            )
            reversal.action_post()
            receivables, writeoffs = self._split_receivable_lines(reversal.line_ids.sorted("id"))
            for counterpart, receivable in zip(share.freed, receivables, strict=True):
                plan.writeoff_reversals[counterpart] = receivable
                # A discount (debit) is matched with the freed credit; an excess written off as
                # income (credit) stays open beside it, and a refund pays both back.
                if counterpart.balance * receivable.balance < 0:
                    (counterpart | receivable).reconcile()
            amount = sum(writeoffs.mapped("amount_currency"))
            vals_list.append(
                {
                    "kind": "writeoff_reversal",
                    "payment_id": share.move.origin_payment_id.id,
                    "counterpart_move_id": share.move.id,
                    "result_move_id": reversal.id,
                    "amount": abs(amount),
                    "currency_id": share.lines[0].line.currency_id.id,
                    "amount_company": abs(sum(writeoffs.mapped("balance"))),
                    "date": reversal.date,
                }
            )
        self._add_log_lines(log, vals_list)

    def _prepare_writeoff_reversal_vals(self, plan, share):
        """An entry with the opposite of each share line, then one receivable line per freed line
        of the payment entry carrying the total, split in proportion to what each line freed."""
        order, move = plan.order, share.move
        journal = (
            self.env["account.journal"].search(
                [*self.env["account.journal"]._check_company_domain(order.company_id), ("type", "=", "general")],
                limit=1,
            )
            or move.journal_id
        )
        line_vals = [self._prepare_writeoff_reversal_line_vals(order, share_line) for share_line in share.lines]
        total_currency = sum(share_line.amount_currency for share_line in share.lines)
        total_balance = sum(share_line.balance for share_line in share.lines)
        freed_total = sum(share.freed.values())
        counterparts = list(share.freed)
        for index, counterpart in enumerate(counterparts):
            if index == len(counterparts) - 1:
                part_currency, part_balance = total_currency, total_balance
            else:
                ratio = share.freed[counterpart] / freed_total
                part_currency = counterpart.currency_id.round(total_currency * ratio)
                part_balance = counterpart.company_currency_id.round(total_balance * ratio)
            total_currency -= part_currency
            total_balance -= part_balance
            line_vals.append(
                {
                    "name": self.env._("Reversal for %s", order.name),
                    "account_id": counterpart.account_id.id,
                    "partner_id": counterpart.partner_id.id or order.partner_id.commercial_partner_id.id,
                    "currency_id": counterpart.currency_id.id,
                    "amount_currency": part_currency,
                    "balance": part_balance,
                }
            )
        return {
            "move_type": "entry",
            "journal_id": journal.id,
            # Dated like the credit note of the order's first document.
            "date": self._get_reversal_date(plan.documents[:1]),
            "ref": self.env._(
                "%(order)s cancelled: discounts and write-offs of %(payment)s reversed",
                order=order.name,
                payment=move.origin_payment_id.display_name or move.name,
            ),
            "line_ids": [Command.create(vals) for vals in line_vals],
        }

    def _prepare_writeoff_reversal_line_vals(self, order, share_line):
        line = share_line.line
        return {
            "name": self.env._("Reversal for %(order)s: %(label)s", order=order.name, label=line.name or ""),
            "account_id": line.account_id.id,
            "partner_id": line.partner_id.id,
            "currency_id": line.currency_id.id,
            "amount_currency": -share_line.amount_currency,
            "balance": -share_line.balance,
            "analytic_distribution": line.analytic_distribution,
            # A discount on a taxed invoice also lowered the tax due: the same taxes and grids
            # with the opposite amount undo it in the tax report too, as Odoo's own reversal of an
            # entry does (Odoo 19 signs the grids by the amount: no tag inversion flag).
            "tax_ids": [Command.set(line.tax_ids.ids)],
            "tax_repartition_line_id": line.tax_repartition_line_id.id,
            "tax_tag_ids": [Command.set(line.tax_tag_ids.ids)],
        }
