"""The engine's vocabulary: the options of a run, the plan of one order and what was found in it.

Plain structures, named, so that the engine's steps, the wizard's preview and an extension read
``plan.documents`` or ``options.payment_action`` instead of string keys. The addon's constants
live here too, one place each.
"""

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

from odoo.exceptions import UserError

GROUP_XMLID = "order_cancel_reconciled.group_cancel_reconciled"
# Set by the views' Cancel buttons, so that a person is shown the way (the dialog, or who can do
# it) instead of an error meant for code. It only chooses the answer: it lifts no guard.
FROM_BUTTON_KEY = "order_cancel_reconciled_from_button"
MAX_IDS_IN_MESSAGE = 5
# One request cancels at most this many orders: more is refused before anything is read.
MAX_ORDERS = 10000
RECEIVABLE_TYPES = ("asset_receivable", "liability_payable")
# The log's amount that each kind of line adds to (the other kinds add to none).
AMOUNT_FIELDS = {
    "unreconcile": "amount_unreconciled",
    "credit_note": "amount_reversed",
    "invoice_cancel": "amount_reversed",
    "payment_refund": "amount_refunded",
}

INVOICE_ACTIONS = [
    ("reverse", "Reverse with a credit note"),
    ("cancel", "Reset to draft and cancel"),
]
PAYMENT_ACTIONS = [
    ("keep", "Keep as customer credit"),
    ("cancel", "Cancel the payment"),
    ("refund", "Refund the customer"),
]
STOCK_ACTIONS = [
    ("return", "Prepare returns"),
    ("return_validate", "Return and validate now"),
    ("none", "Leave the deliveries as they are"),
]
OPTION_VALUES = {
    "invoice_action": INVOICE_ACTIONS,
    "payment_action": PAYMENT_ACTIONS,
    "stock_action": STOCK_ACTIONS,
}


# A refund through a payment provider, from the cancellation that records it to the provider's
# answer matched in the books (order_cancel_reconciled_engine_outbox.py says how it moves).
REFUND_STATES = [
    ("to_send", "To send"),
    ("sending", "Sent, no answer yet"),
    ("pending", "Accepted, waiting for the provider"),
    ("done", "Refunded"),
    ("to_match", "Refunded, to match"),
    ("unknown", "Outcome unknown: check the provider"),
    ("held", "On hold: to check"),
    ("failed", "Not refunded"),
    ("kept", "Kept as credit"),
]
# Money may be on its way to the customer: the freed credit is spoken for.
REFUND_IN_FLIGHT = ("to_send", "sending", "pending", "unknown", "to_match")
# A person decides: the review's "Refunds to Check" lists these.
REFUND_TO_CHECK = ("to_match", "unknown", "held", "failed")
# A refund the provider's code refused (it says nothing left) is handed to it this many times,
# waiting longer each time, then to a person.
REFUND_MAX_ATTEMPTS = 5
REFUND_ACTIVITY_XMLID = "order_cancel_reconciled.mail_activity_type_refund_check"


# The orders whose plain cancel this call has checked (the engine's own cancel step, or an
# _action_cancel whose guard passed): a Python variable of the call, which no remote caller can
# set, where a context key can be. Odoo's code below (sale_stock, the state write) sees it.
_plain_cancel_checked = contextvars.ContextVar("order_cancel_reconciled_plain_cancel_checked", default=frozenset())


@contextmanager
def plain_cancel_checked(orders):
    """Within this block, a plain cancel of these very orders is the checked one."""
    token = _plain_cancel_checked.set(_plain_cancel_checked.get() | {(orders._name, oid) for oid in orders.ids})
    try:
        yield
    finally:
        _plain_cancel_checked.reset(token)


def is_plain_cancel_allowed(orders):
    """A cancel of these very orders already checked in this call. Not sudo: automated and
    server actions run elevated without meaning a plain cancel (see _cancel_plain_elevated)."""
    checked = _plain_cancel_checked.get()
    return all((orders._name, oid) in checked for oid in orders.ids)


def report_cron_progress(env, processed, remaining):
    """Tell the scheduler how far a scheduled run got: it calls the job again while some remain.
    Odoo 19's ``_commit_progress`` commits, so it is called inside a scheduled run only (code and
    tests call the jobs outside one, in their own transaction)."""
    if env.context.get("ir_cron_progress_id"):
        env["ir.cron"]._commit_progress(processed, remaining=remaining)


