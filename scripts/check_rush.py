"""A rush of cancellations on one product: many clients of a multi-worker server at once, each order
cancelled once, the books and the stock whole afterwards.

Usage: check_rush.py ODOO_CONF DATABASE [--orders 200] [--clients 8] [--workers 4] (a database with
the addon installed). It COMMITS there a member user, one storable product, a few customers and
ORDERS one-line orders of that product, confirmed, delivered, invoiced and paid: give it a
throw-away database. It starts a server with --workers on free ports (no cron worker), and CLIENTS
threads take the orders from one queue until it is empty: half are integrators calling
sale.order.cancel_reconciled over /jsonrpc, half people in the dialog (web_save, then the Confirm
button, as the web client sends them). Returns are validated and payments kept as credit, so every
run updates the same stock rows: the worst case for conflicts. Prints the set-up time, the rush's
figures (wall time, orders/min, latency 50 % and 95 %, failures, conflicts Odoo retried), then
checks the database and the server's log (check_rush_DATABASE.log in the conf's data_dir). A small
size is a check, the full size a benchmark. The server is stopped in any case. Prints one PASS/FAIL
line per check and a closing "N passed, N failed" line; exits non-zero on a failure.
"""

import argparse
import itertools
import math
import queue
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import requests
from check_concurrency import groups_field
from check_websocket import free_ports, stop, wait_for

import odoo
import odoo.release
from odoo import Command, api
from odoo.modules.registry import Registry
from odoo.tools import config, float_compare

ADDON = "order_cancel_reconciled"
WIZARD = "sale.order.cancel.reconciled"
LOG_MODEL = "sale.order.cancel.reconciled.log"
# Beside odoo/release.py: from 19.0 odoo is a namespace package, without a __file__.
ODOO_BIN = str(Path(odoo.release.__file__).resolve().parent.parent / "odoo-bin")
LOGIN, PASSWORD = "rush_member", "rush-member-password"
OPTIONS = {"stock_action": "return_validate", "payment_action": "keep"}
REASON_XMLID = f"{ADDON}.reason_customer_request"
# A few customers: the product's stock is what every run shares, not one customer's records.
CUSTOMERS = 5
# Stock left over once every order is delivered: the deliveries never run short.
SPARE_STOCK = 10.0
# The set-up's mail tracking and chatter would only slow it down.
QUIET = {"tracking_disable": True, "mail_create_nolog": True, "mail_create_nosubscribe": True, "mail_notrack": True}
# What the dialog's form asks back when it is saved: is_blocked is computed with the preview, as
# the dialog shows it before its Confirm.
SPECIFICATION = {"display_name": {}, "is_blocked": {}}
# One request may wait for Odoo's retries (up to 2^tries seconds each) on a busy server.
REQUEST_SECONDS = 300
# Odoo's retrying (odoo.service.model) logs each conflict it replays, and its giving up, at INFO.
RETRIED = "tries left, try again"
GAVE_UP = "maximum number of tries reached"
RECORD_START = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d+ \d+ ([A-Z]+) (\S+) (\S+): ")
# A query that failed on a conflict is logged as an ERROR by odoo.sql_db ("bad query") before the
# request is replayed: expected in a rush, and counted by kind, not a failure of the check.
CONFLICTS = ("could not serialize access", "deadlock detected", "could not obtain lock")
PAID = ("paid", "in_payment")
ID_SEQUENCE = itertools.count(1)
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'PASS' if ok else 'FAIL'}: {name}{'' if ok or not detail else f' ({detail})'}", flush=True)
    return ok


def parse_args(argv):
    parser = argparse.ArgumentParser(usage=__doc__)
    parser.add_argument("conf")
    parser.add_argument("dbname")
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    return parser.parse_args(argv)


# -- set-up, committed so that the server sees it -----------------------------------------------


def on_hand(product, location):
    return product.with_context(location=location.id).qty_available


def member(env, company):
    groups = [env.ref("sales_team.group_sale_salesman_all_leads").id, env.ref(f"{ADDON}.group_cancel_reconciled").id]
    vals = {"name": "Rush Member", "login": LOGIN, "password": PASSWORD, "company_id": company.id}
    vals |= {"company_ids": [Command.set(company.ids)], groups_field(env): [Command.set(groups)]}
    return env["res.users"].create(vals)


