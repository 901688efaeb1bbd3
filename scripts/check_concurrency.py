"""Two users on the same order at the same time, in two real transactions: nothing is done twice.

Usage: check_concurrency.py ODOO_CONF DATABASE (a database with the addon installed). It COMMITS
orders, payments and cancellations there: give it a throw-away database, as scripts/test.sh does.
The addon's tests cannot show this: they all run in one transaction. Here each user has their own
cursor from the registry, interleaved in this thread or run in a second one, the way two Odoo
workers serve two browsers.
Prints one line per check and a closing "N passed, N failed" line; exits non-zero on a failure.
"""

import logging
import sys
import threading
import time

import odoo
from odoo import Command, api, fields
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.service.model import retrying
from odoo.tools import config, mute_logger

ADDON = "order_cancel_reconciled"
LOCKED = "being changed by another user right now"
# A refused run must answer at once (NOWAIT), not after waiting for the other user.
QUICK_SECONDS = 5
# No statement of the second user may wait longer than this: a wrong lock fails the check instead
# of hanging the test run.
LOCK_TIMEOUT = "15s"
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'PASS' if ok else 'FAIL'}: {name}{'' if ok or not detail else f' ({detail})'}", flush=True)


class ErrorRecorder(logging.Handler):
    """What a server administrator would find as ERROR lines in the log."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage().splitlines()[0])


def user_env(cr, login):
    env = api.Environment(cr, odoo.SUPERUSER_ID, {})
    user = env["res.users"].search([("login", "=", login)])
    return env(user=user, context=user.context_get())


def open_cursor(registry):
    cr = registry.cursor()
    cr.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
    return cr


def rpc(registry, func, login="concurrency_member"):
    """One request of the second user: func(env) in its own transaction, through the RPC layer's
    retrying (which commits on success, retries serialization failures, and rolls back on error).

    Return (error message or None, seconds taken, ERROR lines logged meanwhile).
    """
    recorder = ErrorRecorder()
    logging.getLogger().addHandler(recorder)
    start = time.monotonic()
    try:
        with open_cursor(registry) as cr:
            env = user_env(cr, login)
            retrying(lambda: func(env), env)
        error = None
    except UserError as exc:
        error = exc.args[0]
    except Exception as exc:  # anything else is reported as the failure it is
        error = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
    finally:
        logging.getLogger().removeHandler(recorder)
    return error, time.monotonic() - start, recorder.messages


def confirm(wizard_id):
    return lambda env: env["sale.order.cancel.reconciled"].browse(wizard_id).action_confirm()


# -- data, committed so that both users see it -------------------------------------------------


def groups_field(env):
    """The users' groups field: groups_id in 18.0, group_ids from 19.0."""
    return "group_ids" if "group_ids" in env["res.users"]._fields else "groups_id"


def set_up(registry):
    """A member of the group (the second user), and paid, delivered orders committed."""
    with registry.cursor() as cr:
        env = user_env(cr, "admin")
        company = env.company
        env["res.users"].create(
            {
                "name": "Concurrency Member",
                "login": "concurrency_member",
                "email": "concurrency_member@example.com",
                "company_id": company.id,
                "company_ids": [Command.set(company.ids)],
                groups_field(env): [
                    Command.set(
                        [
                            env.ref("sales_team.group_sale_salesman_all_leads").id,
                            env.ref(f"{ADDON}.group_cancel_reconciled").id,
                        ]
                    )
                ],
            }
        )
        customer = env["res.partner"].create({"name": "Concurrency Customer"})
        product = env["product.product"].create(
            {"name": "Concurrency product", "type": "consu", "is_storable": True, "list_price": 100.0}
        )
        warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
        env["stock.quant"]._update_available_quantity(product, warehouse.lot_stock_id, 100.0)
        journal = env["account.journal"].search([("company_id", "=", company.id), ("type", "=", "bank")], limit=1)
        orders = {}
        # "paid": two cancellations race; "half paid": a payment races a cancellation;
        # "opened late": a second user opens the wizard while the first one runs; "requested": two
        # runs of the scheduled action on the customer's approved request.
        for key, paid_share in (
            ("paid", 1.0),
            ("half paid", 0.5),
            ("paid meanwhile", 0.5),
            ("opened late", 1.0),
            ("requested", 1.0),
            ("requested busy", 1.0),
            ("same product 1", 1.0),
            ("same product 2", 1.0),
        ):
            order = env["sale.order"].create(
                {
                    "partner_id": customer.id,
                    "client_order_ref": f"concurrency {key}",
                    "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 2})],
                }
            )
            order.action_confirm()
            picking = order.picking_ids
            picking.move_ids.quantity = 2
            picking.move_ids.picked = True
            picking.button_validate()
            invoice = order._create_invoices()
            invoice.action_post()
            register_payment(env, invoice, journal, invoice.amount_total * paid_share)
            orders[key] = order.id
        cr.commit()
    return orders, journal.id


