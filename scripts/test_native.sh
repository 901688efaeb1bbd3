#!/usr/bin/env bash
# The same tests (both addons': the sales one and the purchase one) with Odoo's own runner, in a
# fresh database that is dropped afterwards. Of the series SERIES (scripts/env.sh): its venv,
# odoo.conf (whose addons path holds the series' addons) and database names.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh

db="${DB_PREFIX}_native_$$"
purchase_db="${DB_PREFIX}_native_purchase_$$"
log="$LOCAL/test-native.log"
trap 'dropdb --if-exists "$db" 2>/dev/null || true; dropdb --if-exists "$purchase_db" 2>/dev/null || true' EXIT
say "Running the tests with odoo-bin --test-enable in $db"
odoo -d "$db" -i "$ADDON,$TEST_COMPANIONS" --test-enable --test-tags "/$ADDON" \
    --stop-after-init --log-level=test 2>&1 | tee "$log"
say "Running the purchase addon's tests with odoo-bin --test-enable in $purchase_db"
odoo -d "$purchase_db" -i "$PURCHASE_ADDON,$PURCHASE_TEST_COMPANIONS" --test-enable --test-tags "/$PURCHASE_ADDON" \
    --stop-after-init --log-level=test 2>&1 | tee -a "$log"
if grep -E " (ERROR|CRITICAL) " "$log" >/dev/null; then
    echo "FAILED: errors in the test log ($log)." >&2
    exit 1
fi
if grep -Ei "skipped|skipping" "$log" | grep -v "skipped 0" >/dev/null; then
    echo "FAILED: some tests were skipped ($log)." >&2
    exit 1
fi
grep -E "odoo.tests.result: .*[0-9]+ tests" "$log" || { echo "FAILED: no test ran." >&2; exit 1; }
