"""Tools of the abuse suite (``test_abuse.py``): what the two addons expose over RPC, read from the
registry; the hostile calls made of it; the fingerprint of what a refused call may not change;
and how an answer is judged.

Nothing here knows the roles: the test class says who calls and what each role may do.
"""

import inspect
import json
import logging
import re
import sys
from collections import namedtuple
from contextlib import contextmanager

from werkzeug.exceptions import HTTPException, NotFound

from odoo import Command
from odoo.exceptions import RedirectWarning, UserError
from odoo.http import SessionExpiredException
from odoo.tools import SQL

ADDONS = ("order_cancel_reconciled", "purchase_order_cancel_reconciled")
# The context keys the addons read (context.get in both) or once read: release 18.0.2.0.0
# documented the plain-cancel key, and a caller may send it whatever the code reads today.
PLAIN_CANCEL_KEY = "order_cancel_reconciled_plain_cancel"
FROM_BUTTON_KEY = "order_cancel_reconciled_from_button"
HUGE = 20000
# The partner of the other company's documents: an answer to a user of the first company that
# names it has read what it may not.
SECRET = "Zeta Secret Partner"
# A clear refusal: Odoo's user-facing errors (access, missing record, validation, private
# method, "method does not exist" for a model), or the session a public visitor does not have.
CLEAR_ERRORS = (UserError, RedirectWarning, SessionExpiredException, NotFound)
# Odoo 19's own checks of an argument's type, made with an assertion before the method reads it:
# create() takes a dict or a list of them. Odoo's refusal of that input, like the errors above.
ODOO_ARGUMENT_CHECKS = ("assert isinstance(vals_list, (list, tuple))",)
# A line of the addons in a traceback: where an unexpected error went through their code.
ADDON_FRAME = re.compile(r'File "[^"]*/((?:purchase_)?order_cancel_reconciled/[^"]+)", line (\d+), in (\w+)')
# Loggers whose lines about a call are held until the call is judged: dropped when it was a
# clear refusal (Odoo logs those as warnings, and a bad query a constraint refused as an error),
# written to the log otherwise.
HELD_LOGGERS = ("odoo.http", "odoo.sql_db", "odoo.models", "odoo.fields", "odoo.api")

# What a refused call may not change, and an allowed one changes only when it is that role's job.
FINGERPRINT = (
    ("sale.order", ("state", "locked")),
    ("purchase.order", ("state", "locked")),
    ("account.move", ("state", "payment_state")),
    ("account.payment", ("state",)),
    ("account.partial.reconcile", ()),
    ("stock.picking", ("state",)),
    ("sale.order.cancel.reconciled.log", ("state",)),
    ("sale.order.cancel.reconciled.log.line", ("refund_state",)),
    ("sale.order.cancel.reconciled.request", ("state",)),
    ("sale.order.cancel.reconciled.batch", ()),
    ("sale.order.cancel.reconciled.batch.line", ("state",)),
    ("sale.order.cancel.reconciled.reason", ("active",)),
)

# One hostile input: the ids given (a kind of records, or a wrong value) and the context.
Kind = namedtuple("Kind", "name records ids context")
# One call of a case: the method, and the arguments after the ids (or instead, at model level).
Step = namedtuple("Step", "method args kwargs")
# A case: a method (or a short sequence) called on a model with every hostile input.
Case = namedtuple("Case", "model label steps")
Verdict = namedtuple("Verdict", "outcome detail")


# ----------------------------------------------------------------------------------------------
# What the addons expose
# ----------------------------------------------------------------------------------------------


def addon_methods(registry):
    """{model: {method names}}: the public methods a class of the addons defines on a model, read
    from the registry's classes (a method added tomorrow is called too)."""
    prefixes = tuple(f"odoo.addons.{addon}." for addon in ADDONS)
    methods = {}
    for model_name in sorted(registry):
        for klass in registry[model_name].__mro__:
            if klass.__dict__.get("_module") not in ADDONS and not (klass.__module__ or "").startswith(prefixes):
                continue
            for name, value in vars(klass).items():
                if not name.startswith("_") and inspect.isfunction(value):
                    methods.setdefault(model_name, set()).add(name)
    return methods


def addon_models(registry):
    """The models the addons define (not those they extend)."""
    return sorted(name for name in registry if registry[name]._original_module in ADDONS)


