"""Two background workers on one batch, one of them killed with SIGKILL in the middle and
started again: every order ends done or failed, none half-done, none done twice.

Usage: check_batch_workers.py ODOO_CONF DATABASE [ORDERS] (a database with the addon installed,
without queue_job: the workers are scripts/batch_worker.py processes running the scheduled
action's code). It COMMITS orders and cancellations there: give it a throw-away database, as
scripts/test.sh does. The orders share one product and their returns are validated, so the
workers also meet on the same stock rows, as real ones do.
Prints one line per check and a closing "N passed, N failed" line; exits non-zero on a failure.
"""

import os
import signal
import subprocess
import sys
import time

import odoo
from odoo import Command, api
from odoo.modules.registry import Registry
from odoo.tools import config

ADDON = "order_cancel_reconciled"
BATCH = "sale.order.cancel.reconciled.batch"
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "batch_worker.py")
TIMEOUT = 600
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'PASS' if ok else 'FAIL'}: {name}{'' if ok or not detail else f' ({detail})'}", flush=True)


def groups_field(env):
    """The users' groups field: groups_id in 18.0, group_ids from 19.0."""
    return "group_ids" if "group_ids" in env["res.users"]._fields else "groups_id"


def set_up(registry, count):
    """Paid, delivered orders of one product and a member's batch on them, committed."""
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        company = env.ref("base.main_company")
        member = env["res.users"].create(
            {
                "name": "Batch Member",
                "login": "batch_member",
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
        customer = env["res.partner"].create({"name": "Batch Customer"})
        product = env["product.product"].create(
            {"name": "Batch product", "type": "consu", "is_storable": True, "list_price": 10.0}
        )
        warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
        env["stock.quant"]._update_available_quantity(product, warehouse.lot_stock_id, 10.0 * count)
        journal = env["account.journal"].search([("company_id", "=", company.id), ("type", "=", "bank")], limit=1)
        orders = env["sale.order"].create(
            [
                {
                    "partner_id": customer.id,
                    "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 1})],
                }
                for _index in range(count)
            ]
        )
        orders.action_confirm()
        for picking in orders.picking_ids:
            picking.move_ids.quantity = 1
            picking.move_ids.picked = True
        orders.picking_ids.button_validate()
        invoices = env["account.move"].union(*(order._create_invoices() for order in orders))
        invoices.action_post()
        for invoice in invoices:
            env["account.payment.register"].with_context(active_model="account.move", active_ids=invoice.ids).create(
                {"journal_id": journal.id}
            )._create_payments()
        batch = orders.with_user(member).cancel_reconciled_in_background(
            payment_action="keep", stock_action="return_validate"
        )
        cr.commit()
        return batch.id, orders.ids


def progress(registry, batch_id):
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        states = {"queued": [], "done": [], "failed": [], "skipped": []}
        for line in env[BATCH].browse(batch_id).line_ids:
            states[line.state].append((line.order_id.name, line.error, line.attempts))
        return states


def start_worker(conf, dbname):
    # A process group of its own, so that SIGKILL takes it as a crash takes a server's worker.
    return subprocess.Popen([sys.executable, WORKER, conf, dbname], start_new_session=True)


def run_workers(conf, dbname, registry, batch_id, total):
    """Two workers; kill the first once a few orders are done (mid-order: each takes a while),
    start a new one in its place; wait until nothing is queued."""
    first, second = start_worker(conf, dbname), start_worker(conf, dbname)
    deadline = time.monotonic() + TIMEOUT
    killed_at = None
    while time.monotonic() < deadline and killed_at is None:
        states = progress(registry, batch_id)
        if not states["queued"]:
            break
        done = len(states["done"])
        if done >= max(3, total // 5):
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
            killed_at = done
        time.sleep(0.2)
    check("the first worker was killed with SIGKILL while the batch ran", killed_at is not None)
    replacement = start_worker(conf, dbname)
    for worker in (second, replacement):
        try:
            worker.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.kill()
    return killed_at


def check_books(registry, batch_id, order_ids):
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        orders = env["sale.order"].browse(order_ids)
        lines = env[BATCH].browse(batch_id).line_ids
        logs = env["sale.order.cancel.reconciled.log"].search([("order_id", "in", order_ids)])
        twice = [
            order.name for order in orders if len(logs.filtered(lambda log, order=order: log.order_id == order)) > 1
        ]
        check("no order was cancelled twice (one log each at most)", not twice, ", ".join(twice))
        half = []
        for line in lines:
            order = line.order_id
            returns = order.picking_ids.filtered(lambda picking: picking.return_id)
            refunds = order.invoice_ids.filtered(lambda move: move.move_type == "out_refund")
            if line.state == "done":
                whole = order.state == "cancel" and len(returns) == 1 and returns.state == "done" and len(refunds) == 1
            else:
                whole = order.state == "sale" and not returns and not refunds
            if not whole:
                half.append(
                    f"{order.name} ({line.state}: order {order.state}, {len(returns)} returns, {len(refunds)} refunds)"
                )
        check("each order is wholly cancelled (order, credit note, return) or untouched", not half, "; ".join(half[:5]))
        done_logs = lines.filtered(lambda line: line.state == "done").log_id
        check(
            "each done order's log is linked from the batch",
            len(done_logs) == len(lines.filtered(lambda line: line.state == "done")),
        )


def main(conf, dbname, count=40):
    count = int(count)
    config.parse_config(["-c", conf, "-d", dbname, "--log-level=warn"])
    registry = Registry(dbname)
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        installed = env["ir.module.module"].search([("name", "=", ADDON), ("state", "=", "installed")])
        without_jobs = "queue.job" not in env
    check(
        f"{ADDON} is installed in {dbname}, without queue_job (the scheduled action's path)", installed and without_jobs
    )
    if installed and without_jobs:
        batch_id, order_ids = set_up(registry, count)
        start = time.monotonic()
        killed_at = run_workers(conf, dbname, registry, batch_id, count)
        seconds = time.monotonic() - start
        states = progress(registry, batch_id)
        check("no order is left queued", not states["queued"], f"{len(states['queued'])} queued")
        check(
            "every order ends done: conflicts on the shared stock rows were retried, the killed one run again",
            len(states["done"]) == count,
            "; ".join(f"{name}: {error}" for name, error, _attempts in states["failed"][:5]),
        )
        check_books(registry, batch_id, order_ids)
        print(
            f"batch workers: {count} orders in {seconds:.0f} s with two workers (one killed after {killed_at} done), "
            f"{sum(attempts for _name, _error, attempts in states['done'])} conflicts retried",
            flush=True,
        )
    failed = results.count(False)
    print(f"batch workers: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
