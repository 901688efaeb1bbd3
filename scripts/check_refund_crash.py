"""Provider refunds survive a worker killed at the worst moment: each refund reaches the provider
exactly once, or is handed to a person; none is sent twice, none is lost.

Usage: check_refund_crash.py ODOO_CONF DATABASE (a database with the addon and payment_demo
installed). It COMMITS orders, payments and cancellations there: give it a throw-away database,
as scripts/test.sh does.

The scheduled action that sends refunds runs in child processes (this script with ``worker``),
each with a recording wrapper around the simulated provider's refund request: every request that
reaches the provider is appended to a file, outside the database, before the provider answers. A
child is killed with SIGKILL right after the provider accepted a refund (before the answer is
committed), or right before the provider is called; then the scheduled action runs again in a
fresh process, and the provider's late notification arrives or a person decides. The counts come
from the file. Prints one line per check and a closing "N passed, N failed" line.
"""

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta

import odoo
from odoo import Command, api, fields
from odoo.modules.module import initialize_sys_path
from odoo.modules.registry import Registry
from odoo.tools import config

ADDON = "order_cancel_reconciled"
ENGINE = "order.cancel.reconciled.engine"
LINE = "sale.order.cancel.reconciled.log.line"
TIMEOUT = 300
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'PASS' if ok else 'FAIL'}: {name}{'' if ok or not detail else f' ({detail})'}", flush=True)


# ----------------------------------------------------------------------------------------------
# The child: the scheduled action's calls, with the provider recorded and the kill
# ----------------------------------------------------------------------------------------------


def worker(conf, dbname, record_path, kill_at):
    """Run the scheduled action's method call after call, committed between calls, as Odoo's
    scheduler does; kill this process at ``kill_at`` ("after_provider", "before_provider" or
    "none") the first time the provider is asked."""
    config.parse_config(["-c", conf, "-d", dbname, "--log-level=warn"])
    # Odoo's addons importable (from 19.0 payment_demo is in addons/, outside odoo/addons/).
    initialize_sys_path()
    # The simulated provider's refund request, wrapped before the registry builds its models.
    from odoo.addons.payment_demo.models.payment_transaction import PaymentTransaction

    original = PaymentTransaction._send_refund_request

    def recorded(self, **kwargs):
        if kill_at == "before_provider":
            os.kill(os.getpid(), signal.SIGKILL)
        # 18.0 asks the paid transaction with the amount to refund, and creates the refund
        # transaction there; from 19.0 the refund transaction, created beforehand, is asked itself.
        if self.operation == "refund":
            source, amount = self.source_transaction_id.reference, -self.amount
        else:
            source, amount = self.reference, kwargs.get("amount_to_refund")
        with open(record_path, "a", encoding="utf-8") as record:
            record.write(json.dumps({"source": source, "amount": amount, "pid": os.getpid()}) + "\n")
            record.flush()
            os.fsync(record.fileno())
        refund_tx = original(self, **kwargs)
        if kill_at == "after_provider":
            # The provider accepted (the simulated one answers at once); nothing is committed yet.
            os.kill(os.getpid(), signal.SIGKILL)
        return refund_tx

    PaymentTransaction._send_refund_request = recorded
    registry = Registry(dbname)
    for _call in range(50):
        with registry.cursor() as cr:
            env = api.Environment(cr, odoo.SUPERUSER_ID, {})
            if not env[ENGINE]._cron_send_provider_refunds():
                return 0
    return 0


def run_worker(conf, dbname, record_path, kill_at="none"):
    child = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "worker", conf, dbname, record_path, kill_at],
        timeout=TIMEOUT,
        check=False,
    )
    return child.returncode


def requests_for(record_path, reference):
    if not os.path.exists(record_path):
        return 0
    with open(record_path, encoding="utf-8") as record:
        return sum(1 for row in record if json.loads(row)["source"] == reference)


# ----------------------------------------------------------------------------------------------
# The parent: orders paid online, cancelled with a refund, committed
# ----------------------------------------------------------------------------------------------


