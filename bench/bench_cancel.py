"""Benchmark the cancellation wizard against the same end state reached by hand.

Usage: .venv/bin/python bench/bench_cancel.py [--quick] [--db NAME] [--conf PATH]
       .venv-19.0/bin/python bench/bench_cancel.py --series 19.0 [...]   (Odoo 19.0, the 19.0/ addon)

Without --db it creates a fresh database (``ocr_bench``, ``ocr19_bench`` for 19.0) with the addon
(odoo-bin -i, about a minute) and leaves it for a later ``--db``. Every order is built and measured inside
savepoints that are rolled back: nothing is ever committed, and the same orders serve both ways
of cancelling. Prints wall time and SQL query counts; see bench/README.md for how to read them.
"""

import argparse
import contextlib
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDON = "order_cancel_reconciled"
# Per series (scripts/env.sh): the addons' folder, the local folder and the database prefix.
SERIES = {"18.0": ("", "", "ocr"), "19.0": ("19.0", "-19.0", "ocr19")}
MAIL_OFF = {"tracking_disable": True, "mail_create_nolog": True, "mail_create_nosubscribe": True, "mail_notrack": True}

# Sizes: lines per order for the scaling by lines; (lines, invoices, payments per invoice) of one
# order for the scaling by invoices and payments; orders per batch; plan order lines and invoices.
FULL = {
    "lines": (1, 10, 100, 500),
    "documents": ((100, 1, 1), (100, 3, 1), (100, 1, 3), (100, 3, 3)),
    "batches": (1, 50, 200),
    "plan": (500, 20),
}
# A pair of measurements (a and b) shorter than this many seconds is taken this many times, each
# side first every other time.
SHORT_PAIR = 2.0
SHORT_REPEATS = 9
# The sections of the output, in order (--sections).
SECTIONS = ("single", "lines", "documents", "selections", "plan")
QUICK = {
    "lines": (1, 10, 50, 100),
    "documents": ((10, 1, 1), (10, 3, 3)),
    "batches": (1, 10, 20),
    "plan": (100, 5),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", default=os.environ.get("SERIES", "18.0"), choices=sorted(SERIES))
    parser.add_argument("--db", help=f"an existing database with {ADDON} installed (default: a fresh <prefix>_bench)")
    parser.add_argument("--conf", help="Odoo configuration file (default: the series' .local folder's)")
    parser.add_argument("--odoo-bin", help="odoo-bin, to create the database (default: /opt/odoo-<series>/odoo-bin)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, about a minute once the database exists")
    parser.add_argument("--lines", type=int, default=10, help="lines of the single-order comparison (N)")
    parser.add_argument("--invoices", type=int, default=2, help="invoices of the single-order comparison (K)")
    parser.add_argument("--payments", type=int, default=2, help="payments per invoice of the comparison (P)")
    parser.add_argument("--deliveries", type=int, default=2, help="deliveries of the single-order comparison (D)")
    parser.add_argument("--batch-lines", type=int, default=3, help="lines of each order in the batches")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"what to measure, comma-separated (default: all of {','.join(SECTIONS)})",
    )
    args = parser.parse_args()
    args.sections = set(args.sections.split(","))
    if unknown := args.sections - set(SECTIONS):
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    folder, suffix, prefix = SERIES[args.series]
    args.addons_dir = ROOT / folder
    args.conf = args.conf or str(ROOT / f".local{suffix}" / "odoo.conf")
    args.odoo_bin = args.odoo_bin or f"/opt/odoo-{args.series}/odoo-bin"
    args.default_db = f"{prefix}_bench"
    return args


def create_database(args):
    subprocess.run(["dropdb", "--if-exists", args.default_db], check=True)
    print(f"Creating {args.default_db} with {ADDON} ...", flush=True)
    command = [sys.executable, args.odoo_bin, "-c", args.conf, "-d", args.default_db, "-i", ADDON]
    subprocess.run([*command, "--stop-after-init", "--log-level=warn"], check=True)
    return args.default_db


