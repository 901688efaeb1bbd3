#!/usr/bin/env bash
# The demo command: set-up if needed, a demo database with both addons (sales and purchase) and a
# ready scenario (created once, reused afterwards), then Odoo served on http://localhost.
# Of the series SERIES (scripts/env.sh): 18.0, the default, in ocr_demo on port 8069; 19.0 in
# ocr19_demo on port 8070 (DEMO_DB and ODOO_HTTP_PORT), so that both can be served at once.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh

db="$DEMO_DB"
if ! psql -lqt | cut -d'|' -f1 | grep -qw "$db"; then
    say "Creating the demo database $db with $ADDON and $PURCHASE_ADDON"
    odoo -d "$db" -i "$ADDON,$PURCHASE_ADDON,payment_demo" --stop-after-init --log-level=warn
elif [ "$(psql -d "$db" -tAc "SELECT state FROM ir_module_module WHERE name = '$PURCHASE_ADDON'")" != installed ]; then
    say "Adding $PURCHASE_ADDON to the demo database $db (created before it existed)"
    odoo -d "$db" -i "$PURCHASE_ADDON" --stop-after-init --log-level=warn
fi
say "Loading the demonstration scenario (skipped when already there)"
"$PYTHON" "$ODOO_BIN" shell -c "$ODOO_CONF" -d "$db" --no-http --log-level=warn < scripts/demo_data.py

# The walk of README.md, with the demo's order numbers (looked up by their customer reference).
order_names() {
    psql -d "$db" -tAc "SELECT string_agg(name, ', ' ORDER BY id) FROM sale_order
                        WHERE client_order_ref = '$1'" || true
}
paid=$(order_names "paid and delivered")
online=$(order_names "paid online (demo provider)")
ready=$(order_names "ready for a portal request")
waiting=$(order_names "cancellation requested on the portal")
cat <<MSG

Odoo $SERIES with $ADDON and $PURCHASE_ADDON is starting on http://localhost:$ODOO_HTTP_PORT
Log in as admin / admin (database $db): the demo orders are yours, tagged by story.
 1. Sales > Orders > Orders, search options > Favorites > "Demo stories": the orders grouped by tag.
    Open ${paid:-the order} tagged "Demo: paid and delivered", click "Cancel Reconciled Order": the
    dialog says what happens; choose a Reason, "Cancel Orders", then "Cancel the orders".
 2. Invoicing > Review > Cancelled Reconciled Orders: its log, to review (members: Sales > Orders >
    Cancelled Reconciled Orders).
 3. ${online:-The order} tagged "Demo: paid online (refund through the provider)": cancel it with
    "Refund the customer"; the money goes back through the provider (Invoicing > Review > Provider
    Refunds).
 4. In another browser, log in as portal_demo / portal_demo: Your Orders, open ${ready:-the order}
    (Your Reference: ready for a portal request), press "Request Cancellation", pick a reason,
    "Send the Request".
 5. As admin, Sales > Orders > Cancellation Requests: that request and the one waiting since the
    demo was made (${waiting:-the order} tagged "Demo: portal request waiting"): open one, "Approve
    and Cancel the Order" or "Refuse". Once cancelled, the customer's Your Orders still lists it,
    marked Cancelled, with what became of the money.
 6. Sales > Orders > Orders, search "promotion cancelled", select the twelve orders, Actions >
    Cancel Reconciled Orders, "Cancel Orders": more than 10, they are cancelled in the background
    (Sales > Orders > Background Cancellations shows the batch's progress).
 7. Sales > Orders > Cancellation Analysis: the cancellation rate by month, refunded and kept.
 8. Purchase > Orders > Purchase Orders: the order of "Demo Vendor (paid PO to cancel)", "Cancel
    Reconciled Order"; its log is under Purchase > Orders > Cancelled Reconciled Orders.
 The company's defaults and portal requests: Sales > Configuration > Settings > Cancelling Paid
 Orders. The walk is in README.md too.
Stop the server with Ctrl+C.

MSG
exec "$PYTHON" "$ODOO_BIN" -c "$ODOO_CONF" -d "$db" --db-filter="^$db\$" --log-level=info
