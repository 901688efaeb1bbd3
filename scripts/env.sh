# Shared settings of the project's scripts; sourced, not run.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ODOO_SRC="${ODOO_SRC:-/opt/odoo-18.0}"
ODOO_REPO_URL="${ODOO_REPO_URL:-https://github.com/odoo/odoo.git}"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="$VENV/bin/python"
LOCAL="$ROOT/.local"
ODOO_CONF="$LOCAL/odoo.conf"
ODOO_BIN="$ODOO_SRC/odoo-bin"
ADDON=order_cancel_reconciled
# The second addon, for purchase orders (depends on $ADDON and purchase_stock): installed beside it
# by test.sh, test_native.sh (which run its tests too) and demo.sh.
PURCHASE_ADDON=purchase_order_cancel_reconciled
# Installed beside the addon in the test database: the tests drive an automated action
# (base_automation), OCA's sale_automatic_workflow (requirements-oca.txt) and online payments of
# Odoo's simulated provider (payment_demo) over it.
TEST_COMPANIONS=base_automation,sale_automatic_workflow,payment_demo
# Beside the purchase addon in its own test database: a purchase order shipped by the vendor
# straight to a customer (stock_dropshipping). The sales tests run in a database without the
# purchase addon, as in a database that only sells (and their fake engine extension reloads the
# sales addon's models, which would drop the purchase addon's fields).
PURCHASE_TEST_COMPANIONS=stock_dropshipping

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Runs odoo-bin with the project's configuration.
odoo() { "$PYTHON" "$ODOO_BIN" -c "$ODOO_CONF" "$@"; }