def register_payment(env, invoice, journal, amount):
    env["account.payment.register"].with_context(active_model="account.move", active_ids=invoice.ids).create(
        {"journal_id": journal.id, "amount": amount, "payment_date": fields.Date.context_today(invoice)}
    )._create_payments()


def new_wizard(env, order_id, **options):
    vals = {"order_ids": [Command.set([order_id])], "payment_action": "refund", "stock_action": "return_validate"}
    return env["sale.order.cancel.reconciled"].create({**vals, **options})


def saved_wizard(registry, order_id):
    """The second user's dialog, saved before the first user confirms (the web client saves a
    wizard in a request of its own, then calls the button in another)."""
    saved = {}
    error, _seconds, _logged = rpc(registry, lambda env: saved.update(id=new_wizard(env, order_id).id))
    if error:
        raise RuntimeError(error)
    return saved["id"]


def counts(registry, order_id):
    """Credit notes, done returns, cancellation logs and payments of the order, as committed."""
    with registry.cursor() as cr:
        env = user_env(cr, "admin")
        order = env["sale.order"].browse(order_id)
        invoices = order.invoice_ids.filtered(lambda move: move.move_type == "out_invoice")
        return {
            "state": order.state,
            "credit_notes": len(order.invoice_ids.filtered(lambda move: move.move_type == "out_refund")),
            "returns": len(order.picking_ids.filtered(lambda picking: picking.return_id and picking.state == "done")),
            "logs": env["sale.order.cancel.reconciled.log"].search_count([("order_id", "=", order_id)]),
            "payments": len(invoices._get_reconciled_payments()),
            "payment_state": invoices.payment_state,
        }


def check_refused_at_once(what, error, seconds, logged):
    """What the second user must see when the lock refuses them: the message, at once, no ERROR."""
    check(f"{what} is refused with the lock message", error and LOCKED in error, error)
    check(f"the refusal comes at once (under {QUICK_SECONDS} s)", seconds < QUICK_SECONDS, f"{seconds:.1f} s")
    check("the refused run writes no ERROR in the server log", not logged, "; ".join(logged))


# -- the races ---------------------------------------------------------------------------------


def race_two_cancellations(registry, order_id):
    wizard_b = saved_wizard(registry, order_id)
    cr_a = registry.cursor()
    try:
        new_wizard(user_env(cr_a, "admin"), order_id).action_confirm()  # A runs, not committed yet
        error, seconds, logged = rpc(registry, confirm(wizard_b))
        check_refused_at_once("a second cancellation while the first runs", error, seconds, logged)
        cr_a.commit()
    finally:
        cr_a.close()
    after = counts(registry, order_id)
    check(
        "after the first run commits: one credit note, one return, one log",
        (after["state"], after["credit_notes"], after["returns"], after["logs"]) == ("cancel", 1, 1, 1),
        after,
    )
    error, _seconds, _logged = rpc(registry, confirm(wizard_b))
    check(
        "the second user retrying is told the order is already cancelled", error and "already cancelled" in error, error
    )
    check("and still nothing was done twice", counts(registry, order_id) == after, counts(registry, order_id))


def race_payment_and_cancellation(registry, order_id, journal_id):
    wizard_b = saved_wizard(registry, order_id)
    before = counts(registry, order_id)
    cr_a = registry.cursor()
    try:
        env_a = user_env(cr_a, "admin")
        invoice = env_a["sale.order"].browse(order_id).invoice_ids
        register_payment(env_a, invoice, env_a["account.journal"].browse(journal_id), invoice.amount_residual)
        env_a.flush_all()  # A's payment is written, not committed
        error, seconds, logged = rpc(registry, confirm(wizard_b))
        check_refused_at_once("a cancellation while a payment is being registered", error, seconds, logged)
        cr_a.commit()
    finally:
        cr_a.close()
    after = counts(registry, order_id)
    check(
        "the payment is committed and the order untouched",
        (after["state"], after["payment_state"], after["payments"], after["credit_notes"], after["logs"])
        == ("sale", "paid", before["payments"] + 1, 0, 0),
        after,
    )
    error, _seconds, _logged = rpc(registry, confirm(wizard_b))
    done = counts(registry, order_id)
    check(
        "retried after the payment, the cancellation frees both payments once",
        error is None
        and (done["state"], done["credit_notes"], done["returns"], done["logs"], done["payment_state"])
        == ("cancel", 1, 1, 1, "reversed"),
        error or done,
    )


