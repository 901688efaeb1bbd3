"""Where the time of one small cancellation goes: Odoo's steps, both ways, and the engine's own work.

Usage: .venv/bin/python bench/bench_breakdown.py --db ocr_bench [--sizes 1 10] [--repeats 12]
       .venv-19.0/bin/python bench/bench_breakdown.py --series 19.0 --db ocr19_bench

bench_cancel.py compares whole cancellations; on an order of a few lines the two sides differ by
less than one run varies. This script times the parts instead: (a) the wizard and (b) the same by
hand, alternately on fresh orders of the same shape (1 invoice, 1 payment, 1 delivery), each
rolled back, and the median of each part over the repetitions. The parts are timed by wrapping the
methods for the length of the run; nothing else changes. Prints milliseconds; asserts nothing.
"""

import argparse
import contextlib
import functools
import statistics
import time
from collections import defaultdict

# Run as a script, its folder comes first on the path: bench_cancel.py beside it is importable.
import bench_cancel

# Odoo's own operations, timed on both sides: (model, method, label).
ODOO_STEPS = (
    ("account.partial.reconcile", "unlink", "unreconcile (partial unlink)"),
    ("account.move", "_reverse_moves", "credit notes (_reverse_moves)"),
    ("sale.order", "_action_cancel", "order cancelled (_action_cancel)"),
    ("stock.return.picking", "_create_return", "return created (_create_return)"),
    ("stock.picking", "button_validate", "return validated (button_validate)"),
)
# What only the wizard does, outside Odoo's operations above.
ENGINE_WORK = (
    ("sale.order.cancel.reconciled", "create", "the dialog's record"),
    ("order.cancel.reconciled.engine", "_queue_behind_shared_rows", "queue behind shared rows"),
    ("order.cancel.reconciled.engine", "_lock_orders", "lock of orders and invoices"),
    ("order.cancel.reconciled.engine", "_prepare_plans", "plan and its blocking findings"),
    ("order.cancel.reconciled.engine", "_forget_paid_documents", "freed payments' invoices"),
    ("order.cancel.reconciled.engine", "_write_log_lines", "log lines"),
    ("order.cancel.reconciled.engine", "_step_post_chatter", "chatter notes"),
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", default="18.0", choices=sorted(bench_cancel.SERIES))
    parser.add_argument("--db", required=True, help="a database with the addon (bench_cancel.py makes one)")
    parser.add_argument("--conf", help="Odoo configuration file (default: the series' .local folder's)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10], help="order lines, one table each")
    parser.add_argument("--repeats", type=int, default=12, help="orders cancelled each way per size")
    parser.add_argument(
        "--superuser",
        action="store_true",
        help="both ways as OdooBot (no access rights or rules checked) instead of the administrator",
    )
    args = parser.parse_args()
    folder, suffix, _prefix = bench_cancel.SERIES[args.series]
    args.addons_dir = bench_cancel.ROOT / folder
    args.conf = args.conf or str(bench_cancel.ROOT / f".local{suffix}" / "odoo.conf")
    return args


@contextlib.contextmanager
def timed(env, parts, spent):
    """Wrap each (model, method) so that its time is added to spent[label] while the block runs;
    a part called inside another counts in both (they are listed, not summed)."""
    originals = []
    for model, method, label in parts:
        cls = type(env[model])
        original = cls.__dict__.get(method)
        function = getattr(cls, method)

        def wrapper(*args, _function=function, _label=label, **kwargs):
            start = time.perf_counter()
            try:
                return _function(*args, **kwargs)
            finally:
                spent[_label] += time.perf_counter() - start

        # The ORM reads its decorators' marks (model_create_multi...) from the function's attributes.
        setattr(cls, method, functools.wraps(function)(wrapper))
        originals.append((cls, method, original))
    try:
        yield
    finally:
        for cls, method, original in reversed(originals):
            if original is None:
                delattr(cls, method)
            else:
                setattr(cls, method, original)


def breakdown(env, builder, lines, repeats, cancel_by_hand):
    """Median milliseconds of each part, per side: {side: {label: ms}}."""
    samples = {"a": defaultdict(list), "b": defaultdict(list)}

    def wizard(orders):
        env["sale.order.cancel.reconciled"].with_context(active_model="sale.order", active_ids=orders.ids).create(
            {"stock_action": "return_validate"}
        ).action_confirm()

    ways = {"a": wizard, "b": cancel_by_hand}
    for repeat in range(repeats):
        # In turn, each side first every other time: the first run of an order warms the database.
        for side in ("a", "b") if repeat % 2 == 0 else ("b", "a"):
            orders = builder.orders(1, lines)
            spent = defaultdict(float)
            with timed(env, ODOO_STEPS + (ENGINE_WORK if side == "a" else ()), spent):
                elapsed = bench_cancel.measure(env, lambda orders=orders, side=side: ways[side](orders))[0]
            spent["total"] = elapsed
            for label, seconds in spent.items():
                samples[side][label].append(seconds)
    return {
        side: {label: 1000 * statistics.median(values) for label, values in parts.items()}
        for side, parts in samples.items()
    }


def print_breakdown(lines, repeats, medians):
    a, b = medians["a"], medians["b"]

    def row(label, a_ms, b_ms=None):
        b_text = "" if b_ms is None else f"{b_ms:.1f}"
        print(f"{label:<40} {a_ms:>10.1f} {b_text:>11} {a_ms - (b_ms or 0.0):>+7.1f}")

    print(f"\nOne order of {lines} line(s), 1 invoice, 1 payment, 1 delivery: median ms of {repeats} each way")
    print(f"{'part':<40} {'(a) wizard':>10} {'(b) by hand':>11} {'a - b':>7}")
    print("-" * 71)
    steps_a = sum(a.get(label, 0.0) for _model, _method, label in ODOO_STEPS)
    steps_b = sum(b.get(label, 0.0) for _model, _method, label in ODOO_STEPS)
    for _model, _method, label in ODOO_STEPS:
        row(label, a.get(label, 0.0), b.get(label, 0.0))
    row("  Odoo steps, summed", steps_a, steps_b)
    # None of the engine's parts runs inside another: their sum is the engine's own work.
    own = sum(a.get(label, 0.0) for _model, _method, label in ENGINE_WORK)
    for _model, _method, label in ENGINE_WORK:
        row(label, a.get(label, 0.0))
    row("  engine own work, summed", own)
    row("the rest (reads, flush, tracking...)", a["total"] - steps_a - own, b["total"] - steps_b)
    row("total", a["total"], b["total"])
    print(f"a/b time: {a['total'] / b['total']:.3f}")


def main():
    args = parse_args()
    import odoo
    from odoo import api
    from odoo.tools import config

    config.parse_config(["-c", args.conf, "-d", args.db, "--log-level=warn"])
    from odoo.modules.registry import Registry

    registry = Registry(args.db)
    cancel_by_hand = bench_cancel.load_standard_path(args)
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        if not args.superuser:
            # A person: Odoo's operations by hand check their rights and record rules; the
            # engine checks them once, then runs elevated.
            admin = env.ref("base.user_admin")
            env = env(user=admin, context=admin.context_get())
        print(f"Odoo {args.series}, database {args.db}, as {env.user.name}")
        try:
            builder = bench_cancel.Builder(env, max(args.sizes))
            # Registry caches and the database warmed once, both ways, before anything is timed.
            breakdown(env, builder, 2, 1, cancel_by_hand)
            for lines in args.sizes:
                print_breakdown(lines, args.repeats, breakdown(env, builder, lines, args.repeats, cancel_by_hand))
        finally:
            cr.rollback()


if __name__ == "__main__":
    main()