def paid_delivered_orders(env, company, product, customers, count):
    """count one-line orders of the product, confirmed, delivered, invoiced and paid, each step
    done on all of them at once."""
    orders = env["sale.order"].create(
        [
            {
                "partner_id": customers[index % len(customers)].id,
                "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 1})],
            }
            for index in range(count)
        ]
    )
    orders.action_confirm()
    pickings = orders.picking_ids
    pickings.move_ids.write({"quantity": 1, "picked": True})
    pickings.button_validate()
    invoices = orders._create_invoices(grouped=True)  # one per order, not one per customer
    invoices.action_post()
    journal = env["account.journal"].search([("company_id", "=", company.id), ("type", "=", "bank")], limit=1)
    # One payment per invoice (group_payment off), each reconciled with its invoice.
    env["account.payment.register"].with_context(active_model="account.move", active_ids=invoices.ids).create(
        {"journal_id": journal.id, "group_payment": False}
    )._create_payments()
    return orders


def set_up(registry, count):
    start = time.monotonic()
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, QUIET)
        company = env.ref("base.main_company")
        member(env, company)
        customers = env["res.partner"].create([{"name": f"Rush Customer {index + 1}"} for index in range(CUSTOMERS)])
        product = env["product.product"].create(
            {"name": "Rush product", "type": "consu", "is_storable": True, "list_price": 10.0}
        )
        stock = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1).lot_stock_id
        env["stock.quant"]._update_available_quantity(product, stock, count + SPARE_STOCK)
        initial = on_hand(product, stock)
        orders = paid_delivered_orders(env, company, product, customers, count)
        env.invalidate_all()
        after = on_hand(product, stock)
        invoices = orders.invoice_ids
        ready = orders.filtered(
            lambda order: order.picking_ids.state == "done" and order.invoice_ids.payment_state in PAID
        )
        where = stock.complete_name
        cr.commit()
        setup = {"order_ids": orders.ids, "names": dict(zip(orders.ids, orders.mapped("name"), strict=True))}
        setup |= {"customer_ids": customers.ids, "product_id": product.id}
        setup |= {"stock_id": stock.id, "initial": initial, "company_id": company.id}
        setup["reason_id"] = env.ref(REASON_XMLID).id
    seconds = time.monotonic() - start
    print(f"set-up: {count} paid, delivered orders of one product in {seconds:.1f} s", flush=True)
    print(f"on hand in {where}: {initial:g} before the deliveries, {after:g} after", flush=True)
    check(
        f"the set-up made {count} confirmed, delivered, posted and paid orders, one invoice each",
        len(ready) == count and len(invoices) == count,
        f"{len(ready)} ready, {len(invoices)} invoices",
    )
    return setup


# -- the server -----------------------------------------------------------------------------------


def start_server(conf, dbname, workers, log):
    http_port, gevent_port = free_ports(2)
    command = [sys.executable, ODOO_BIN, "-c", conf, "-d", dbname, f"--db-filter=^{dbname}$", f"--workers={workers}"]
    command += ["--http-interface=127.0.0.1", f"--http-port={http_port}", f"--gevent-port={gevent_port}"]
    command += ["--max-cron-threads=0", "--log-level=info"]
    with log.open("w") as output:
        # A session of its own, so that the master and its workers stop together.
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    return server, f"http://127.0.0.1:{http_port}"


# -- the clients ----------------------------------------------------------------------------------


class RpcError(Exception):
    """The error of a JSON-RPC answer: its data message, the one the user or integrator sees."""


def new_session():
    http = requests.Session()
    http.trust_env = False  # the server is local: no proxy of the environment in between
    return http


def call(http, url, params):
    payload = {"jsonrpc": "2.0", "method": "call", "id": next(ID_SEQUENCE), "params": params}
    response = http.post(url, json=payload, timeout=REQUEST_SECONDS)
    response.raise_for_status()
    answer = response.json()
    if "error" in answer:
        error = answer["error"]
        raise RpcError((error.get("data") or {}).get("message") or error.get("message"))
    return answer["result"]


def integrator(base, dbname):
    """A program calling the public method over /jsonrpc: one call per order."""
    http = new_session()
    uid = call(http, f"{base}/jsonrpc", {"service": "common", "method": "login", "args": [dbname, LOGIN, PASSWORD]})
    if not uid:
        raise RpcError(f"{LOGIN} could not log in over /jsonrpc")

    def cancel(order_id):
        args = [dbname, uid, PASSWORD, "sale.order", "cancel_reconciled", [[order_id]], dict(OPTIONS)]
        call(http, f"{base}/jsonrpc", {"service": "object", "method": "execute_kw", "args": args})

    return cancel


