"""Benchmark background batches at scale: how fast the dialog queues 10,000 orders, how many orders
per minute one, two and four worker processes cancel, and whether a worker's memory grows.

Usage: .venv/bin/python bench/bench_batch.py [--queue-orders 10000] [--orders 600]
       [--phases 150:1,350:2,600:4] [--spread 1] [--repeat 3] [--keep] [--profile] [--conf PATH]
       .venv-19.0/bin/python bench/bench_batch.py --series 19.0 [...]   (Odoo 19.0, the 19.0/ addon)

It (re)creates two databases and COMMITS there: ``ocr_bench_batch`` with the addon (the scheduled
action's path) and ``ocr_bench_jobs`` with the addon and OCA's queue_job (the job path), prefixed
``ocr19`` for 19.0; with --keep it reuses them and the orders it built before. It prints tables; it
is not a test and asserts nothing. See bench/README.md for how to read them.

- The dialog: ``--queue-orders`` confirmed one-line orders of a service selected, Confirm (the
  wizard's ``action_confirm``, commit-time work included) until the batch is returned, on both
  paths, then rolled back. The dialog checks nothing per order (each order is checked when it
  runs): confirmed orders are all it needs.
- The batch the workers run: ``--orders`` orders paid and delivered, all of one product, returns
  validated (the worst case of conflicts on one stock row), one of them with only a draft invoice:
  it must fail alone. Confirmed in the dialog of ``ocr_bench_batch`` and committed.
- Throughput: that batch is run in phases by scripts/batch_worker.py processes, each phase until
  a count of orders is finished (``--phases``: finished:workers), the workers then stopped with
  SIGTERM wherever they are; orders per minute, the time an order waits from the phase's first
  commit to its own, conflicts retried, failed orders, the most transactions of the workers open
  at once and locks one holds (sampled from pg_stat_activity and pg_locks), and each worker's
  resident memory (VmRSS) once it has finished an order and at the end of the phase.
"""

import argparse
import cProfile
import os
import pstats
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDON = "order_cancel_reconciled"
# Per series (scripts/env.sh): the addons' folder, the local folder and the database prefix.
SERIES = {"18.0": ("", "", "ocr"), "19.0": ("19.0", "-19.0", "ocr19")}
MAIL_OFF = {"tracking_disable": True, "mail_create_nolog": True, "mail_create_nosubscribe": True, "mail_notrack": True}
WORKER = ROOT / "scripts" / "batch_worker.py"
BATCH = "sale.order.cancel.reconciled.batch"
PAID_REF = "bench batch"
QUEUE_REF = "bench batch (confirmed)"
# Orders created, confirmed and committed together: the confirmed ones, the paid ones.
QUEUE_CHUNK = 1000
PAID_CHUNK = 100
# A worker's memory is first read once every worker has finished an order on average, or this
# long after the phase's first order.
RSS_START_SECONDS = 10.0
GOAL_SECONDS = 2.0
CONFIG_READ = []


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", default=os.environ.get("SERIES", "18.0"), choices=sorted(SERIES))
    parser.add_argument("--conf", help="Odoo configuration file (default: the series' .local folder's)")
    parser.add_argument("--odoo-bin", help="odoo-bin, to create the databases (default: /opt/odoo-<series>/odoo-bin)")
    parser.add_argument(
        "--queue-orders", type=int, default=10000, help="confirmed orders selected in the dialog (rolled back)"
    )
    parser.add_argument("--orders", type=int, default=600, help="paid orders of the batch the workers run")
    parser.add_argument(
        "--phases",
        default="150:1,350:2,600:4",
        help='finished orders:worker processes, phase after phase; "" measures the dialog only',
    )
    parser.add_argument(
        "--spread", type=int, default=1, help="products (and customers) the workers' orders cycle through"
    )
    parser.add_argument("--repeat", type=int, default=3, help="times the dialog is timed on each path")
    parser.add_argument("--profile", action="store_true", help="profile the dialog once more on each path")
    parser.add_argument("--keep", action="store_true", help="reuse the databases if they exist")
    args = parser.parse_args()
    _folder, suffix, prefix = SERIES[args.series]
    args.conf = args.conf or str(ROOT / f".local{suffix}" / "odoo.conf")
    args.odoo_bin = args.odoo_bin or f"/opt/odoo-{args.series}/odoo-bin"
    args.db = f"{prefix}_bench_batch"
    args.jobs_db = f"{prefix}_bench_jobs"
    return args


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


