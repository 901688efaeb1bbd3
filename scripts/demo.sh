#!/usr/bin/env bash
# The demo command: set-up if needed, a demo database with both addons (sales and purchase) and a
# ready scenario (created once, reused afterwards), then Odoo served on http://localhost:8069.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh

db="${DEMO_DB:-ocr_demo}"
if ! psql -lqt | cut -d'|' -f1 | grep -qw "$db"; then
    say "Creating the demo database $db with $ADDON and $PURCHASE_ADDON"
    odoo -d "$db" -i "$ADDON,$PURCHASE_ADDON,payment_demo" --stop-after-init --log-level=warn
elif [ "$(psql -d "$db" -tAc "SELECT state FROM ir_module_module WHERE name = '$PURCHASE_ADDON'")" != installed ]; then
    say "Adding $PURCHASE_ADDON to the demo database $db (created before it existed)"
    odoo -d "$db" -i "$PURCHASE_ADDON" --stop-after-init --log-level=warn
fi
say "Loading the demonstration scenario (skipped when already there)"
"$PYTHON" "$ODOO_BIN" shell -c "$ODOO_CONF" -d "$db" --no-http --log-level=warn < scripts/demo_data.py

cat <<MSG

Odoo 18.0 with $ADDON and $PURCHASE_ADDON is starting on http://localhost:8069
  Log in as admin / admin (database $db).
  Sales > Orders > Orders: open the order marked "paid and delivered" and click "Cancel Reconciled Order".
  Invoicing > Review > Cancelled Reconciled Orders: the logs to review (also Sales > Orders >
  Cancelled Reconciled Orders for the members who ran them).
  Sales > Configuration > Settings > Cancelling Paid Orders: the company's defaults and the
  portal requests' rules.
  Portal: log in as portal_demo / portal_demo (another browser), My Account > Sales Orders: the
  order marked "cancellation requested on the portal" waits; Sales > Orders > Cancellation
  Requests (admin): approve or refuse it.
  The order marked "paid online (demo provider)": cancel it with "Refund the customer" and the
  money goes back through the provider (Invoicing > Review: the log's Payments tab).
  Purchase > Orders > Purchase Orders: open the order of "Demo Vendor (paid PO to cancel)"
  (received, billed and paid) and click "Cancel Reconciled Order"; its log is under Invoicing >
  Review > Cancelled Reconciled Orders (filter "Purchase Orders"; "Sale Orders" for the others)
  and Purchase > Orders > Cancelled Reconciled Orders.
Stop the server with Ctrl+C.

MSG
exec "$PYTHON" "$ODOO_BIN" -c "$ODOO_CONF" -d "$db" --db-filter="^$db\$" --log-level=info