def is_model_level(model_class, method):
    """@api.model and @api.model_create_multi methods take no ids over RPC."""
    return getattr(getattr(model_class, method, None), "_api_model", False)


def required_params(model_class, method):
    """The parameters after self (and the ids) the caller must give."""
    func = getattr(model_class, method)
    return [
        param.name
        for param in list(inspect.signature(func).parameters.values())[1:]
        if param.default is inspect.Parameter.empty
        and param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD)
    ]


def hostile_vals(model_class, records):
    """Values for create and write on this model, for the fields it has: the last state of its
    selection, the orders, companies and users of the given records ({model: ids}), a name or a
    note, a refund."""
    vals = {}
    for name, field in model_class._fields.items():
        if name in ("id", "display_name") or (field.compute and not field.inverse and not field.related):
            continue
        if field.type == "selection" and name == "state" and isinstance(field.selection, list):
            vals[name] = field.selection[-1][0]
        elif field.type in ("many2one", "many2many") and records.get(field.comodel_name):
            ids = records[field.comodel_name]
            vals[name] = ids[0] if field.type == "many2one" else [Command.set(ids)]
        elif name in ("name", "note", "comment", "decision_note") and field.type in ("char", "text"):
            vals[name] = "Abuse"
        elif name == "payment_action":
            vals[name] = "refund"
    return vals


STATE_WRITES = {"sale.order": ("cancel", "draft", "sent"), "purchase.order": ("cancel", "draft")}
HOSTILE_OPTIONS = {"invoice_action": "drop table", "payment_action": {"x": 1}, "reason_id": -1, "note": ["x"]}


def build_cases(registry):
    """Every public method of the addons' classes, from the registry; create, write and unlink on
    the models they define; Odoo's own cancel paths of both orders, and two sequences that reach
    a cancelled order through a quotation."""
    methods = addon_methods(registry)
    for model in addon_models(registry):
        methods.setdefault(model, set()).update(("create", "write", "unlink"))
    methods["sale.order"] |= {"action_cancel", "_action_cancel", "write"}
    methods["purchase.order"] |= {"button_draft", "button_cancel", "write"}
    cases = []
    for model, names in sorted(methods.items()):
        for method in sorted(names):
            cases += cases_of(registry[model], method)
    return [
        *cases,
        Case(
            "sale.order",
            "write {'state': 'draft'}, then action_cancel",
            (Step("write", ({"state": "draft"},), {}), Step("action_cancel", (), {})),
        ),
        Case(
            "purchase.order",
            "button_draft, then write {'state': 'cancel'}",
            (Step("button_draft", (), {}), Step("write", ({"state": "cancel"},), {})),
        ),
    ]


def cases_of(model_class, method):
    model = model_class._name
    if method == "write" and model in STATE_WRITES:
        return [
            Case(model, f"write {{'state': '{state}'}}", (Step("write", ({"state": state},), {}),))
            for state in STATE_WRITES[model]
        ]
    if method in ("create", "write"):
        return [Case(model, method, (Step(method, "vals", {}),))]
    if method == "default_get":
        return [Case(model, method, (Step(method, "fields", {}),))]
    # Anything else the caller must give is given as None.
    required = tuple(None for _name in required_params(model_class, method))
    cases = [Case(model, method, (Step(method, required, {}),))]
    if method == "cancel_reconciled":
        cases.append(Case(model, "cancel_reconciled(hostile options)", (Step(method, required, HOSTILE_OPTIONS),)))
    return cases


# ----------------------------------------------------------------------------------------------
# Judging an answer
# ----------------------------------------------------------------------------------------------


def exception_class(name):
    module, _dot, qualname = (name or "").rpartition(".")
    found = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found if isinstance(found, type) else None


def judge_rpc(response):
    """A JSON-RPC answer: ("refused", why), ("success", None) or ("failure", what went wrong)."""
    if response.status_code >= 500:
        return Verdict("failure", f"HTTP {response.status_code}: {response.text[:300]}")
    try:
        body = response.json()
    except ValueError:
        return Verdict("failure", f"HTTP {response.status_code}, not JSON: {response.text[:300]}")
    error = body.get("error")
    if not error:
        return Verdict("success", None)
    data = error.get("data") or {}
    name, message = data.get("name", ""), str(data.get("message", ""))[:400]
    klass = exception_class(name)
    if klass and issubclass(klass, CLEAR_ERRORS):
        return Verdict("refused", f"{name.rpartition('.')[2]}: {message}")
    check = odoo_argument_check(data.get("debug"))
    if klass is AssertionError and check:
        return Verdict("refused", f"AssertionError: {check}")
    return Verdict("failure", f"{name}: {message.splitlines()[0] if message else ''} ({where(data.get('debug', ''))})")


