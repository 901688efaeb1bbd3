"""Benchmark background batches: how fast the dialog returns, and how many orders per minute
one, two or more worker processes cancel.

Usage: .venv/bin/python bench/bench_batch.py [--orders 1000] [--per-run 150] [--workers 1,2,8]
       [--keep] [--conf PATH]

It (re)creates two databases and COMMITS there: ``ocr_bench_batch`` with the addon (the scheduled
action's path) and ``ocr_bench_jobs`` with the addon and OCA's queue_job (the job path). It
prints tables; it is not a test and asserts nothing. See bench/README.md for how to read them.

- The dialog: ``--orders`` paid, delivered one-line orders selected, Confirm (the wizard's
  ``action_confirm``, its commit included) until the batch is returned, in both databases; the
  batch is then rolled back, so that the orders serve the next part.
- Throughput: for each count of ``--workers``, a batch of ``--per-run`` of those orders (all of
  one product, returns validated: the worst case of conflicts on one stock row) run by that many
  scripts/batch_worker.py processes; orders per minute, latency per order, conflicts retried,
  failed orders, and the most row-holding transactions seen at once in pg_locks / pg_stat_activity.
"""

import argparse
import os
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
    parser.add_argument("--per-run", type=int, default=150, help="orders of each throughput run")
    parser.add_argument("--workers", default="1,2,8", help="worker processes of each throughput run")
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
    import odoo
    from odoo.tools import config

    if not CONFIG_READ:  # Odoo's configuration can be read once per process only
        config.parse_config(["-c", conf, "--log-level=warn"])
        CONFIG_READ.append(conf)
    return odoo.modules.registry.Registry(dbname)


def env_of(cr):
    import odoo
    from odoo import api

    return api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})


def build_orders(registry, count, paid=True):
    """Paid, delivered one-line orders of one product (or only confirmed ones), committed; their ids."""
    from odoo import Command

    with registry.cursor() as cr:
        env = env_of(cr)
        company = env.ref("base.main_company")
        customer = env["res.partner"].create({"name": "Bench Customer"})
        product = env["product.product"].create(
            {"name": "Bench product", "type": "consu", "is_storable": True, "list_price": 10.0}
        )
        warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
        env["stock.quant"]._update_available_quantity(product, warehouse.lot_stock_id, float(count))
        journal = env["account.journal"].search([("company_id", "=", company.id), ("type", "=", "bank")], limit=1)
        ids = []
        for start in range(0, count, 100):
            orders = env["sale.order"].create(
                [
                    {"partner_id": customer.id, "order_line": [Command.create({"product_id": product.id})]}
                    for _index in range(min(100, count - start))
                ]
            )
            orders.action_confirm()
            ids += orders.ids
            if not paid:
                cr.commit()
                print(f"  {len(ids)} orders confirmed", flush=True)
                continue
            for picking in orders.picking_ids:
                picking.move_ids.quantity = 1
                picking.move_ids.picked = True
            orders.picking_ids.button_validate()
            for order in orders:
                invoice = order._create_invoices()
                invoice.action_post()
                env["account.payment.register"].with_context(
                    active_model="account.move", active_ids=invoice.ids
                ).create({"journal_id": journal.id})._create_payments()
            cr.commit()
            print(f"  {len(ids)} orders built", flush=True)
        return ids


def time_dialog(registry, order_ids):
    """Seconds from Confirm to the batch returned, commit-time work included; rolled back."""
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
        lines = env[BATCH].browse(action["res_id"]).line_ids
        jobs = env["queue.job"].search_count([]) if "queue.job" in env else 0
        cr.rollback()
    return seconds, len(lines), jobs


def new_batch(registry, order_ids):
    with registry.cursor() as cr:
        env = env_of(cr)
        batch = (
            env["sale.order"]
            .browse(order_ids)
            .cancel_reconciled_in_background(payment_action="keep", stock_action="return_validate")
        )
        cr.commit()
        return batch.id


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


def run_workers(args, registry, batch_id, count):
    sampler = LockSampler(registry, DB)
    sampler.start()
    workers = [subprocess.Popen([sys.executable, str(WORKER), args.conf, DB, "300"]) for _index in range(count)]
    for worker in workers:
        worker.wait()
    sampler.stop.set()
    sampler.join()
    with registry.cursor() as cr:
        lines = env_of(cr)[BATCH].browse(batch_id).line_ids
        commits = sorted(line.write_date for line in lines if line.state != "queued")
        # From the first order's commit to the last: the workers' start (loading Odoo) left out.
        seconds = max((commits[-1] - commits[0]).total_seconds(), 1.0) if commits else 1.0
        # How long an order took, from the first commit to its own: 50 % and 95 % of the orders.
        finished = [(commit - commits[0]).total_seconds() for commit in commits]
        stats = {
            "done": sum(line.state == "done" for line in lines),
            "failed": sum(line.state == "failed" for line in lines),
            "queued": sum(line.state == "queued" for line in lines),
            "conflicts": sum(lines.mapped("attempts")),
            "p50": statistics.median(finished) if finished else 0.0,
            "p95": statistics.quantiles(finished, n=20)[-1] if len(finished) > 1 else 0.0,
        }
    return seconds, stats, sampler


def main():
    args = parse_args()
    os.chdir(ROOT)
    workers = [int(count) for count in args.workers.split(",")]
    needed = args.orders

    print("== The dialog: Confirm on a big selection, until the batch is returned", flush=True)
    create_database(args, JOBS_DB, f"{ADDON},queue_job")
    jobs_registry = registry_of(args.conf, JOBS_DB)
    # Confirming is all the dialog needs of a big selection: each order is checked when it runs.
    jobs_ids = build_orders(jobs_registry, args.orders, paid=False)
    create_database(args, DB, ADDON)
    registry = registry_of(args.conf, DB)
    ids = build_orders(registry, max(needed, args.per_run * len(workers)))
    print(f"{'path':<28} {'orders':>7} {'seconds':>8} {'jobs':>6}")
    seconds, lines, _jobs = time_dialog(registry, ids[: args.orders])
    print(f"{'scheduled action':<28} {lines:>7} {seconds:>8.2f} {'-':>6}")
    seconds, lines, jobs = time_dialog(jobs_registry, jobs_ids[: args.orders])
    print(f"{'queue_job (a job per order)':<28} {lines:>7} {seconds:>8.2f} {jobs:>6}", flush=True)

    print(f"\n== Throughput: batches of {args.per_run} one-line orders of one product, returns validated", flush=True)
    print(
        f"{'workers':>7} {'orders':>7} {'seconds':>8} {'orders/min':>11} {'50% by s':>9} {'95% by s':>9} "
        f"{'conflicts':>10} {'failed':>7} {'open txn max':>13} {'locks/txn max':>14}"
    )
    rates = {}
    for index, count in enumerate(workers):
        batch_id = new_batch(registry, ids[index * args.per_run : (index + 1) * args.per_run])
        seconds, stats, sampler = run_workers(args, registry, batch_id, count)
        rates[count] = 60.0 * max(stats["done"] - 1, 0) / seconds
        print(
            f"{count:>7} {args.per_run:>7} {seconds:>8.1f} {rates[count]:>11.1f} {stats['p50']:>9.1f} "
            f"{stats['p95']:>9.1f} {stats['conflicts']:>10} {stats['failed'] + stats['queued']:>7} "
            f"{sampler.open_transactions:>13} {sampler.locks_per_transaction:>14}",
            flush=True,
        )
    if 1 in rates and 2 in rates:
        print(f"\n2 workers / 1 worker: {rates[2] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
