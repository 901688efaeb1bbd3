#!/usr/bin/env bash
# Odoo's own post-install tests, each run on a database without our addons and on one with them;
# fails on any test that fails only with the addons. Two pairs of databases:
# - sale: sale, sale_stock and sale_management (and account's payment and reconciliation classes)
#   on sale_management,sale_stock, the plain one and one with order_cancel_reconciled: a database
#   that only sells, without the Purchase app;
# - purchase: purchase and purchase_stock on sale_management,sale_stock,purchase_stock, the plain
#   one and one with order_cancel_reconciled and purchase_order_cancel_reconciled.
# The two databases of a pair must hold the same Odoo modules, only ours apart (checked).
# Of the series SERIES (scripts/env.sh): its Odoo, venv, odoo.conf (the series' addons folder) and
# database names (<DB_PREFIX>_core_<pair>_<plain|addon>_<pid>); the logs go to $LOCAL/core_suites.
# Usage: check_core_suites.sh [TEST_TAGS]   (default: those suites; of given tags, those of a
# purchase module, e.g. post_install/purchase_stock:TestX, run on the purchase pair, the others on
# the sale pair, and a pair given none is skipped)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

# The three sale suites, and account's payment, registration and reconciliation classes.
sale_tags="post_install/sale,post_install/sale_stock,post_install/sale_management"
sale_tags+=",post_install/account:TestAccountPayment,post_install/account:TestAccountPaymentRegister"
sale_tags+=",post_install/account:TestAccountMoveReconcile"
purchase_tags="post_install/purchase,post_install/purchase_stock"
if [ $# -gt 0 ]; then
    sale_tags="" purchase_tags=""
    IFS=, read -ra given <<< "$1"
    for tag in "${given[@]}"; do
        [ -n "$tag" ] || continue
        # [-][tag][/module][:class][.method]
        if [[ $(sed -nE 's#^[^/]*/([^:.]*).*$#\1#p' <<< "$tag") == purchase* ]]; then
            purchase_tags+="${purchase_tags:+,}$tag"
        else
            sale_tags+="${sale_tags:+,}$tag"
        fi
    done
    [ -n "$sale_tags$purchase_tags" ] || die "no test tags in '$1'"
fi
run="$$"
out="$LOCAL/core_suites"
mkdir -p "$out"
cleanup() {
    for d in sale_plain sale_addon purchase_plain purchase_addon; do
        dropdb --if-exists "${DB_PREFIX}_core_${d}_$run" 2>/dev/null || true
    done
}
trap cleanup EXIT

# The runner logs "<test module>: FAIL: Class.test" (or ERROR:) once per failing test.
failures() {
    grep -E " (ERROR|CRITICAL) [^ ]+ [^ ]+: (FAIL|ERROR): " "$1" \
        | sed -E 's/^.* (ERROR|CRITICAL) [^ ]+ ([^ ]+: (FAIL|ERROR): .*)$/\2/' | sort -u || true
}

installed() { psql -d "$1" -XAtc "SELECT name FROM ir_module_module WHERE state = 'installed'" | sort; }

suite() {  # suite NAME MODULES_TO_INSTALL TAGS
    local name=$1 install=$2 tags=$3 db="${DB_PREFIX}_core_$1_$run" log="$out/$1.log" started=$SECONDS
    say "Core suites ($tags) on a database with $install"
    set +e
    odoo -d "$db" -i "$install" --test-enable --test-tags "$tags" --stop-after-init \
        --log-level=test --max-cron-threads=0 > "$log" 2>&1
    local status=$?
    set -e
    local ran
    ran=$(grep -oE "[0-9]+ post-tests in [0-9.]+s" "$log" | tail -1 || true)
    echo "$name: exit $status, ${ran:-no post-tests line}, $(failures "$log" | wc -l) failing, $((SECONDS - started)) s (log: $log)"
    grep -q "post-tests in" "$log" || { echo "FAILED: no post-install tests ran on $db (see $log)" >&2; exit 1; }
}

failed=0
pair() {  # pair NAME ODOO_MODULES OUR_ADDONS TAGS
    local name=$1 modules=$2 ours=$3 tags=$4
    suite "${name}_plain" "$modules" "$tags"
    suite "${name}_addon" "$modules,$ours" "$tags"
    local plain="${DB_PREFIX}_core_${name}_plain_$run" addon="${DB_PREFIX}_core_${name}_addon_$run" only_plain only_addon new
    only_plain=$(comm -23 <(installed "$plain") <(installed "$addon") | paste -sd, -)
    only_addon=$(comm -13 <(installed "$plain") <(installed "$addon") | paste -sd, -)
    if [ -n "$only_plain" ] || [ "$only_addon" != "$(tr , '\n' <<< "$ours" | sort | paste -sd, -)" ]; then
        echo "FAILED: the Odoo modules of $plain and $addon differ (only in the plain one: ${only_plain:-none};" \
            "only in the one with $ours: ${only_addon:-none})" >&2
        failed=1
    fi
    new=$(comm -13 <(failures "$out/${name}_plain.log") <(failures "$out/${name}_addon.log"))
    if [ -n "$new" ]; then
        echo "FAILED: Odoo's own tests that fail only with ${ours//,/ and } installed (see $out/${name}_addon.log):" >&2
        echo "$new" >&2
        failed=1
    fi
}

checked=""
if [ -n "$sale_tags" ]; then
    pair sale "sale_management,sale_stock" "$ADDON" "$sale_tags"
    checked=$ADDON
fi
if [ -n "$purchase_tags" ]; then
    pair purchase "sale_management,sale_stock,purchase_stock" "$ADDON,$PURCHASE_ADDON" "$purchase_tags"
    checked="$ADDON or $PURCHASE_ADDON"
fi
[ "$failed" = 0 ] || exit 1
echo "core-suites: no failure caused by $checked"
