#!/usr/bin/env bash
# Upgrade check: install the previous version of the addon as it was first released (the commit
# that introduced that version number), cancel orders with it so that the database holds logs,
# then upgrade in place (-u) to the current version and check that every log is kept, the
# migration ran and the upgraded addon works.
# Usage: check_upgrade.sh DATABASE (created and dropped here).
# Both series (SERIES, scripts/env.sh), each from its own previous release: the checks marked with
# a version are what that version's migration or data brought; those of 18.0's early versions
# hold on 19.0 from its first version.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

db="$1"
version=$(sed -n 's/.*"version": "\([0-9.]*\)".*/\1/p' "$ADDONS_DIR/$ADDON/__manifest__.py")
# The previous release, the one administrators run: on 18.0 the oldest still in use (18.0.1.2.0
# was a development version, never released: see readme/HISTORY.md), so that every migration
# runs; on 19.0 its first version.
case "$SERIES" in
    18.0) default_release=18.0.1.1.0 ;;
    *) default_release="$SERIES.1.0.0" ;;
esac
old_version="${PREVIOUS_RELEASE:-$default_release}"
# The series' addons as git names them: "." (18.0) or "19.0".
addons_folder=$(realpath --relative-to="$ROOT" "$ADDONS_DIR")
manifest="$addons_folder/$ADDON/__manifest__.py"
release=$(git log --format=%H --reverse -S"\"version\": \"$old_version\"" -- "$manifest" | sed -n 1p)
[ -n "$release" ] && git cat-file -e "$release" 2>/dev/null \
    || die "The commit of version $old_version is not in this clone (a shallow clone?): fetch the history."
old_dir=$(mktemp -d)
trap 'rm -rf "$old_dir"; dropdb --if-exists "$db" 2>/dev/null || true' EXIT
git archive "$release" "$addons_folder/$ADDON" | tar -x -C "$old_dir"
old_addons="$old_dir/$addons_folder"
addons_core="$ODOO_CORE_ADDONS"

say "Installing $ADDON $old_version (commit ${release:0:8}) in $db and cancelling orders with it"
"$PYTHON" "$ODOO_BIN" -c "$ODOO_CONF" --addons-path="$addons_core,$old_addons" -d "$db" -i "$ADDON" \
    --stop-after-init --log-level=warn
"$PYTHON" "$ODOO_BIN" shell -c "$ODOO_CONF" --addons-path="$addons_core,$old_addons" -d "$db" --no-http \
    --log-level=warn < scripts/demo_data.py
"$PYTHON" "$ODOO_BIN" shell -c "$ODOO_CONF" --addons-path="$addons_core,$old_addons" -d "$db" --no-http \
    --log-level=warn <<'PY'
orders = env["sale.order"].search([("client_order_ref", "in", ["paid and delivered", "paid in EUR"])])
wizard = env["sale.order.cancel.reconciled"].create({"order_ids": [(6, 0, orders.ids)], "payment_action": "refund"})
wizard.action_confirm()
env.cr.commit()
PY

snapshot='
logs = env["sale.order.cancel.reconciled.log"].search([], order="id")
print("SNAPSHOT", [(log.order_id.name, log.state, len(log.line_ids), round(log.amount_reversed, 2)) for log in logs])
'
before=$(echo "$snapshot" | "$PYTHON" "$ODOO_BIN" shell -c "$ODOO_CONF" --addons-path="$addons_core,$old_addons" \
    -d "$db" --no-http --log-level=warn | grep '^SNAPSHOT')

say "Upgrading $db to $version"
odoo -d "$db" -u "$ADDON" --stop-after-init --log-level=warn

"$PYTHON" "$ODOO_BIN" shell -c "$ODOO_CONF" -d "$db" --no-http --log-level=warn <<PY | tee "$LOCAL/upgrade.log"
results = []
def check(name, ok):
    results.append(bool(ok))
    print(("PASS" if ok else "FAIL") + ": " + name)