def bench_customer(env):
    return env["res.partner"].search([("name", "=", "Bench Customer")], limit=1) or env["res.partner"].create(
        {"name": "Bench Customer"}
    )


def build_confirmed_orders(registry, count):
    """Confirmed one-line orders of a service (nothing to deliver), committed a chunk at a time;
    their ids, how many were built now and the seconds it took. Orders built by an earlier run
    are reused."""
    from odoo import Command

    with registry.cursor() as cr:
        # Building is not measured: no tracking or chatter, to build faster.
        env = env_of(cr)(su=True, context=MAIL_OFF)
        ids = env["sale.order"].search([("client_order_ref", "=", QUEUE_REF), ("state", "=", "sale")], order="id").ids
        start, reused = time.monotonic(), len(ids)
        customer = bench_customer(env)
        product = env["product.product"].search([("name", "=", "Bench service")], limit=1) or env[
            "product.product"
        ].create({"name": "Bench service", "type": "service", "invoice_policy": "order", "list_price": 10.0})
        while len(ids) < count:
            orders = env["sale.order"].create(
                [
                    {
                        "partner_id": customer.id,
                        "client_order_ref": QUEUE_REF,
                        "order_line": [Command.create({"product_id": product.id})],
                    }
                    for _index in range(min(QUEUE_CHUNK, count - len(ids)))
                ]
            )
            orders.action_confirm()
            ids += orders.ids
            cr.commit()
            env.invalidate_all()  # the chunk's records leave the cache
            print(f"  {cr.dbname}: {len(ids)} confirmed orders", flush=True)
        return ids[:count], len(ids) - reused, time.monotonic() - start