def race_payment_committed_after_the_snapshot(registry, order_id, journal_id):
    """The run's transaction took its snapshot before another user's payment of the same invoice
    committed: locking the invoice meets a row changed since, PostgreSQL refuses it with a
    serialization error, and Odoo runs the call again on a fresh snapshot. The refusal is
    expected: no ERROR ("bad query") in the server log."""
    wizard_b = saved_wizard(registry, order_id)
    tries = []

    def cancel_after_a_payment(env):
        tries.append(len(tries) + 1)
        env.cr.execute("SELECT 1")  # this try's snapshot, before the payment below commits
        if len(tries) == 1:
            with registry.cursor() as cr_a:
                env_a = user_env(cr_a, "admin")
                invoice = env_a["sale.order"].browse(order_id).invoice_ids
                register_payment(env_a, invoice, env_a["account.journal"].browse(journal_id), invoice.amount_residual)
        env["sale.order.cancel.reconciled"].browse(wizard_b).action_confirm()

    error, _seconds, logged = rpc(registry, cancel_after_a_payment)
    done = counts(registry, order_id)
    check("a payment committed after the run's snapshot makes Odoo try the run again", tries == [1, 2], tries)
    check(
        "the second try cancels the order once and frees both payments",
        error is None
        and (done["state"], done["credit_notes"], done["logs"], done["payment_state"]) == ("cancel", 1, 1, "reversed"),
        error or done,
    )
    check("and the conflict writes no ERROR in the server log", not logged, "; ".join(logged))


def race_wizard_opened_during_run(registry, order_id):
    """B saves its dialog while A's run holds the order: linking the wizard to the order waits for
    A; when A commits, PostgreSQL refuses B's snapshot (serialization failure) and the RPC layer
    replays B's request, which then sees the cancelled order."""
    cr_a = registry.cursor()
    outcome = {}

    def second_user():
        # The failed first try of the replayed request is logged by Odoo as a bad query: expected
        # here, and not the addon's doing.
        with mute_logger("odoo.sql_db"):
            saved = {}
            error, outcome["save_seconds"], _logged = rpc(
                registry, lambda env: saved.update(id=new_wizard(env, order_id).id)
            )
        outcome["error"] = error or rpc(registry, confirm(saved["id"]))[0]

    try:
        new_wizard(user_env(cr_a, "admin"), order_id).action_confirm()
        thread = threading.Thread(target=second_user, name="second user")
        thread.start()
        thread.join(2)
        waiting = thread.is_alive()
        cr_a.commit()
    finally:
        cr_a.close()
    thread.join()
    check("a dialog saved during a run waits for the run (the order's row is locked)", waiting)
    error = outcome.get("error")
    check("then the second user is told the order is already cancelled", error and "already cancelled" in error, error)
    after = counts(registry, order_id)
    check(
        "one credit note, one return, one log",
        (after["credit_notes"], after["returns"], after["logs"]) == (1, 1, 1),
        after,
    )