def paid_online_order(env, name):
    """A confirmed order of one product, invoiced, paid by a confirmed transaction of the
    simulated provider, and cancelled with "Refund the customer": its refund is to send."""
    company = env.company
    provider = env.ref("payment.payment_provider_demo")
    journal = env["account.journal"].search(
        [*env["account.journal"]._check_company_domain(company), ("type", "=", "bank")], limit=1
    )
    provider.write({"state": "test", "company_id": company.id, "journal_id": journal.id})
    partner = env["res.partner"].create({"name": name, "email": "crash.customer@example.com"})
    product = env["product.product"].create({"name": f"{name} service", "type": "service", "list_price": 80.0})
    order = env["sale.order"].create(
        {"partner_id": partner.id, "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 1})]}
    )
    order.action_confirm()
    invoice = order._create_invoices()
    invoice.action_post()
    payment = (
        env["account.payment.register"]
        .with_context(active_model="account.move", active_ids=invoice.ids)
        .create({"journal_id": journal.id})
        ._create_payments()
    )
    tx = env["payment.transaction"].create(
        {
            "provider_id": provider.id,
            "payment_method_id": (provider.payment_method_ids[:1] or env.ref("payment_demo.payment_method_demo")).id,
            "amount": payment.amount,
            "currency_id": payment.currency_id.id,
            "partner_id": partner.id,
            "invoice_ids": [Command.set(invoice.ids)],
            "reference": f"crash-{payment.id}",
        }
    )
    tx._set_done()
    tx.is_post_processed = True
    payment.payment_transaction_id = tx
    engine = env[ENGINE]
    logs = engine._run(order, engine._prepare_options(company, payment_action="refund"))
    line = logs.line_ids.filtered(lambda line: line.kind == "payment_refund")
    return line.id, tx.reference, partner.id


def groups_field(env):
    """The users' groups field: groups_id in 18.0, group_ids from 19.0."""
    return "group_ids" if "group_ids" in env["res.users"]._fields else "groups_id"


def set_up_accountant(registry):
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        # Nothing else waits to be sent: what earlier runs of this check left is kept as credit.
        env[LINE].search([("refund_state", "in", ("to_send", "sending"))]).write({"refund_state": "kept"})
        accountant = env["res.users"].create(
            {
                "name": "Crash Accountant",
                "login": f"crash_accountant_{os.getpid()}",
                groups_field(env): [
                    Command.set(
                        [env.ref("account.group_account_invoice").id, env.ref("sales_team.group_sale_salesman").id]
                    )
                ],
            }
        )
        return accountant.id


def set_up_case(registry, name):
    """One order cancelled with a refund to send, committed; the only refund waiting."""
    with registry.cursor() as cr:
        return paid_online_order(api.Environment(cr, odoo.SUPERUSER_ID, {}), name)


def state_of(registry, line_id):
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        line = env[LINE].browse(line_id)
        return line.refund_state, line.refund_transaction_id.reference, line.refund_transaction_id.state


def age(registry, line_id, hours=25):
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        env[LINE].browse(line_id).refund_sent_at = fields.Datetime.now() - timedelta(hours=hours)


def provider_notifies(registry, reference):
    """The provider's late notification (its webhook), then Odoo's post-processing."""
    with registry.cursor() as cr:
        transactions = api.Environment(cr, odoo.SUPERUSER_ID, {})["payment.transaction"]
        data = {"reference": reference, "simulated_state": "done"}
        if hasattr(transactions, "_handle_notification_data"):  # 18.0
            refund_tx = transactions._handle_notification_data("demo", data)
        else:  # from 19.0
            refund_tx = transactions._process("demo", data)
        refund_tx._post_process()


def books(registry, line_id, partner_id):
    """Every posted entry balanced; the customer's receivable nets to zero once refunded."""
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        line = env[LINE].browse(line_id)
        currency = env.company.currency_id
        moves = env["account.move"].search([("partner_id", "=", partner_id), ("state", "=", "posted")])
        balanced = all(currency.is_zero(sum(move.line_ids.mapped("balance"))) for move in moves)
        receivable = sum(
            env["account.move.line"]
            .search(
                [
                    ("partner_id", "=", partner_id),
                    ("parent_state", "=", "posted"),
                    ("account_id.account_type", "=", "asset_receivable"),
                ]
            )
            .mapped("balance")
        )
        return balanced, receivable, line.amount


def main(conf, dbname):
    config.parse_config(["-c", conf, "-d", dbname, "--log-level=warn"])
    registry = Registry(dbname)
    record_path = os.path.join(config["data_dir"], f"refund_requests_{os.getpid()}.jsonl")
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        installed = env["ir.module.module"].search_count(
            [("name", "in", (ADDON, "payment_demo")), ("state", "=", "installed")]
        )
    check(f"{ADDON} and payment_demo are installed in {dbname}", installed == 2)
    if installed != 2:
        return 1
    accountant_id = set_up_accountant(registry)

    # 1. Killed right after the provider accepted; the provider's notification comes later.
    line_id, source, partner_id = set_up_case(registry, "Crash After Provider")
    returncode = run_worker(conf, dbname, record_path, "after_provider")
    check("the worker was killed with SIGKILL after the provider accepted", returncode == -signal.SIGKILL, returncode)
    state, reference, _tx_state = state_of(registry, line_id)
    check("the refund is found 'sending' with its committed reference", state == "sending" and reference, state)
    run_worker(conf, dbname, record_path)
    check(
        "run again: the provider was asked exactly once",
        requests_for(record_path, source) == 1,
        requests_for(record_path, source),
    )
    provider_notifies(registry, reference)
    state, _reference, _tx_state = state_of(registry, line_id)
    check("the provider's notification settles it: refunded", state == "done", state)
    balanced, receivable, _amount = books(registry, line_id, partner_id)
    check("books: entries balanced, the customer's account at zero", balanced and abs(receivable) < 0.005, receivable)

    # 2. Killed after the provider accepted, and the provider never answers: a person.
    line_id, source, partner_id = set_up_case(registry, "Crash No Answer")
    returncode = run_worker(conf, dbname, record_path, "after_provider")
    check("killed again after the provider accepted", returncode == -signal.SIGKILL, returncode)
    age(registry, line_id)
    run_worker(conf, dbname, record_path)
    state, reference, _tx_state = state_of(registry, line_id)
    check("no answer after the delay: handed to a person as 'outcome unknown'", state == "unknown", state)
    check("and never sent twice", requests_for(record_path, source) == 1, requests_for(record_path, source))
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        order = env[LINE].browse(line_id).log_id.order_id
        todo = order.activity_ids.filtered(
            lambda activity: activity.activity_type_id == env.ref(f"{ADDON}.mail_activity_type_refund_check")
        )
        notes = todo.mapped("note")
    check("a billing to-do names what to check", any(reference in (note or "") for note in notes), notes)
    balanced, receivable, amount = books(registry, line_id, partner_id)
    check("books: balanced, the credit still shows until the answer", balanced and abs(receivable + amount) < 0.005)

    # 3. Killed right before the provider was called: nothing went out; a person sends it again.
    line_id, source, partner_id = set_up_case(registry, "Crash Before Provider")
    returncode = run_worker(conf, dbname, record_path, "before_provider")
    check("killed before the provider was called", returncode == -signal.SIGKILL, returncode)
    check("nothing reached the provider", requests_for(record_path, source) == 0)
    run_worker(conf, dbname, record_path)
    check("run again: not sent blindly", requests_for(record_path, source) == 0)
    age(registry, line_id)
    run_worker(conf, dbname, record_path)
    state, reference, _tx_state = state_of(registry, line_id)
    check("after the delay: 'outcome unknown' for a person", state == "unknown", state)
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        env[LINE].browse(line_id).with_user(accountant_id).action_refund_send_again()
    run_worker(conf, dbname, record_path)
    state, again, _tx_state = state_of(registry, line_id)
    check("sent again by the person: the provider asked once in all", requests_for(record_path, source) == 1)
    check("with the same refund reference", again == reference, f"{reference} then {again}")
    provider_notifies(registry, again)
    state, _reference, _tx_state = state_of(registry, line_id)
    check("refunded", state == "done", state)
    balanced, receivable, _amount = books(registry, line_id, partner_id)
    check("books: entries balanced, the customer's account at zero", balanced and abs(receivable) < 0.005, receivable)

    with open(record_path, encoding="utf-8") as record:
        total = sum(1 for _row in record)
    os.remove(record_path)
    print(f"refund crash: 3 workers killed with SIGKILL, {total} refund requests reached the provider for 3 refunds")
    failed = results.count(False)
    print(f"refund crash: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "worker":
        sys.exit(worker(*sys.argv[2:]))
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