def judge_json2(response):
    """A JSON-2 answer (Odoo 19's ``/json/2/<model>/<method>``): the result with status 200, or
    the error's status and description. A refusal is a client error (4xx) carrying a clear error
    of Odoo's or the HTTP refusal of the route (no API key, no such method, arguments that do not
    fit the method's signature); a server error (5xx) is a failure."""
    if response.status_code == 200:
        return Verdict("success", None)
    try:
        body = response.json()
    except ValueError:
        return Verdict("failure", f"HTTP {response.status_code}, not JSON: {response.text[:300]}")
    name, message = body.get("name", ""), str(body.get("message", ""))[:400]
    klass = exception_class(name)
    if response.status_code < 500 and klass and issubclass(klass, (*CLEAR_ERRORS, HTTPException)):
        return Verdict("refused", f"HTTP {response.status_code} {name.rpartition('.')[2]}: {message}")
    check = odoo_argument_check(body.get("debug"))
    if klass is AssertionError and check:
        return Verdict("refused", f"AssertionError: {check}")
    first = message.splitlines()[0] if message else ""
    return Verdict("failure", f"HTTP {response.status_code} {name}: {first} ({where(body.get('debug', ''))})")


def odoo_argument_check(traceback):
    """The check of Odoo's that refused an argument, when the traceback ends with it."""
    lines = [line.strip() for line in (traceback or "").strip().splitlines()[-2:]]
    return lines[0] if lines[-1:] == ["AssertionError"] and lines[0] in ODOO_ARGUMENT_CHECKS else None


def where(traceback):
    """The addons' last line on the way to an unexpected error, or that there was none: the
    error is then Odoo's own answer to that input, which the addons' code never reached."""
    frames = ADDON_FRAME.findall(traceback or "")
    if not frames:
        return "raised in Odoo's code; no line of the addons on the way"
    path, line, function = frames[-1]
    return f"last line of the addons: {path}:{line} in {function}"


def fingerprint(env):
    """What the suite's calls may not change: one tuple of rows, sorted by id, per model. Read
    in SQL, without access rules (all rows, as the superuser sees them), in one query: it is taken
    after each of thousands of calls, and the ORM's search and read of a dozen models takes four
    times as long."""
    env.flush_all()
    parts = []
    for model_name, names in FINGERPRINT:
        model = env[model_name]
        columns = [SQL.identifier(name) for name in ("id", *names) if getattr(model._fields.get(name), "store", False)]
        parts.append(
            SQL(
                "(SELECT %s, ARRAY(SELECT ROW(%s)::text FROM %s ORDER BY id))",
                model_name,
                SQL(", ").join(columns),
                SQL.identifier(model._table),
            )
        )
    env.cr.execute(SQL(" UNION ALL ").join(parts))
    rows = dict(env.cr.fetchall())
    return tuple((model_name, tuple(rows[model_name])) for model_name, _names in FINGERPRINT)


def fingerprint_diff(before, after):
    """What changed, model by model, shortly."""
    changes = []
    for (model, old), (_model, new) in zip(before, after, strict=True):
        if old != new:
            old_set, new_set = set(old), set(new)
            changes.append(f"{model}: -{sorted(old_set - new_set)[:3]} +{sorted(new_set - old_set)[:3]}")
    return "; ".join(changes)


def jsonrpc_payload(model, method, args, kwargs, context):
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {"model": model, "method": method, "args": args, "kwargs": {**kwargs, "context": context}},
        }
    )


def json2_body(model_class, method, args, kwargs, context):
    """The same call as JSON-2 makes it: the ids under "ids" and every other argument by its
    parameter's name (JSON-2 takes no positional arguments), the context under "context"; None
    when an argument has no parameter name to go by."""
    names = [
        param.name
        for param in list(inspect.signature(getattr(model_class, method)).parameters.values())[1:]
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD)
    ]
    body = {"context": context, **kwargs}
    if not is_model_level(model_class, method):
        body["ids"], args = args[0], args[1:]
    if len(args) > len(names):
        return None
    body.update(zip(names, args, strict=False))
    return json.dumps(body)