class RetryRecorder(logging.Handler):
    """Odoo's "<error>, N tries left, try again" lines: a request replayed after a conflict."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        if "tries left" in record.getMessage() or "maximum number of tries" in record.getMessage():
            self.messages.append(record.getMessage())


def race_same_product(registry, first_id, second_id):
    """Two members cancel two orders of the same product and customer at once (both returns
    update that product's stock): the second run waits for the first at its start, then starts
    its transaction again and goes through, instead of colliding at the end and being replayed
    whole by Odoo (five tries at most, then "busy")."""
    wizard_b = saved_wizard(registry, second_id)
    retries, retry_logger = RetryRecorder(), logging.getLogger("odoo.service.model")
    level = retry_logger.level
    retry_logger.setLevel(logging.INFO)
    retry_logger.addHandler(retries)
    outcome = {}

    def second_user():
        # Before the addon queued runs, B's first try ended in a bad query (the serialization
        # failure) that Odoo logs as an ERROR: the replay is what this check counts.
        with mute_logger("odoo.sql_db"):
            outcome["error"], outcome["seconds"], _logged = rpc(registry, confirm(wizard_b))

    cr_a = registry.cursor()
    try:
        new_wizard(user_env(cr_a, "admin"), first_id).action_confirm()  # A runs, not committed yet
        thread = threading.Thread(target=second_user, name="second user")
        thread.start()
        thread.join(2)
        waiting = thread.is_alive()
        cr_a.commit()
    finally:
        cr_a.close()
        thread.join(60)
        retry_logger.removeHandler(retries)
        retry_logger.setLevel(level)
    check("a run on another order of the same product waits while the first runs", waiting)
    check("then goes through once the first commits", "error" in outcome and not outcome["error"], outcome)
    check("without a conflict replayed by Odoo's retries", not retries.messages, "; ".join(retries.messages))
    done = [counts(registry, order_id) for order_id in (first_id, second_id)]
    check(
        "each order: cancelled, one credit note, one return, one log",
        all((c["state"], c["credit_notes"], c["returns"], c["logs"]) == ("cancel", 1, 1, 1) for c in done),
        done,
    )


REQUEST_MODEL = "sale.order.cancel.reconciled.request"


def approved_request(registry, order_id):
    """A customer's request on the order, approved and committed: the scheduled action's work."""
    with registry.cursor() as cr:
        env = user_env(cr, "admin")
        reason = env.ref(f"{ADDON}.reason_customer_request")
        # Approved by the company's rules (no condition ticked), which the run reads again.
        env["sale.order"].browse(order_id).company_id.sudo().write(
            {
                "cancel_request_auto": True,
                "cancel_request_auto_undelivered": False,
                "cancel_request_auto_days": 0,
                "cancel_request_auto_max_amount": 0.0,
                "cancel_request_auto_online_only": False,
            }
        )
        values = {"order_id": order_id, "reason_id": reason.id, "state": "approved"}
        request_id = env[REQUEST_MODEL].sudo().create(values).id
        cr.commit()
    return request_id


def race_two_scheduled_runs(registry, order_id):
    """Two runs of the scheduled action at once (two cron workers, or one and a manual run) on a
    customer's approved request: each takes another request, none waits, the order is cancelled
    once."""
    model = REQUEST_MODEL
    request_id = approved_request(registry, order_id)
    with open_cursor(registry) as first_cr:
        first = api.Environment(first_cr, odoo.SUPERUSER_ID, {})[model]
        taken = first._lock_next_approved()
        check("the first run takes the approved request", taken.id == request_id)
        second = {}

        def second_run(env):
            second["request"] = env[model]._cron_process_approved().id

        error, seconds, logged = rpc(registry, second_run, login="admin")
        check("a second run meanwhile takes nothing", error is None and not second.get("request"), error or second)
        check("and does not wait for the first (under 5 s)", seconds < QUICK_SECONDS, f"{seconds:.1f} s")
        check("and logs no ERROR", not logged, "; ".join(logged))
        taken._process()
        first_cr.commit()
    with registry.cursor() as cr:
        env = user_env(cr, "admin")
        request = env[model].browse(request_id)
        logs = env["sale.order.cancel.reconciled.log"].search_count([("order_id", "=", order_id)])
        check("the request is done and the order cancelled once", (request.state, logs) == ("done", 1))
        check("a later run finds nothing to do", not env[model]._cron_process_approved())


def scheduled_run_on_a_busy_order(registry, order_id):
    """The scheduled action meets an approved request whose order another user is changing: the
    request stays approved with its attempt counted, nothing is logged as an error, and a run
    after its wait cancels the order."""
    model = REQUEST_MODEL
    request_id = approved_request(registry, order_id)
    with open_cursor(registry) as editing_cr:
        editing_cr.execute("SELECT id FROM sale_order WHERE id = %s FOR UPDATE", (order_id,))
        error, seconds, logged = rpc(registry, lambda env: env[model]._cron_process_approved(), login="admin")
        check("a run while the order is being changed does not wait", error is None and seconds < QUICK_SECONDS)
        check("and logs no ERROR", not logged, "; ".join(logged))
        editing_cr.rollback()
    with registry.cursor() as cr:
        env = user_env(cr, "admin")
        request = env[model].browse(request_id)
        check(
            "the request stays approved for a later run, with its attempt counted",
            (request.state, request.attempts) == ("approved", 1) and request.next_try,
        )
        # Its wait is over (at most a few minutes at first).
        request.sudo().next_try = False
        env[model]._cron_process_approved()
        check("the next run cancels the order", env[model].browse(request_id).state == "done")
        cr.rollback()


def main(conf, dbname):
    config.parse_config(["-c", conf, "-d", dbname, "--log-level=warn"])
    registry = Registry(dbname)
    with registry.cursor() as cr:
        installed = api.Environment(cr, odoo.SUPERUSER_ID, {})["ir.module.module"].search(
            [("name", "=", ADDON), ("state", "=", "installed")]
        )
    check(f"{ADDON} is installed in {dbname}", installed)
    if installed:
        orders, journal_id = set_up(registry)
        race_two_cancellations(registry, orders["paid"])
        race_payment_and_cancellation(registry, orders["half paid"], journal_id)
        race_payment_committed_after_the_snapshot(registry, orders["paid meanwhile"], journal_id)
        race_wizard_opened_during_run(registry, orders["opened late"])
        race_two_scheduled_runs(registry, orders["requested"])
        scheduled_run_on_a_busy_order(registry, orders["requested busy"])
        race_same_product(registry, orders["same product 1"], orders["same product 2"])
    failed = results.count(False)
    print(f"concurrency: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:3]))