def load_standard_path(args):
    # Loaded by path: importing the addon's tests package would import every test module.
    path = args.addons_dir / ADDON / "tests" / "standard_path.py"
    spec = importlib.util.spec_from_file_location("ocr_standard_path", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cancel_by_hand


class Builder:
    """Confirmed orders delivered in D deliveries, billed in K invoices each paid in P payments."""

    def __init__(self, env, max_lines):
        from odoo import Command

        self.measure_env = env
        # Building is not measured: no tracking or chatter, to build faster.
        self.env = env(context=MAIL_OFF)
        self.company = self.env.company
        warehouse = self.env["stock.warehouse"].search([("company_id", "=", self.company.id)], limit=1)
        self.customer = self.env["res.partner"].create({"name": "Bench Customer"})
        self.journal = self.env["account.journal"].search(
            [("company_id", "=", self.company.id), ("type", "=", "bank")], limit=1
        )
        self.products = self.env["product.product"].create(
            [
                {
                    "name": f"Bench product {index}",
                    "type": "consu",
                    "is_storable": True,
                    "invoice_policy": "order",
                    "list_price": 10.0 + index % 7,
                    "taxes_id": [Command.clear()],
                }
                for index in range(max_lines)
            ]
        )
        for product in self.products:
            self.env["stock.quant"]._update_available_quantity(product, warehouse.lot_stock_id, 1_000_000)

    def orders(self, count, lines, invoices=1, payments=1, deliveries=1):
        from odoo import Command

        env = self.env
        self.analyze()
        orders = env["sale.order"].create(
            [
                {
                    "partner_id": self.customer.id,
                    "order_line": [
                        # D units a line: each delivery delivers one of each.
                        Command.create({"product_id": product.id, "product_uom_qty": deliveries})
                        for product in self.products[:lines]
                    ],
                }
                for _index in range(count)
            ]
        )
        orders.action_confirm()
        for _delivery in range(deliveries):
            pickings = orders.picking_ids.filtered(lambda picking: picking.state not in ("done", "cancel"))
            for move in pickings.move_ids:
                move.quantity = 1
            pickings.move_ids.picked = True
            pickings.with_context(skip_backorder=True).button_validate()  # leaves a backorder but the last time
        invoice_vals = []
        for order in orders:
            chunk = -(-lines // invoices)
            for start in range(0, lines, chunk):
                vals = order._prepare_invoice()
                vals["invoice_line_ids"] = [
                    Command.create(line._prepare_invoice_line()) for line in order.order_line[start : start + chunk]
                ]
                invoice_vals.append(vals)
        moves = env["account.move"].create(invoice_vals)
        moves.action_post()
        for part in range(payments, 0, -1):
            # Every part but the last pays an equal share of what is left; one payment per invoice.
            for move in moves:
                amount = move.currency_id.round(move.amount_residual / part)
                env["account.payment.register"].with_context(active_model="account.move", active_ids=move.ids).create(
                    {"journal_id": self.journal.id, "amount": amount}
                )._create_payments()
        if any(move.payment_state != "paid" for move in moves):
            raise RuntimeError("the bench orders should be paid")
        self.analyze()
        return orders.with_env(self.measure_env)

    def analyze(self):
        """Bring PostgreSQL's statistics up to the rows built so far, as a database in use has them.
        Nothing is committed, and an autovacuum after an earlier run may have left the tables
        counted empty: the planner then joins thousands of lines as if there were none (200 orders
        took 15 minutes to build, Odoo's payment state query seconds a call). ANALYZE in the
        transaction counts its own rows, and changes no row."""
        self.env.flush_all()
        self.env.cr.execute("ANALYZE")


def measure(env, func, state=False):
    """Wall time and queries of func, from a cold record cache to what a commit would write; rolled
    back after."""
    cr = env.cr
    with contextlib.closing(cr.savepoint()):
        env.invalidate_all()
        cr.precommit.clear()
        start_queries, start = cr.sql_log_count, time.perf_counter()
        func()
        env.flush_all()
        cr.precommit.run()  # tracking values and the like, written when the request commits
        env.flush_all()
        elapsed, queries = time.perf_counter() - start, cr.sql_log_count - start_queries
        return elapsed, queries, end_state(env) if state else None


def end_state(env):
    """What both ways of cancelling must agree on, to check that the comparison is fair."""
    orders = env["sale.order"].search([("state", "=", "cancel")])
    moves = orders.invoice_ids
    returns = orders.picking_ids.filtered(lambda picking: picking.return_id)
    return (
        len(orders),
        sorted(moves.mapped("payment_state")),
        len(moves.filtered(lambda move: move.move_type == "out_refund")),
        len(returns.filtered(lambda picking: picking.state == "done")),
        sum(orders.order_line.mapped("qty_delivered")),
    )


def compare(env, orders, cancel_by_hand):
    """(a) the wizard, (b) the standard operations, each rolled back, on the same orders. A short
    pair is measured SHORT_REPEATS times, a and b in turn, each first every other time, and its
    median times kept: one run of a small order varies by more than the difference measured, and
    the side that always ran first would always pay for what the other finds warm. The queries are
    the first run's."""

    def wizard():
        env["sale.order.cancel.reconciled"].with_context(active_model="sale.order", active_ids=orders.ids).create(
            {"stock_action": "return_validate"}
        ).action_confirm()

    def by_hand():
        cancel_by_hand(orders)

    a_time, a_queries, a_state = measure(env, wizard, state=True)
    b_time, b_queries, b_state = measure(env, by_hand, state=True)
    if a_state != b_state:
        print(f"  ! different end states: wizard {a_state}, by hand {b_state}")
    if a_time + b_time < SHORT_PAIR:
        a_times, b_times = [a_time], [b_time]
        for repeat in range(1, SHORT_REPEATS):
            if repeat % 2:
                b_times.append(measure(env, by_hand)[0])
                a_times.append(measure(env, wizard)[0])
            else:
                a_times.append(measure(env, wizard)[0])
                b_times.append(measure(env, by_hand)[0])
        a_time, b_time = statistics.median(a_times), statistics.median(b_times)
    return a_time, a_queries, b_time, b_queries


def ratio(numerator, denominator):
    return f"{numerator / denominator:.2f}" if denominator else "-"


def print_scaling(title, unit, rows):
    print(f"\n{title}")
    header = (
        f"{unit:>7} | {'a time s':>9} {'a queries':>9} | {'b time s':>9} {'b queries':>9} | {'a/b time':>8} "
        f"{'a/b qry':>7} | {'a time x':>8} {'a qry x':>7} {'b time x':>8} {'b qry x':>7}"
    )
    print(header)
    print("-" * len(header))
    previous = None
    for size, (a_time, a_queries, b_time, b_queries) in rows:
        growth = ["", "", "", ""]
        if previous:
            p_a_time, p_a_queries, p_b_time, p_b_queries = previous
            growth = [
                ratio(a_time, p_a_time),
                ratio(a_queries, p_a_queries),
                ratio(b_time, p_b_time),
                ratio(b_queries, p_b_queries),
            ]
        print(
            f"{size:>7} | {a_time:>9.2f} {a_queries:>9} | {b_time:>9.2f} {b_queries:>9} | "
            f"{ratio(a_time, b_time):>8} {ratio(a_queries, b_queries):>7} | "
            f"{growth[0]:>8} {growth[1]:>7} {growth[2]:>8} {growth[3]:>7}"
        )
        previous = (a_time, a_queries, b_time, b_queries)
    print(f"(x columns: ratio to the previous {unit} size)")


def run(env, args, sizes, cancel_by_hand):
    cr = env.cr
    max_lines = max(
        args.lines, args.batch_lines, *sizes["lines"], *(size[0] for size in sizes["documents"]), sizes["plan"][0]
    )
    started = time.perf_counter()
    builder = Builder(env, max_lines)

    def built(*spec, **options):
        start = time.perf_counter()
        orders = builder.orders(*spec, **options)
        env.flush_all()
        print(f"  built {spec[0]} order(s) of {spec[1]} lines in {time.perf_counter() - start:.1f} s", flush=True)
        return orders

    # The first run of each kind fills the registry's caches (access rules, views, templates):
    # done once here on a small order so that no measurement below pays for it.
    with contextlib.closing(cr.savepoint()):
        compare(env, builder.orders(1, 2), cancel_by_hand)

    if "single" in args.sections:
        n, k, p, d = args.lines, min(args.invoices, args.lines), args.payments, args.deliveries
        print(f"\nOne order: {n} lines, {k} invoices, {p} payment(s) each, {d} deliveries", flush=True)
        with contextlib.closing(cr.savepoint()):
            a_time, a_queries, b_time, b_queries = compare(env, built(1, n, k, p, d), cancel_by_hand)
        print(f"{'':14} {'time s':>8} {'queries':>8}")
        print(f"{'(a) wizard':14} {a_time:>8.2f} {a_queries:>8}")
        print(f"{'(b) by hand':14} {b_time:>8.2f} {b_queries:>8}")
        print(f"{'ratio a/b':14} {ratio(a_time, b_time):>8} {ratio(a_queries, b_queries):>8}")

    if "lines" in args.sections:
        rows = []
        for lines in sizes["lines"]:
            with contextlib.closing(cr.savepoint()):
                rows.append((lines, compare(env, built(1, lines), cancel_by_hand)))
        print_scaling("Scaling with lines: one order, 1 invoice, 1 payment, 1 delivery", "lines", rows)

    if "documents" in args.sections:
        rows = []
        for lines, invoices, payments in sizes["documents"]:
            with contextlib.closing(cr.savepoint()):
                order = built(1, lines, invoices, payments)
                rows.append((f"{invoices}x{payments}", compare(env, order, cancel_by_hand)))
        lines = sizes["documents"][0][0]
        print_scaling(f"Scaling with invoices x payments per invoice: one order of {lines} lines", "docs", rows)

    if "selections" in args.sections:
        rows = []
        # The dialog sends a selection from the company's threshold on to the background; here it
        # cancels the whole selection in its transaction, as the standard operations do (never
        # committed, like everything here). bench_batch.py measures the background.
        env.company.cancel_reconciled_background_from = max(sizes["batches"]) + 1
        for count in sizes["batches"]:
            with contextlib.closing(cr.savepoint()):
                rows.append((count, compare(env, built(count, args.batch_lines), cancel_by_hand)))
        print_scaling(f"Scaling with batches: orders of {args.batch_lines} lines, 1 invoice each", "orders", rows)

    if "plan" in args.sections:
        measure_plan(env, sizes["plan"], built)
    cr.rollback()
    print(f"\nTotal {time.perf_counter() - started:.0f} s; nothing was committed.")


def measure_plan(env, size, built):
    """The plan and the preview of one big order, cold and warm (read only)."""
    cr = env.cr
    lines, invoices = size
    print(f"\nPlan of one order of {lines} lines, {invoices} invoices, 1 payment each (read only)", flush=True)
    with contextlib.closing(cr.savepoint()):
        order = built(1, lines, invoices)
        wizard = env["sale.order.cancel.reconciled"].create({"order_ids": [(6, 0, order.ids)]})
        print(f"{'':34} {'time s':>8} {'queries':>8}")
        engine = env["order.cancel.reconciled.engine"].sudo()
        options = wizard._prepare_options()

        def plan():
            return engine._prepare_plans(order, options)

        elapsed, queries, _state = measure(env, plan)
        print(f"{'_prepare_plans(), cold cache':34} {elapsed:>8.3f} {queries:>8}")
        plan()  # the record cache is now warm: what a second call costs
        start_queries, start = cr.sql_log_count, time.perf_counter()
        plan()
        elapsed, queries = time.perf_counter() - start, cr.sql_log_count - start_queries
        print(f"{'_prepare_plans(), warm cache':34} {elapsed:>8.3f} {queries:>8}")
        if "preview_html" in wizard._fields:
            # The preview the wizard shows on opening (computed from the same plans): cold, then
            # again with the records read (what the dialog's next change of an option costs).
            elapsed, queries, _state = measure(env, lambda: wizard.preview_html)
            print(f"{'preview_html, cold cache':34} {elapsed:>8.3f} {queries:>8}")
            _preview = wizard.preview_html
            wizard.invalidate_recordset(["preview_html"])
            start_queries, start = cr.sql_log_count, time.perf_counter()
            _preview = wizard.preview_html
            elapsed, queries = time.perf_counter() - start, cr.sql_log_count - start_queries
            print(f"{'preview_html, warm cache':34} {elapsed:>8.3f} {queries:>8}")


def main():
    args = parse_args()
    dbname = args.db or create_database(args)
    import odoo
    from odoo import api
    from odoo.tools import config

    config.parse_config(["-c", args.conf, "-d", dbname, "--log-level=warn"])
    # 19.0: importing odoo does not load odoo.modules; 18.0 as well with the explicit import.
    from odoo.modules.registry import Registry

    registry = Registry(dbname)
    cancel_by_hand = load_standard_path(args)
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        if env["ir.module.module"].search([("name", "=", ADDON)]).state != "installed":
            sys.exit(f"{ADDON} is not installed in {dbname}")
        admin = env.ref("base.user_admin")
        env = env(user=admin, context=admin.context_get())
        cores = len(os.sched_getaffinity(0))
        print(f"Odoo {args.series}, database {dbname}, {cores} core(s), {'quick' if args.quick else 'full'} sizes;")
        print("(a) the wizard")
        print("(payments kept, returns validated), (b) the same by hand: unreconcile each match,")
        print("_reverse_moves(cancel=True) per invoice, _action_cancel, stock.return.picking per delivery.")
        try:
            run(env, args, QUICK if args.quick else FULL, cancel_by_hand)
        finally:
            cr.rollback()
    if not args.db:
        print(f"Database {dbname} kept for a faster next run: --db {dbname}")


if __name__ == "__main__":
    main()
