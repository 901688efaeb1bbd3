#!/usr/bin/env bash
# The test command: set-up if needed, a fresh database with the sales addon and one with the
# purchase addon, each addon's tests with pytest-odoo in its database (HTTP tests included), the
# background-batch tests again in a database with OCA's queue_job, then the checks that need
# committed data or real processes: install and uninstall of each addon from the Apps menu, two
# transactions on one order, two batch workers (one killed), a queue_job server's worker killed
# mid-job, provider refunds whose worker is killed, a multi-worker server's websocket, a rush of
# cancellations of one product on a multi-worker server, upgrade from the previous version.
# Databases are dropped.
# Of the series SERIES (scripts/env.sh: 18.0, the default, or 19.0): its addons folder, venv,
# odoo.conf and database names (<DB_PREFIX>_test_<pid>...); the upgrade check starts from the
# series' own previous release (scripts/check_upgrade.sh).
# Fails on a failed or skipped test and on an ERROR line in Odoo's log; the pytest summaries are
# repeated last.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh

db="${DB_PREFIX}_test_$$"
apps_db="${DB_PREFIX}_apps_$$"
upgrade_db="${DB_PREFIX}_upgrade_$$"
jobs_db="${DB_PREFIX}_jobs_$$"
purchase_db="${DB_PREFIX}_purchase_$$"
# The addons' folders as pytest is given them, relative to $ROOT: order_cancel_reconciled (18.0),
# 19.0/order_cancel_reconciled (19.0).
addon_dir=$(realpath --relative-to="$ROOT" "$ADDONS_DIR/$ADDON")
purchase_addon_dir=$(realpath --relative-to="$ROOT" "$ADDONS_DIR/$PURCHASE_ADDON")
log="$LOCAL/test.log"
cleanup() { for d in "$db" "$apps_db" "$upgrade_db" "$jobs_db" "$purchase_db"; do dropdb --if-exists "$d" 2>/dev/null || true; done; }
trap cleanup EXIT
: > "$log"

say "Checking the module manifests of the addons path"
"$PYTHON" scripts/check_addons_path.py "$ODOO_CONF" 2>&1 | tee -a "$log"

say "Installing $ADDON (with $TEST_COMPANIONS) in a fresh database $db"
odoo -d "$db" -i "$ADDON,$TEST_COMPANIONS" --stop-after-init --log-level=warn 2>&1 | tee -a "$log"

say "Installing $PURCHASE_ADDON (with $PURCHASE_TEST_COMPANIONS) in a fresh database $purchase_db"
odoo -d "$purchase_db" -i "$PURCHASE_ADDON,$PURCHASE_TEST_COMPANIONS" --stop-after-init --log-level=warn 2>&1 | tee -a "$log"

say "Checking the install and uninstall of $ADDON and $PURCHASE_ADDON from the Apps menu in $apps_db"
odoo -d "$apps_db" -i sale_stock --stop-after-init --log-level=warn 2>&1 | tee -a "$log"
"$PYTHON" scripts/check_apps_install.py "$ODOO_CONF" "$apps_db" 2>&1 | tee -a "$log"

say "Checking the wheels: built, pip-installed in a fresh venv, installed from the Apps menu there"
bash scripts/check_wheels.sh "${DB_PREFIX}_wheels_$$" 2>&1 | tee -a "$log"

say "Installing $ADDON with OCA's queue_job in $jobs_db (the batches' job path)"
odoo -d "$jobs_db" -i "$ADDON,queue_job" --stop-after-init --log-level=warn 2>&1 | tee -a "$log"

say "Running the tests"
jobs_tests="$addon_dir/tests/test_batch_queue_job.py"
set +e
# Odoo logs its warnings and errors (pytest-odoo's default is critical only) straight to the
# output (-s), where the ERROR check below reads them.
"$PYTHON" -m pytest -p no:cacheprovider -rs -s --odoo-http --odoo-log-level=warn \
    --odoo-database="$db" --odoo-config="$ODOO_CONF" --ignore="$jobs_tests" "$addon_dir/tests" "$@" 2>&1 | tee -a "$log"