# ----------------------------------------------------------------------------------------------
# Odoo's log during the calls
# ----------------------------------------------------------------------------------------------


class _HeldLines(logging.Filter):
    """Holds the log lines of the call being judged: dropped for a clear refusal (Odoo's warning
    about it, or the bad query of a constraint that refused it), written otherwise."""

    def __init__(self):
        super().__init__()
        self.records = []
        self.passing = False

    def filter(self, record):
        if self.passing:
            return True
        self.records.append(record)
        return False

    def release(self):
        """A failure: its lines (the traceback of the unexpected error) go to the log."""
        self.passing = True
        try:
            for record in self.records:
                logging.getLogger(record.name).handle(record)
        finally:
            self.passing = False
            self.records = []

    def drop(self):
        """A clear refusal: Odoo's warning about it says nothing the suite did not check."""
        self.records = []


@contextmanager
def held_log_lines():
    held = _HeldLines()
    loggers = [logging.getLogger(name) for name in HELD_LOGGERS]
    for logger in loggers:
        logger.addFilter(held)
    try:
        yield held
    finally:
        for logger in loggers:
            logger.removeFilter(held)
        held.release()


# ----------------------------------------------------------------------------------------------
# The hostile inputs
# ----------------------------------------------------------------------------------------------


def kinds(records, companies):
    """The inputs every method gets. ``records`` is {kind of records: {model: ids}} for "own"
    (the first company's paid documents), "other_company", "other_user" and "mine" (the dialogs
    the caller opened, given per role at the call); ``companies`` the two companies' ids."""
    own_sale = records["own"]["sale.order"]
    foreign_sale = records["other_company"]["sale.order"]
    # The plain cancel asked for, without Odoo's cancel dialog in the way (sale's action_cancel
    # returns that dialog to a caller unless told not to).
    plain_cancel = {PLAIN_CANCEL_KEY: True, "disable_cancel_warning": True}
    all_keys = {
        **plain_cancel,
        FROM_BUTTON_KEY: True,
        "active_model": "sale.order",
        "active_id": foreign_sale[0],
        "active_ids": foreign_sale,
        "default_order_ids": foreign_sale,
        "default_notify_customer": True,
        "default_state": "cancel",
        "skip_activity": True,
    }
    return (
        Kind("own", "own", None, {}),
        Kind("own+plain_cancel", "own", None, plain_cancel),
        Kind("own+from_button", "own", None, {FROM_BUTTON_KEY: True}),
        Kind("own+all_context_keys", "own", None, all_keys),
        Kind("own+both_companies", "own", None, {"allowed_company_ids": list(companies)}),
        Kind("mine", "mine", None, {}),
        Kind("mine+plain_cancel", "mine", None, plain_cancel),
        Kind("other_company", "other_company", None, {}),
        Kind("other_user", "other_user", None, {}),
        Kind("string", None, "abc", {}),
        Kind("string_ids", None, [str(own_sale[0])], {}),
        Kind("dict", None, {"id": own_sale[0]}, {}),
        Kind("negative", None, [-1], {}),
        Kind("none", None, None, {}),
        Kind("huge", None, list(range(1, HUGE + 1)), {}),
    )


def call_args(model_class, step, kind, records):
    """(args, kwargs) of one step for one input, or None when the input does not apply (no
    record of that kind for the model). A wrong value stands for the ids of a method on records,
    and for the values or field names of a method on the model."""
    targets = records[kind.records] if kind.records else None
    if is_model_level(model_class, step.method):
        if kind.name == "huge" or kind.records == "mine":
            return None  # values or field names, not ids: the other inputs stand for them
        if step.args == "vals":
            args = [hostile_vals(model_class, targets) if targets is not None else kind.ids]
        elif step.args == "fields":
            args = [["order_ids", "payment_action", "reason_id"] if targets is not None else kind.ids]
        else:
            args = list(step.args)
        return args, dict(step.kwargs)
    if targets is not None and not targets.get(model_class._name):
        return None
    ids = targets[model_class._name] if targets is not None else kind.ids
    extra = [hostile_vals(model_class, targets or records["own"])] if step.args == "vals" else list(step.args)
    return [ids, *extra], dict(step.kwargs)
