#!/usr/bin/env bash
# The demo command: set-up if needed, a demo database with the addon and a ready scenario
# (created once, reused afterwards), then Odoo served on http://localhost:8069.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh

db="${DEMO_DB:-ocr_demo}"
if ! psql -lqt | cut -d'|' -f1 | grep -qw "$db"; then
    say "Creating the demo database $db with $ADDON"
    odoo -d "$db" -i "$ADDON,payment_demo" --stop-after-init --log-level=warn
fi
say "Loading the demonstration scenario (skipped when already there)"
"$PYTHON" "$ODOO_BIN" shell -c "$ODOO_CONF" -d "$db" --no-http --log-level=warn < scripts/demo_data.py

cat <<MSG

Odoo 18.0 with $ADDON is starting on http://localhost:8069
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
Stop the server with Ctrl+C.

MSG
exec "$PYTHON" "$ODOO_BIN" -c "$ODOO_CONF" -d "$db" --db-filter="^$db\$" --log-level=info
