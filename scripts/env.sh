# Shared settings of the project's scripts; sourced, not run.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# The Odoo series the scripts work on, from the environment (make passes SERIES=...): 18.0, the
# default, with the addons at the root of the repository, or 19.0, with the addons in 19.0/.
# Each series has its own Odoo source, venv, local folder (odoo.conf, data_dir, logs), requirement
# files, database names and demo port, so the two never share anything but PostgreSQL's server.
# Exported: the scripts these start (setup.sh from test.sh, check_upgrade.sh...) work on the same.
export SERIES="${SERIES:-18.0}"
case "$SERIES" in
    18.0)
        SERIES_SUFFIX=""               # .venv, .local, requirements.txt, requirements-oca.txt
        ADDONS_DIR="$ROOT"
        DB_PREFIX=ocr                  # ocr_test_<pid>, ocr_demo...
        ODOO_HTTP_PORT=8069
        ;;
    19.0)
        SERIES_SUFFIX="-19.0"          # .venv-19.0, .local-19.0, requirements-19.0.txt...
        ADDONS_DIR="$ROOT/19.0"
        DB_PREFIX=ocr19                # ocr19_test_<pid>, ocr19_demo...
        ODOO_HTTP_PORT=8070
        ;;
    *) die "Unknown SERIES '$SERIES': 18.0 (the default) or 19.0." ;;
esac
ODOO_MAJOR="${SERIES%%.*}"
ODOO_SRC="${ODOO_SRC:-/opt/odoo-$SERIES}"
ODOO_REPO_URL="${ODOO_REPO_URL:-https://github.com/odoo/odoo.git}"
ODOO_BRANCH="$SERIES"
VENV="${VENV:-$ROOT/.venv$SERIES_SUFFIX}"
PYTHON="$VENV/bin/python"
LOCAL="$ROOT/.local$SERIES_SUFFIX"
ODOO_CONF="$LOCAL/odoo.conf"
ODOO_BIN="$ODOO_SRC/odoo-bin"
# Odoo's own addons (addons/ and odoo/addons/, the base modules; 19.0's odoo/ is a namespace
# package without __init__.py, its addons path is the same), then the series' addons folder.
ODOO_CORE_ADDONS="$ODOO_SRC/odoo/addons"
if [ -d "$ODOO_SRC/addons" ]; then ODOO_CORE_ADDONS="$ODOO_SRC/addons,$ODOO_CORE_ADDONS"; fi
ODOO_ADDONS_PATH="$ODOO_CORE_ADDONS,$ADDONS_DIR"
# Python requirements: Odoo's at pinned versions, the test and lint tools (one file for both
# series), the OCA companions (installed with --no-deps), and the build constraints of old sdists.
REQUIREMENTS="$ROOT/requirements$SERIES_SUFFIX.txt"
REQUIREMENTS_DEV="$ROOT/requirements-dev.txt"
REQUIREMENTS_OCA="$ROOT/requirements-oca$SERIES_SUFFIX.txt"
BUILD_CONSTRAINTS="$ROOT/constraints-build.txt"
DEMO_DB="${DEMO_DB:-${DB_PREFIX}_demo}"

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

# Runs odoo-bin with the project's configuration.
odoo() { "$PYTHON" "$ODOO_BIN" -c "$ODOO_CONF" "$@"; }
