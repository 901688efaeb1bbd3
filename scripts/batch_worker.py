"""A background worker for batches, as a separate OS process: what Odoo's scheduler does with the
addon's scheduled action, call after call, each in its own committed transaction.

Usage: batch_worker.py ODOO_CONF DATABASE [IDLE_SECONDS]
Runs until no order of any batch is queued (waiting for orders scheduled for a later try), or
until nothing was due for IDLE_SECONDS (default 120). Used by scripts/check_batch_workers.py and
bench/bench_batch.py to run one, two or a killed worker against the same batches.
"""

import sys
import time

import odoo
from odoo import api
from odoo.modules.registry import Registry
from odoo.tools import config

LINE = "sale.order.cancel.reconciled.batch.line"


def main(conf, dbname, idle_seconds=120):
    config.parse_config(["-c", conf, "-d", dbname, "--log-level=warn"])
    registry = Registry(dbname)
    idle_since = time.monotonic()
    while True:
        with registry.cursor() as cr:
            env = api.Environment(cr, odoo.SUPERUSER_ID, {})
            # The scheduled action's own method: one order per call, committed when the cursor closes.
            line = env[LINE]._cron_process()
            queued = bool(line) or bool(env[LINE].search_count([("state", "=", "queued")], limit=1))
        if not queued:
            return 0
        if line:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > float(idle_seconds):
            print("batch_worker: orders still queued but none due; giving up", file=sys.stderr)
            return 1
        else:
            time.sleep(0.5)  # only orders waiting for a later try are left


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