$snapshot
logs = env["sale.order.cancel.reconciled.log"].search([], order="id")
after = "SNAPSHOT " + str([(log.order_id.name, log.state, len(log.line_ids), round(log.amount_reversed, 2)) for log in logs])
check("the logs of $old_version are there before the upgrade", len(logs) == 2)
check("every log and log line is kept by the upgrade", after == """$before""")
module = env["ir.module.module"].search([("name", "=", "$ADDON")])
check("the installed version is $version", module.latest_version == "$version" and module.state == "installed")
check("the logs say they record sale orders (18.0.2.0.0)", logs and set(logs.mapped("order_kind")) == {"sale"} and all(logs.mapped("order_id")))
group = env.ref("$ADDON.group_cancel_reconciled")
if "privilege_id" in group._fields:  # 19.0: a privilege of its own in the Sales category
    check("the group has a privilege of its own (19.0.1.0.0)",
          group.privilege_id == env.ref("$ADDON.res_groups_privilege_cancel_reconciled"))
else:
    check("the group has a category of its own (18.0.2.0.0)",
          group.category_id == env.ref("$ADDON.module_category_cancel_reconciled"))
check("the Sales app is installed with it (18.0.2.0.0)", env["ir.module.module"].search([("name", "=", "sale_management")]).state == "installed")
template = env.ref("$ADDON.mail_template_order_cancel_reconciled")
check("the migration updated the customer message", "cancel_reconciled_log_ids" not in template.body_html)
check("the customer message says how refunds go back (18.0.2.0.0)", "cancel_reconciled_refunds" in template.body_html)
order = env["sale.order"].search([("client_order_ref", "=", "partially delivered, paid")])
wizard = env["sale.order.cancel.reconciled"].create({"order_ids": [(6, 0, order.ids)], "notify_customer": True})
wizard.action_confirm()
check("the upgraded addon cancels an order", order.state == "cancel" and len(order.cancel_reconciled_log_ids) == 1)
rule = env.ref("$ADDON.sale_order_cancel_reconciled_log_rule_member")
check("members see the logs of the scheduled actions (18.0.2.1.0)", "('user_id', '=', 1)" in rule.domain_force)
check("every log has a reason, the documented one when none was given (18.0.2.2.0)",
      set(logs.mapped("reason_id")) == {env.ref("$ADDON.reason_not_given")})
check("every log says who started it: the dialog before 18.0.2.2.0", set(logs.mapped("channel")) == {"backoffice"})
check("the reason given to none says no reason, not who (18.0.2.5.0, 19.0.1.3.0)",
      env.ref("$ADDON.reason_not_given").name == "No reason given")
check("the one-click list action is gone (18.0.2.2.0)",
      not env.ref("$ADDON.sale_order_action_cancel_reconciled_with_defaults", raise_if_not_found=False))
portal_reasons = env["sale.order.cancel.reconciled.reason"].search([("show_on_portal", "=", True)])
check("customers have reasons to choose on the portal (18.0.2.0.0)", env.ref("$ADDON.reason_order_error") in portal_reasons)
menu_groups = "group_ids" if "group_ids" in env["ir.ui.menu"]._fields else "groups_id"
billing_admin = env.ref("account.group_account_manager")
accounting_menu = env.ref("$ADDON.sale_order_cancel_reconciled_analysis_menu_accounting", raise_if_not_found=False)
check("billing administrators have the analysis in Invoicing > Reporting (18.0.2.3.0, 19.0.1.1.0)",
      accounting_menu and accounting_menu[menu_groups] == billing_admin
      and accounting_menu.parent_id == env.ref("account.account_reports_management_menu"))
sales_menu = env.ref("$ADDON.sale_order_cancel_reconciled_analysis_menu")
check("the Sales entry is for members and sales administrators only (18.0.2.3.0, 19.0.1.1.0)",
      billing_admin not in sales_menu[menu_groups] and group in sales_menu[menu_groups])
env.cr.rollback()
failed = results.count(False)
print(f"upgrade: {len(results) - failed} passed, {failed} failed")
PY
grep -q "^upgrade: [0-9]* passed, 0 failed" "$LOCAL/upgrade.log" || die "The upgrade check failed (see above)."