def person(base, dbname, setup):
    """A person in the dialog: the web client saves the wizard (web_save), then calls its Confirm
    button (call_button, as the web client's action service does)."""
    http = new_session()
    info = call(http, f"{base}/web/session/authenticate", {"db": dbname, "login": LOGIN, "password": PASSWORD})
    if not info.get("uid"):
        raise RpcError(f"{LOGIN} could not log in on /web/session/authenticate")
    context = {**info.get("user_context", {}), "allowed_company_ids": [setup["company_id"]]}

    def cancel(order_id):
        vals = {"order_ids": [[6, 0, [order_id]]], **OPTIONS, "reason_id": setup["reason_id"]}
        kwargs = {"context": context, "specification": SPECIFICATION}
        params = {"model": WIZARD, "method": "web_save", "args": [[], vals], "kwargs": kwargs}
        wizard = call(http, f"{base}/web/dataset/call_kw/{WIZARD}/web_save", params)[0]
        params = {"model": WIZARD, "method": "action_confirm", "args": [[wizard["id"]]], "kwargs": {"context": context}}
        call(http, f"{base}/web/dataset/call_button/{WIZARD}/action_confirm", params)

    return cancel


def client_loop(kind, cancel, orders, outcomes):
    """Take orders until none is left; record (order id, kind, error or None, seconds) for each."""
    while True:
        try:
            order_id = orders.get_nowait()
        except queue.Empty:
            return
        start = time.monotonic()
        try:
            cancel(order_id)
            error = None
        except RpcError as exc:
            error = str(exc)
        except Exception as exc:  # a cut connection, a timeout, an HTTP error: reported as it is
            error = f"{type(exc).__name__}: {exc}"
        outcomes.append((order_id, kind, error, time.monotonic() - start))


def rush(base, dbname, setup, count):
    """Log every client in first (which also loads the registry in the workers), then start them
    together; return the outcomes and the wall time."""
    clients = [
        ("jsonrpc", integrator(base, dbname)) if index % 2 == 0 else ("dialog", person(base, dbname, setup))
        for index in range(count)
    ]
    orders = queue.Queue()
    for order_id in setup["order_ids"]:
        orders.put(order_id)
    outcomes = []
    threads = [threading.Thread(target=client_loop, args=(*client, orders, outcomes)) for client in clients]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, time.monotonic() - start


