"""Benchmark background batches: how fast the dialog returns on 1,000 paid orders, and how
many orders per minute one, two and eight worker processes cancel.

Usage: .venv/bin/python bench/bench_batch.py [--orders 1000] [--phases 200:1,500:2,1000:8]
       [--keep] [--conf PATH]

It (re)creates two databases and COMMITS there: ``ocr_bench_batch`` with the addon (the scheduled
action's path) and ``ocr_bench_jobs`` with the addon and OCA's queue_job (the job path); with
--keep it reuses them and the orders it built before. It prints tables; it is not a test and
asserts nothing. See bench/README.md for how to read them.

- The dialog: ``--orders`` one-line orders selected, Confirm (the wizard's ``action_confirm``,
  commit-time work included) until the batch is returned. In ``ocr_bench_jobs`` it is rolled back;
  in ``ocr_bench_batch`` it is committed: that batch is the one the workers run.
- The orders are paid and delivered, all of one product, returns validated (the worst case of
  conflicts on one stock row), and one of them has only a draft invoice: it must fail alone.
- Throughput: the batch is run in phases by scripts/batch_worker.py processes, each phase until
  a count of orders is finished (``--phases``: finished:workers), the workers then stopped with
  SIGTERM wherever they are; orders per minute, the time an order waits from the phase's first
  commit to its own, conflicts retried, failed orders, and the most transactions of the workers
  open at once and locks one holds, sampled from pg_stat_activity and pg_locks.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDON = "order_cancel_reconciled"
DB = "ocr_bench_batch"
JOBS_DB = "ocr_bench_jobs"
WORKER = ROOT / "scripts" / "batch_worker.py"
BATCH = "sale.order.cancel.reconciled.batch"
CONFIG_READ = []


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conf", default=str(ROOT / ".local" / "odoo.conf"), help="Odoo configuration file")
    parser.add_argument("--odoo-bin", default="/opt/odoo-18.0/odoo-bin")
    parser.add_argument("--orders", type=int, default=1000, help="orders selected in the dialog")
    parser.add_argument(
        "--phases", default="200:1,500:2,1000:8", help="finished orders:worker processes, phase after phase"
    )
    parser.add_argument("--keep", action="store_true", help="reuse the databases if they exist")
    return parser.parse_args()


def create_database(args, name, modules):
    exists = subprocess.run(["psql", "-lqt"], capture_output=True, text=True, check=True).stdout
    if args.keep and any(line.split("|")[0].strip() == name for line in exists.splitlines()):
        return False
    subprocess.run(["dropdb", "--if-exists", name], check=True)
    print(f"Creating {name} with {modules} ...", flush=True)
    command = [sys.executable, args.odoo_bin, "-c", args.conf, "-d", name, "-i", modules]
    subprocess.run([*command, "--stop-after-init", "--log-level=warn"], check=True)
    return True


def registry_of(conf, dbname):
    from odoo.tools import config

    if not CONFIG_READ:  # Odoo's configuration can be read once per process only
        config.parse_config(["-c", conf, "--log-level=warn"])
        CONFIG_READ.append(conf)
    # 19.0: importing odoo does not load odoo.modules; 18.0 as well with the explicit import.
    from odoo.modules.registry import Registry

    return Registry(dbname)


def env_of(cr, user="base.user_admin"):
    """Administrator's environment: the batch runs in their name, as for a user of the sales list."""
    import odoo
    from odoo import api

    env = api.Environment(cr, odoo.SUPERUSER_ID, {})
    return env(user=env.ref(user).id)