# The orders being cancelled by this transaction's run, as (model, id), while their steps run
# (the cursor's cache: no caller can set it). Their log exists from the start of the run.
ORDERS_IN_RUN = "order_cancel_reconciled_orders_in_run"


class OrdersBusyError(UserError):
    """Another transaction holds the orders or their invoices right now: try again later."""


CHANNELS = [
    ("backoffice", "Back office"),
    ("portal", "Customer request"),
    ("rule", "Company rules"),
    ("batch", "Background batch"),
    ("api", "API"),
]
# The reason of a run that was given none (code, an integration): a log never has no reason.
DEFAULT_REASON_XMLID = "order_cancel_reconciled.reason_not_given"


@dataclass(frozen=True)
class CancelOptions:
    """What the user chose for a run; the same for every order of it."""

    invoice_action: str
    payment_action: str
    stock_action: str
    reason: object  # a sale.order.cancel.reconciled.reason record, possibly empty
    note: str = ""
    notify_customer: bool = False
    # (subject, body) as the user edited them for a run of one order; else the template's.
    message: tuple = ()
    # Who started the run (CHANNELS): the dialog, a customer's request, the company's rules, a
    # background batch or code; the log keeps it for the analysis.
    channel: str = "api"
    # False when the reason is the documented default of a run given none: the log records it,
    # but the customer's message and the credit note's reference say no reason.
    reason_given: bool = True

    @property
    def told_reason(self):
        """The reason to tell the customer and write on credit notes: the one chosen, if any."""
        return self.reason if self.reason_given else self.reason.browse()


@dataclass(frozen=True)
class Finding:
    """One thing the plan of an order found: a blocking one refuses the run (with this message)
    and shows as the order's error in the preview; the others show as warnings."""

    message: str
    blocking: bool = False


@dataclass(frozen=True)
class Match:
    """One reconciliation of a document's receivable line, seen from the document's side, with
    its amounts read before unreconciling deletes it."""

    partial: object
    document_line: object
    counterpart_line: object
    amount: float  # in the counterpart's currency
    currency: object
    amount_company: float
    date: object
    exchange_move: object


class WriteoffLine(NamedTuple):
    """The order's share of one non-money line, rounded in its currencies."""

    line: object
    amount_currency: float
    balance: float


@dataclass(frozen=True)
class WriteoffShare:
    """An order's share of the non-money lines (discounts, write-offs) of one payment or bank
    entry: ``freed`` is what the order frees per receivable line of that entry."""

    move: object
    freed: dict
    lines: list  # of WriteoffLine

    @property
    def counterpart(self):
        return next(iter(self.freed))


@dataclass
class OrderPlan:
    """What the run will touch for one order, read before anything changes."""

    order: object
    documents: object  # posted invoices and credit notes undone with this order
    undone_earlier: object  # its documents already undone with an earlier order of the run
    draft_invoices: object
    matches: list  # of Match
    external_matches: list  # the matches with payments and other entries than its documents
    payments: object
    writeoffs: list  # of WriteoffShare
    pending_pickings: object
    done_pickings: object
    # Stock moves waiting for goods of this order that its returns take back (bought to order).
    released_moves: object
    findings: list = field(default_factory=list)
    # False for the run itself: findings that only inform a person are left out.
    preview: bool = True
    # Per done move, the quantity to return as the findings read it; None: read by the run.
    returnable: dict | None = None
    # The customer's requests waiting for the order, read by the run when it writes its log
    # (they make its channel "portal") and closed by it with the order.
    open_requests: object = None
    # Filled by the run: per freed payment line, the receivable line of its discounts' reversal.
    writeoff_reversals: dict = field(default_factory=dict)
    # Received goods that earlier orders of the run take back, per (product, location, lot):
    # shared by the plans of one run, so that two orders do not count the same goods as free.
    claimed: dict = field(default_factory=dict)

    @property
    def refusal(self):
        """The message of the first blocking finding, or None."""
        return next((finding.message for finding in self.findings if finding.blocking), None)

    @property
    def warnings(self):
        return [finding.message for finding in self.findings if not finding.blocking]