def percentile(values, share):
    """Nearest rank: the smallest value with at least share of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)] if ordered else 0.0


def report(args, setup, outcomes, wall, log):
    latencies = [seconds for *_outcome, seconds in outcomes]
    # By the kind of client, the order's name left out: one line per distinct message.
    errors = Counter(
        f"[{kind}] {error.strip().replace(setup['names'][order_id], '<order>')}"
        for order_id, kind, error, _seconds in outcomes
        if error
    )
    output = log.read_text(errors="replace")
    print(f"rush: {len(outcomes)} orders, {args.clients} clients, {args.workers} workers", flush=True)
    print(
        f"rush: {wall:.1f} s wall, {len(outcomes) / wall * 60 if wall else 0:.0f} orders/min, "
        f"latency p50 {percentile(latencies, 0.5):.2f} s, p95 {percentile(latencies, 0.95):.2f} s",
        flush=True,
    )
    print(f"rush: {sum(errors.values())} failed", flush=True)
    for error, times in errors.most_common(5):
        print(f"  {times} x {error}", flush=True)
    retried, gave_up = output.count(RETRIED), output.count(GAVE_UP)
    print(f"rush: {retried} conflicts retried by Odoo, {gave_up} given up after the last try", flush=True)
    return errors


# -- afterwards -----------------------------------------------------------------------------------


def check_books(registry, setup):
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        orders = env["sale.order"].browse(setup["order_ids"])
        customers = env["res.partner"].browse(setup["customer_ids"])
        currency = env["res.company"].browse(setup["company_id"]).currency_id
        logs = dict(env[LOG_MODEL]._read_group([("order_id", "in", orders.ids)], ["order_id"], ["__count"]))
        wrong = [
            f"{order.name}: {order.state}, {logs.get(order, 0)} logs"
            for order in orders
            if order.state != "cancel" or logs.get(order, 0) != 1
        ]
        check("every order is cancelled, with exactly one log", not wrong, f"{len(wrong)}: {'; '.join(wrong[:5])}")

        invoices = orders.invoice_ids.filtered(lambda move: move.move_type == "out_invoice")
        not_reversed = [invoice for invoice in invoices if not reversed_or_matched(invoice, currency)]
        check(
            "every invoice is reversed (its credit note matched)",
            not not_reversed,
            f"{len(not_reversed)}: " + ", ".join(f"{move.name} {move.payment_state}" for move in not_reversed[:5]),
        )

        env.flush_all()
        moves = orders.invoice_ids | env["account.move.line"].search([("partner_id", "in", customers.ids)]).move_id
        sums = env["account.move.line"]._read_group(
            [("move_id", "in", moves.ids)], ["move_id"], ["debit:sum", "credit:sum"]
        )
        unbalanced = [f"{move.name}: {totals}" for move, *totals in sums if currency.compare_amounts(*totals)]
        check(f"every entry involved ({len(moves)}) is balanced", not unbalanced, "; ".join(unbalanced[:5]))

        posted = [("partner_id", "in", customers.ids), ("parent_state", "=", "posted")]
        receivable = env["account.move.line"].search([*posted, ("account_id.account_type", "=", "asset_receivable")])
        payments = env["account.payment"].search([("partner_id", "in", customers.ids)])
        inbound = payments.filtered(lambda payment: payment.payment_type == "inbound")
        balance, paid = sum(receivable.mapped("balance")), sum(inbound.mapped("amount"))
        check(
            "the customers' receivable is minus the money paid (kept as credit), no refund payment",
            not currency.compare_amounts(balance, -paid) and not (payments - inbound),
            f"receivable {balance}, paid {paid}, {len(payments - inbound)} outbound payments",
        )

        product = env["product.product"].browse(setup["product_id"])
        stock = env["stock.location"].browse(setup["stock_id"])
        now = on_hand(product, stock)
        check(
            "the product's stock is back to what it was before the deliveries (returns validated)",
            not float_compare(now, setup["initial"], precision_rounding=product.uom_id.rounding),
            f"on hand {now:g}, before the deliveries {setup['initial']:g}",
        )


def reversed_or_matched(invoice, currency):
    if invoice.payment_state == "reversed":
        return True
    credit_notes = invoice.reversal_move_ids.filtered(lambda move: move.state == "posted")
    return bool(credit_notes) and all(currency.is_zero(move.amount_residual) for move in invoice | credit_notes)


def log_records(text):
    """The server's log as records: a line of Odoo's format and the lines that follow it."""
    records = []
    for line in text.splitlines():
        if RECORD_START.match(line) or not records:
            records.append([line])
        else:
            records[-1].append(line)
    return records


def check_server_log(log):
    """No ERROR or CRITICAL record but the failed queries of conflicts, which Odoo replays."""
    conflicts, unexpected = Counter(), Counter()
    for record in log_records(log.read_text(errors="replace")):
        match = RECORD_START.match(record[0])
        if not match or match.group(1) not in ("ERROR", "CRITICAL"):
            continue
        kind = next((conflict for conflict in CONFLICTS if conflict in "\n".join(record)), None)
        if match.group(3) == "odoo.sql_db" and "bad query" in record[0] and kind:
            conflicts[kind] += 1
            continue
        # Not the line itself (scripts/test.sh fails on any ERROR line of Odoo's format): its
        # logger and message, and the exception its traceback ends with.
        raised = [line for line in record[1:] if line.strip()][-1:] if len(record) > 1 else []
        unexpected[" -> ".join([f"{match.group(3)}: {record[0][match.end() :].strip()}"[:150], *raised])] += 1
    for kind, times in conflicts.items():
        print(f"expected: {times} failed queries ({kind}) logged as errors by odoo.sql_db, then retried")
    for line, times in unexpected.most_common(5):
        print(f"  unexpected: {times} x {line[:300]}")
    count = sum(unexpected.values())
    check("the server logged no other ERROR or CRITICAL", not count, f"{count}: see {log}")


def run_rush(args, base, setup, log):
    try:
        outcomes, wall = rush(base, args.dbname, setup, args.clients)
    except Exception as exc:  # a client that cannot log in: reported, the database is still checked
        check("the clients log in and the rush runs to its end", False, f"{type(exc).__name__}: {exc}")
        return
    errors = report(args, setup, outcomes, wall, log)
    check(
        f"every order was sent once and no cancellation failed ({len(outcomes)} sent)",
        len(outcomes) == args.orders and not errors,
        f"{sum(errors.values())} failed",
    )


def main(argv):
    args = parse_args(argv)
    config.parse_config(["-c", args.conf, "-d", args.dbname, "--log-level=warn"])
    log = Path(config["data_dir"]) / f"check_rush_{args.dbname}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    registry = Registry(args.dbname)
    with registry.cursor() as cr:
        cr.execute("SELECT 1 FROM ir_module_module WHERE name = %s AND state = 'installed'", [ADDON])
        installed = bool(cr.fetchall())
    if check(f"{ADDON} is installed in {args.dbname}", installed):
        setup = set_up(registry, args.orders)
        server, base = start_server(args.conf, args.dbname, args.workers, log)
        try:
            started = wait_for(f"{base}/web/health", server, log)  # up to 120 s: the workers load the registry
            if check(f"the server with --workers={args.workers} answers on {base}", started):
                run_rush(args, base, setup, log)
        finally:
            stop(server)
        check_books(registry, setup)
        check_server_log(log)
    failed = results.count(False)
    if failed:
        print(f"The server's output: {log}")
    print(f"rush: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
