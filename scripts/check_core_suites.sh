#!/usr/bin/env bash
# Odoo's own post-install tests of sale, sale_stock and sale_management (and account's payment and
# reconciliation classes), run on a database without the addon and on one with it; fails on any
# test that fails only with the addon.
# Usage: check_core_suites.sh [TEST_TAGS]   (default: those suites)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

# The three sale suites, and account's payment, registration and reconciliation classes.
default_tags="post_install/sale,post_install/sale_stock,post_install/sale_management"
default_tags+=",post_install/account:TestAccountPayment,post_install/account:TestAccountPaymentRegister"
default_tags+=",post_install/account:TestAccountMoveReconcile"
tags="${1:-$default_tags}"
modules="sale_management,sale_stock"
run="$$"
out="$LOCAL/core_suites"
mkdir -p "$out"
cleanup() { for d in "ocr_core_plain_$run" "ocr_core_addon_$run"; do dropdb --if-exists "$d" 2>/dev/null || true; done; }
trap cleanup EXIT

# The runner logs "<test module>: FAIL: Class.test" (or ERROR:) once per failing test.
failures() {
    grep -E " (ERROR|CRITICAL) [^ ]+ [^ ]+: (FAIL|ERROR): " "$1" \
        | sed -E 's/^.* (ERROR|CRITICAL) [^ ]+ ([^ ]+: (FAIL|ERROR): .*)$/\2/' | sort -u || true
}

suite() {  # suite NAME MODULES_TO_INSTALL
    local name=$1 install=$2 db="ocr_core_$1_$run" log="$out/$1.log" started=$SECONDS
    say "Core suites ($tags) on a database with $install"
    set +e
    odoo -d "$db" -i "$install" --test-enable --test-tags "$tags" --stop-after-init \
        --log-level=test --max-cron-threads=0 > "$log" 2>&1
    local status=$?
    set -e
    local ran
    ran=$(grep -oE "[0-9]+ post-tests in" "$log" | tail -1 || true)
    echo "$name: exit $status, ${ran:-no post-tests line}, $(failures "$log" | wc -l) failing, $((SECONDS - started)) s (log: $log)"
    grep -q "post-tests in" "$log" || { echo "FAILED: no post-install tests ran on $db (see $log)" >&2; exit 1; }
}

suite plain "$modules"
suite addon "$modules,$ADDON"

new=$(comm -13 <(failures "$out/plain.log") <(failures "$out/addon.log"))
if [ -n "$new" ]; then
    echo "FAILED: Odoo's own tests that fail only with $ADDON installed:" >&2
    echo "$new" >&2
    exit 1
fi
echo "core-suites: no failure caused by $ADDON"