status=${PIPESTATUS[0]}
say "Running the purchase addon's tests in $purchase_db"
"$PYTHON" -m pytest -p no:cacheprovider -rs -s --odoo-http --odoo-log-level=warn \
    --odoo-database="$purchase_db" --odoo-config="$ODOO_CONF" "$purchase_addon_dir/tests" "$@" 2>&1 | tee -a "$log"
purchase_status=${PIPESTATUS[0]}
[ "$status" -ne 0 ] || status=$purchase_status
say "Running the queue_job tests in $jobs_db"
"$PYTHON" -m pytest -p no:cacheprovider -rs -s --odoo-http --odoo-log-level=warn \
    --odoo-database="$jobs_db" --odoo-config="$ODOO_CONF" "$jobs_tests" 2>&1 | tee -a "$log"
jobs_status=${PIPESTATUS[0]}
[ "$status" -ne 0 ] || status=$jobs_status
set -e

say "Checking two users on one order at once in $db (the tests above leave no data there)"
"$PYTHON" scripts/check_concurrency.py "$ODOO_CONF" "$db" 2>&1 | tee -a "$log"

say "Checking two background workers on one batch, one killed with SIGKILL, in $db"
"$PYTHON" scripts/check_batch_workers.py "$ODOO_CONF" "$db" 2>&1 | tee -a "$log"

say "Checking a batch run by queue_job on a server with workers, the worker of a running job killed with SIGKILL, in $jobs_db (the queue_job tests above leave no data there)"
"$PYTHON" scripts/check_queue_job_workers.py "$ODOO_CONF" "$jobs_db" 2>&1 | tee -a "$log"

say "Checking provider refunds when the worker sending them is killed with SIGKILL, in $db"
"$PYTHON" scripts/check_refund_crash.py "$ODOO_CONF" "$db" 2>&1 | tee -a "$log"

say "Checking the websocket of a server with workers (live progress of batches) on $db"
"$PYTHON" scripts/check_websocket.py "$ODOO_CONF" "$db" 2>&1 | tee -a "$log"

say "Checking a rush: 8 clients (JSON-RPC and the dialog) cancelling 30 paid, delivered orders of one product on a server with --workers=4, in $db"
"$PYTHON" scripts/check_rush.py "$ODOO_CONF" "$db" --orders 30 --clients 8 --workers 4 2>&1 | tee -a "$log"

say "Checking the upgrade from the previous version in $upgrade_db"
bash scripts/check_upgrade.sh "$upgrade_db" 2>&1 | tee -a "$log"

# pytest-odoo imports Odoo's test framework before Odoo is in test mode, and Odoo logs that one
# line as an ERROR (--test-enable would make Odoo run every installed module's own tests): it is
# the only line left out of the check.
errors=$(grep -E "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:,]+ [0-9]+ (ERROR|CRITICAL) " "$log" \
    | grep -v "odoo.tests.common: Importing test framework, avoid importing from business modules" || true)
if [ -n "$errors" ]; then
    echo "FAILED: Odoo logged errors during the run (see $log):" >&2
    echo "$errors" | head -20 >&2
    # Each error again with its traceback, last, where a truncated CI output still shows it.
    echo "The errors with their tracebacks:" >&2
    stamp='[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9:,]+ [0-9]+'
    awk -v stamp="$stamp" '
        $0 ~ stamp " (ERROR|CRITICAL) " && !/Importing test framework, avoid importing/ {keep = 1; n = 0; print; next}
        $0 ~ stamp " [A-Z]+ " {keep = 0}
        keep && n < 60 {print; n++}' "$log" | tail -120 >&2
    exit 1
fi
if grep -E "^=+ .*[0-9]+ skipped" "$log" >/dev/null; then
    echo "FAILED: some tests were skipped; every test must run (see the SKIPPED lines above)." >&2
    exit 1
fi
grep -E "^=+ .*(passed|failed|error).* in [0-9.]+s" "$log" | tail -3
exit "$status"