def build_orders(registry, count, paid=True):
    """One-line orders of one product, committed (paid and delivered, or only confirmed), the
    one in the middle with a draft invoice only; their ids. Orders built by an earlier run are
    reused."""
    from odoo import Command

    ref = "bench batch" if paid else "bench batch (confirmed)"
    with registry.cursor() as cr:
        env = env_of(cr)(su=True)
        ids = env["sale.order"].search([("client_order_ref", "=", ref), ("state", "=", "sale")], order="id").ids
        company = env.ref("base.main_company")
        customer = env["res.partner"].search([("name", "=", "Bench Customer")], limit=1) or env["res.partner"].create(
            {"name": "Bench Customer"}
        )
        product = env["product.product"].search([("name", "=", "Bench product")], limit=1) or env[
            "product.product"
        ].create({"name": "Bench product", "type": "consu", "is_storable": True, "list_price": 10.0})
        warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
        env["stock.quant"]._update_available_quantity(product, warehouse.lot_stock_id, float(count))
        journal = env["account.journal"].search([("company_id", "=", company.id), ("type", "=", "bank")], limit=1)
        bad = count // 2
        while len(ids) < count:
            orders = env["sale.order"].create(
                [
                    {
                        "partner_id": customer.id,
                        "client_order_ref": ref,
                        "order_line": [Command.create({"product_id": product.id})],
                    }
                    for _index in range(min(100, count - len(ids)))
                ]
            )
            orders.action_confirm()
            if paid:
                for picking in orders.picking_ids:
                    picking.move_ids.quantity = 1
                    picking.move_ids.picked = True
                orders.picking_ids.button_validate()
                for index, order in enumerate(orders, start=len(ids)):
                    invoice = order._create_invoices()
                    if index == bad:
                        continue  # a draft invoice only: the engine refuses this order
                    invoice.action_post()
                    env["account.payment.register"].with_context(
                        active_model="account.move", active_ids=invoice.ids
                    ).create({"journal_id": journal.id})._create_payments()
            ids += orders.ids
            cr.commit()
            print(f"  {len(ids)} orders built", flush=True)
        return ids[:count]


def time_dialog(registry, order_ids, commit=False):
    """Seconds from Confirm to the batch returned, commit-time work included; the batch id when
    committed."""
    with registry.cursor() as cr:
        env = env_of(cr)
        env.company.cancel_reconciled_background_from = 10
        wizard = (
            env["sale.order.cancel.reconciled"].with_context(active_model="sale.order", active_ids=order_ids).create({})
        )
        env.flush_all()
        env.invalidate_all()
        start = time.monotonic()
        action = wizard.action_confirm()
        env.flush_all()
        cr.precommit.run()  # what the commit would do: the bus and queue_job's notifications
        seconds = time.monotonic() - start
        batch = env[BATCH].browse(action["res_id"])
        jobs = env["queue.job"].search_count([("state", "=", "pending")]) if "queue.job" in env else 0
        result = (seconds, batch.order_count, jobs, batch.id)
        if commit:
            cr.commit()
        else:
            cr.rollback()
    return result


class LockSampler(threading.Thread):
    """Every 0.1 s: how many transactions of the workers are open, and the most locks one holds."""

    def __init__(self, registry, dbname):
        super().__init__(daemon=True)
        self.registry, self.dbname = registry, dbname
        self.stop = threading.Event()
        self.open_transactions = 0
        self.locks_per_transaction = 0

    def run(self):
        with self.registry.cursor() as cr:
            while not self.stop.is_set():
                cr.execute(
                    """SELECT a.pid, count(l.*) FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid
                       WHERE a.datname = %s AND a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL
                       GROUP BY a.pid""",
                    (self.dbname,),
                )
                rows = cr.fetchall()
                cr.rollback()
                self.open_transactions = max(self.open_transactions, len(rows))
                self.locks_per_transaction = max([self.locks_per_transaction, *(count for _pid, count in rows)])
                time.sleep(0.1)


def finished_lines(registry, batch_id):
    with registry.cursor() as cr:
        lines = env_of(cr)["sale.order.cancel.reconciled.batch.line"].search(
            [("batch_id", "=", batch_id), ("state", "!=", "queued")]
        )
        return [(line.write_date, line.state, line.attempts) for line in lines]