def build_paid_orders(registry, count, spread=1):
    """One-line orders of one product for one customer (or of `spread` products for as many
    customers, in turn), paid and delivered, committed a chunk at a time, one of them with a
    draft invoice only (unless a reused one has); their ids, how many were built now and the
    seconds it took. Orders built by an earlier run and not cancelled are reused."""
    from odoo import Command

    ref = PAID_REF if spread == 1 else f"{PAID_REF} ({spread} products)"
    with registry.cursor() as cr:
        env = env_of(cr)(su=True, context=MAIL_OFF)
        ids = env["sale.order"].search([("client_order_ref", "=", ref), ("state", "=", "sale")], order="id").ids
        start, reused = time.monotonic(), len(ids)
        company = env.ref("base.main_company")
        customers = [bench_customer(env)]
        storable = {"type": "consu", "is_storable": True, "list_price": 10.0}
        products = []
        for index in range(spread):
            name = "Bench product" if index == 0 else f"Bench product {index + 1}"
            products.append(
                env["product.product"].search([("name", "=", name)], limit=1)
                or env["product.product"].create({"name": name, **storable})
            )
        for index in range(1, spread):
            name = f"Bench Customer {index + 1}"
            customers.append(
                env["res.partner"].search([("name", "=", name)], limit=1) or env["res.partner"].create({"name": name})
            )
        warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
        if count > len(ids):
            for product in products:
                quantity = float((count - len(ids)) // spread + 1)
                env["stock.quant"]._update_available_quantity(product, warehouse.lot_stock_id, quantity)
        journal = env["account.journal"].search([("company_id", "=", company.id), ("type", "=", "bank")], limit=1)
        planted = ids and env["account.move"].search_count(
            [("line_ids.sale_line_ids.order_id", "in", ids), ("state", "=", "draft")], limit=1
        )
        bad = None if planted else max(count // 2, len(ids))
        while len(ids) < count:
            orders = env["sale.order"].create(
                [
                    {
                        "partner_id": customers[index % spread].id,
                        "client_order_ref": ref,
                        "order_line": [Command.create({"product_id": products[index % spread].id})],
                    }
                    for index in range(len(ids), len(ids) + min(PAID_CHUNK, count - len(ids)))
                ]
            )
            orders.action_confirm()
            pickings = orders.picking_ids
            for move in pickings.move_ids:
                move.quantity = move.product_uom_qty
            pickings.move_ids.picked = True
            pickings.button_validate()
            # One invoice per order, as when each is billed on its own.
            invoices = orders._create_invoices(grouped=True)
            if bad is not None and len(ids) <= bad < len(ids) + len(orders):
                invoices -= orders[bad - len(ids)].invoice_ids  # a draft invoice only: the engine refuses it
            if invoices:
                invoices.action_post()
                # One payment per invoice.
                env["account.payment.register"].with_context(
                    active_model="account.move", active_ids=invoices.ids
                ).create({"journal_id": journal.id, "group_payment": False})._create_payments()
            ids += orders.ids
            cr.commit()
            env.invalidate_all()
            print(f"  {cr.dbname}: {len(ids)} paid orders", flush=True)
        return ids[:count], len(ids) - reused, time.monotonic() - start


def drop_unfinished_batches(registry):
    """Batches an interrupted run left with queued orders would go first in the workers' queue."""
    with registry.cursor() as cr:
        batches = env_of(cr)(su=True)[BATCH].search([]).filtered(lambda batch: batch.state in ("queued", "running"))
        if batches:
            print(f"  {cr.dbname}: {len(batches)} unfinished batches of an earlier run deleted", flush=True)
            batches.unlink()


def time_dialog(registry, order_ids, commit=False, profile=False):
    """Seconds and queries from Confirm to the batch returned, commit-time work included; the
    batch id when committed. With profile, prints where the time goes."""
    with registry.cursor() as cr:
        env = env_of(cr)
        env.company.cancel_reconciled_background_from = 10
        wizard = (
            env["sale.order.cancel.reconciled"].with_context(active_model="sale.order", active_ids=order_ids).create({})
        )
        env.flush_all()
        env.invalidate_all()
        profiler = cProfile.Profile() if profile else None
        queries, start = cr.sql_log_count, time.monotonic()
        if profiler:
            profiler.enable()
        action = wizard.action_confirm()
        env.flush_all()
        cr.precommit.run()  # what the commit would do: the bus and queue_job's notifications
        if profiler:
            profiler.disable()
        seconds, queries = time.monotonic() - start, cr.sql_log_count - queries
        batch = env[BATCH].browse(action["res_id"])
        jobs = env["queue.job"].search_count([("state", "=", "pending")]) if "queue.job" in env else 0
        result = (seconds, queries, batch.order_count, jobs, batch.id)
        if commit:
            cr.commit()
        else:
            cr.rollback()
    if profiler:
        print_profile(profiler)
    return result


def print_profile(profiler):
    """The heaviest calls by cumulative time, then the addon's own functions by their own time."""
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("tottime").print_stats(ADDON, 15)


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
    """The batch's finished lines: {id: (write_date, state, attempts)}."""
    with registry.cursor() as cr:
        lines = env_of(cr)["sale.order.cancel.reconciled.batch.line"].search(
            [("batch_id", "=", batch_id), ("state", "!=", "queued")]
        )
        return {line.id: (line.write_date, line.state, line.attempts) for line in lines}


def count_finished(registry, batch_id):
    """How many lines of the batch are finished: one query, polled while the workers run."""
    with registry.cursor() as cr:
        return env_of(cr)["sale.order.cancel.reconciled.batch.line"].search_count(
            [("batch_id", "=", batch_id), ("state", "!=", "queued")]
        )


def rss_mb(pid):
    """A process's resident memory in MB (VmRSS), None once it has ended."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return None


def run_phase(args, registry, batch_id, workers, until):
    """Run `workers` processes until `until` orders of the batch are finished; stop them."""
    before = finished_lines(registry, batch_id)
    sampler = LockSampler(registry, args.db)
    sampler.start()
    processes = [
        subprocess.Popen([sys.executable, str(WORKER), args.conf, args.db, "300"], start_new_session=True)
        for _index in range(workers)
    ]
    # Each worker's memory once it has finished an order (its caches warm) and at the end, with
    # the phase's finished orders at both times.
    first_order_at = rss_start = rss_end = None
    start_count = end_count = 0
    while True:
        finished = count_finished(registry, batch_id)
        new = finished - len(before)
        sample = [rss_mb(process.pid) for process in processes]
        if None not in sample and new:
            first_order_at = first_order_at or time.monotonic()
            if rss_start is None and (new >= workers or time.monotonic() - first_order_at >= RSS_START_SECONDS):
                rss_start, start_count = sample, new
            if rss_start is not None:
                rss_end, end_count = sample, new
        if finished >= until or all(process.poll() is not None for process in processes):
            break
        time.sleep(1)
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait()
    sampler.stop.set()
    sampler.join()
    lines = finished_lines(registry, batch_id)
    new = sorted(value for line_id, value in lines.items() if line_id not in before)
    commits = [write_date for write_date, _state, _attempts in new]
    # From the phase's first commit to its last: the workers' start (loading Odoo) left out.
    seconds = max((commits[-1] - commits[0]).total_seconds(), 1.0) if len(commits) > 1 else 1.0
    waits = [(commit - commits[0]).total_seconds() for commit in commits]
    growth = None
    if rss_start and end_count > start_count:
        per_worker = (end_count - start_count) / workers
        growth = statistics.mean(end - start for start, end in zip(rss_start, rss_end, strict=True)) * 100 / per_worker
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
        "rss_start": rss_start,
        "rss_end": rss_end,
        "rss_orders": end_count - start_count,
        "growth": growth,
    }


def print_dialog(args, rows):
    print(f"{'path':<18} {'orders':>7} {'first s':>8} {'best s':>7} {'queries':>8} {'jobs created':>13}")
    for path, count, times, queries, jobs in rows:
        print(f"{path:<18} {count:>7} {times[0]:>8.2f} {min(times):>7.2f} {queries:>8} {jobs:>13}")
    worst = max(min(times) for _path, _count, times, _queries, _jobs in rows)
    verdict = "met" if worst < GOAL_SECONDS else "NOT met"
    print(f"Goal: {args.queue_orders} orders queued in under {GOAL_SECONDS:.0f} s on both paths: {verdict}", flush=True)


def print_memory(phases):
    print("\n== Worker memory (VmRSS), from each worker's first finished order to the end of the phase")
    print(
        f"{'workers':>7} {'orders':>7} {'RSS start MB':>24} {'RSS end MB':>24} {'growth MB':>10} {'MB/100 orders':>14}"
    )
    for workers, phase in phases:
        if not phase["rss_start"]:
            print(f"{workers:>7} {'no sample':>7}")
            continue
        starts = "/".join(f"{value:.1f}" for value in phase["rss_start"])
        ends = "/".join(f"{value:.1f}" for value in phase["rss_end"])
        grown = statistics.mean(end - start for start, end in zip(phase["rss_start"], phase["rss_end"], strict=True))
        per_hundred = f"{phase['growth']:.2f}" if phase["growth"] is not None else "n/a"
        print(f"{workers:>7} {phase['rss_orders']:>7} {starts:>24} {ends:>24} {grown:>10.1f} {per_hundred:>14}")
    print("(one figure per worker; growth: the workers' mean, per 100 orders each worker finished)")


def main():
    args = parse_args()
    os.chdir(ROOT)
    phases = [tuple(int(part) for part in phase.split(":")) for phase in args.phases.split(",") if phase]
    cores = len(os.sched_getaffinity(0))
    print(f"Odoo {args.series}, databases {args.db} and {args.jobs_db}, {cores} core(s)", flush=True)

    print("\n== Building the orders (not measured by the goals)", flush=True)
    create_database(args, args.jobs_db, f"{ADDON},queue_job")
    jobs_registry = registry_of(args.conf, args.jobs_db)
    create_database(args, args.db, ADDON)
    registry = registry_of(args.conf, args.db)
    builds = []
    jobs_queue_ids, built, seconds = build_confirmed_orders(jobs_registry, args.queue_orders)
    builds.append((args.jobs_db, "confirmed", len(jobs_queue_ids), built, seconds))
    queue_ids, built, seconds = build_confirmed_orders(registry, args.queue_orders)
    builds.append((args.db, "confirmed", len(queue_ids), built, seconds))
    if phases:
        ids, built, seconds = build_paid_orders(registry, args.orders, args.spread)
        builds.append((args.db, "paid", len(ids), built, seconds))
    print(f"{'database':<18} {'orders':<10} {'total':>7} {'built now':>10} {'seconds':>8} {'ms/order':>9}")
    for dbname, kind, total, built, seconds in builds:
        per_order = f"{1000 * seconds / built:.0f}" if built else "-"
        print(f"{dbname:<18} {kind:<10} {total:>7} {built:>10} {seconds:>8.1f} {per_order:>9}")

    print(f"\n== The dialog: Confirm on {args.queue_orders} selected orders, until the batch is returned", flush=True)
    paths = (("scheduled action", registry, queue_ids), ("queue_job", jobs_registry, jobs_queue_ids))
    rows = []
    for path, path_registry, path_ids in paths:
        times = []
        for _run in range(args.repeat):
            seconds, queries, count, jobs, _batch = time_dialog(path_registry, path_ids)
            times.append(seconds)
        rows.append((path, count, times, queries, jobs))
    print_dialog(args, rows)
    if args.profile:
        for path, path_registry, path_ids in paths:
            print(f"\n-- Profile of the dialog, {path} path")
            time_dialog(path_registry, path_ids, profile=True)

    if phases:
        run_workers(args, registry, ids, phases)


def run_workers(args, registry, ids, phases):
    """The paid orders queued (committed), then cancelled by the workers phase after phase."""
    drop_unfinished_batches(registry)
    seconds, queries, count, _jobs, batch_id = time_dialog(registry, ids, commit=True)
    print(f"The workers' batch: {count} paid orders queued in {seconds:.2f} s, {queries} queries (committed)")

    kind = "one product for one customer" if args.spread == 1 else f"{args.spread} products for as many customers"
    print(f"\n== Throughput: that batch, paid one-line orders of {kind}, returns validated", flush=True)
    print(
        f"{'workers':>7} {'orders':>7} {'seconds':>8} {'orders/min':>11} {'50% by s':>9} {'95% by s':>9} "
        f"{'conflicts':>10} {'failed':>7} {'open txn max':>13} {'locks/txn max':>14}"
    )
    rates, done = {}, []
    for until, workers in phases:
        phase = run_phase(args, registry, batch_id, workers, until)
        rates[workers] = phase["rate"]
        done.append((workers, phase))
        print(
            f"{workers:>7} {phase['finished']:>7} {phase['seconds']:>8.1f} {phase['rate']:>11.1f} "
            f"{phase['p50']:>9.1f} {phase['p95']:>9.1f} {phase['conflicts']:>10} {phase['failed']:>7} "
            f"{phase['open']:>13} {phase['locks']:>14}",
            flush=True,
        )
    if rates.get(1):
        print()
        for workers in sorted(rates):
            if workers != 1:
                print(f"{workers} workers / 1 worker: {rates[workers] / rates[1]:.2f}x")
    print_memory(done)
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