def run_phase(args, registry, batch_id, workers, until):
    """Run `workers` processes until `until` orders of the batch are finished; stop them."""
    before = {write_date for write_date, _state, _attempts in finished_lines(registry, batch_id)}
    sampler = LockSampler(registry, DB)
    sampler.start()
    processes = [
        subprocess.Popen([sys.executable, str(WORKER), args.conf, DB, "300"], start_new_session=True)
        for _index in range(workers)
    ]
    while len(finished_lines(registry, batch_id)) < until and any(p.poll() is None for p in processes):
        time.sleep(1)
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait()
    sampler.stop.set()
    sampler.join()
    lines = finished_lines(registry, batch_id)
    new = sorted(line for line in lines if line[0] not in before or not before)
    commits = [write_date for write_date, _state, _attempts in new]
    # From the phase's first commit to its last: the workers' start (loading Odoo) left out.
    seconds = max((commits[-1] - commits[0]).total_seconds(), 1.0) if len(commits) > 1 else 1.0
    waits = [(commit - commits[0]).total_seconds() for commit in commits]
    return {
        "finished": len(new),
        "seconds": seconds,
        "rate": 60.0 * max(len(new) - 1, 0) / seconds,
        "p50": statistics.median(waits) if waits else 0.0,
        "p95": statistics.quantiles(waits, n=20)[-1] if len(waits) > 1 else 0.0,
        "conflicts": sum(attempts for _date, _state, attempts in new),
        "failed": sum(state == "failed" for _date, state, _attempts in new),
        "open": sampler.open_transactions,
        "locks": sampler.locks_per_transaction,
    }


def main():
    args = parse_args()
    os.chdir(ROOT)
    phases = [tuple(int(part) for part in phase.split(":")) for phase in args.phases.split(",")]

    print(f"== The dialog: Confirm on {args.orders} selected orders, until the batch is returned", flush=True)
    create_database(args, JOBS_DB, f"{ADDON},queue_job")
    jobs_registry = registry_of(args.conf, JOBS_DB)
    # Confirming is all the dialog needs of a big selection: each order is checked when it runs.
    jobs_ids = build_orders(jobs_registry, args.orders, paid=False)
    create_database(args, DB, ADDON)
    registry = registry_of(args.conf, DB)
    ids = build_orders(registry, args.orders)
    seconds, count, jobs, _batch = time_dialog(jobs_registry, jobs_ids)
    rows = [("queue_job", count, seconds, jobs)]
    seconds, count, _jobs, batch_id = time_dialog(registry, ids, commit=True)
    rows.insert(0, ("scheduled action", count, seconds, 0))
    print(f"{'path':<18} {'orders':>7} {'seconds':>8} {'jobs created':>13}")
    for path, count, seconds, jobs in rows:
        print(f"{path:<18} {count:>7} {seconds:>8.2f} {jobs:>13}")

    print("\n== Throughput: the batch above, paid one-line orders of one product, returns validated", flush=True)
    print(
        f"{'workers':>7} {'orders':>7} {'seconds':>8} {'orders/min':>11} {'50% by s':>9} {'95% by s':>9} "
        f"{'conflicts':>10} {'failed':>7} {'open txn max':>13} {'locks/txn max':>14}"
    )
    rates = {}
    for until, workers in phases:
        phase = run_phase(args, registry, batch_id, workers, until)
        rates[workers] = phase["rate"]
        print(
            f"{workers:>7} {phase['finished']:>7} {phase['seconds']:>8.1f} {phase['rate']:>11.1f} "
            f"{phase['p50']:>9.1f} {phase['p95']:>9.1f} {phase['conflicts']:>10} {phase['failed']:>7} "
            f"{phase['open']:>13} {phase['locks']:>14}",
            flush=True,
        )
    if 1 in rates and 2 in rates:
        print(f"\n2 workers / 1 worker: {rates[2] / rates[1]:.2f}x")
    with registry.cursor() as cr:
        batch = env_of(cr)[BATCH].browse(batch_id)
        failed = batch.line_ids.filtered(lambda line: line.state == "failed")
        print(
            f"\nThe batch: {batch.done_count} done, {batch.failed_count} failed, "
            f"{batch.order_count - batch.done_count - batch.failed_count - batch.skipped_count} queued"
        )
        for line in failed:
            print(f"  failed: {line.order_id.name}: {line.error}")


if __name__ == "__main__":
    main()
