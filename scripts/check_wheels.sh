#!/usr/bin/env bash
# The wheels check: the addons installed the way an administrator installs OCA addons with pip.
# Builds both wheels (build_dist.sh, into .local/wheel-dist so that dist/ is left alone), checks
# their names and metadata, creates a fresh virtual environment (.local/wheel-venv) with Odoo's
# pinned requirements, installs the purchase addon's wheel there with pip from the built wheels
# only (pip must pull the sales addon through the purchase addon's requirement), then creates a
# database with sale_stock through an Odoo whose addons path is only Odoo's own addons and runs the
# Apps-menu check (check_apps_install.py) with that environment's python: the addons can only come
# from the venv's site-packages, and the check says where Odoo found them.
# Of the series SERIES (scripts/env.sh): its addons, Odoo source, requirement files and local
# folder (.local for 18.0, .local-19.0 for 19.0); the wheels must require Odoo of that series.
# Usage: check_wheels.sh [DATABASE] (default <DB_PREFIX>_wheels_<pid>; created and dropped here).
# Prints PASS/FAIL lines and "wheels: N passed, N failed"; exits non-zero on a failure.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
started=$SECONDS

db="${1:-${DB_PREFIX}_wheels_$$}"
wheel_dist="$LOCAL/wheel-dist"
wheel_venv="$LOCAL/wheel-venv"
wheel_python="$wheel_venv/bin/python"
work=$(mktemp -d)
passed=0
failed=0
cleanup() { dropdb --if-exists "$db" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

check() { # check NAME COMMAND...: one PASS/FAIL line; returns the command's success
    local name="$1"
    shift
    if "$@"; then
        echo "PASS: $name"
        passed=$((passed + 1))
    else
        echo "FAIL: $name"
        failed=$((failed + 1))
        return 1
    fi
}
finish() { # the summary; after a failed step that the next ones need (check ... || finish), the end
    echo "wheels: $passed passed, $failed failed ($((SECONDS - started)) s)"
    exit $((failed > 0))
}
helper() { # helper OUTPUT COMMAND...: a command printing PASS/FAIL lines of its own, counted here
    local out="$1" status
    shift
    set +e
    "$@" 2>&1 | tee "$out"
    status=${PIPESTATUS[0]}
    set -e
    passed=$((passed + $(grep -c '^PASS: ' "$out" || true)))
    failed=$((failed + $(grep -c '^FAIL: ' "$out" || true)))
    if [ "$status" -ne 0 ] && ! grep -q '^FAIL: ' "$out"; then
        echo "FAIL: $* (exit status $status)"
        failed=$((failed + 1))
    fi
}

say "Building the wheels (make dist) into $wheel_dist"
check "both wheels build" bash scripts/build_dist.sh "$wheel_dist" || finish
helper "$work/metadata.out" "$PYTHON" scripts/check_wheels.py metadata "$wheel_dist" "$ODOO_CORE_ADDONS" \
    "$ADDONS_DIR" "$SERIES"

say "Creating a fresh virtual environment $wheel_venv with Odoo's requirements"
rm -rf "$wheel_venv"
py=$(command -v python3.11 || true)
[ -n "$py" ] || die "Python 3.11 is needed (python3.11 not found on PATH)."
install_requirements() {
    "$py" -m venv "$wheel_venv" \
        && "$wheel_python" -m pip install -q --upgrade "pip<25" wheel \
        && PIP_CONSTRAINT="$BUILD_CONSTRAINTS" "$wheel_python" -m pip install -q -r "$REQUIREMENTS"
}
check "Odoo's pinned requirements install in a fresh venv ($(basename "$REQUIREMENTS"), $(basename "$BUILD_CONSTRAINTS"))" \
    install_requirements || finish
# Odoo itself, as the project provides it (setup.sh): its source tree made importable by a .pth file.
site=$("$wheel_python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo "$ODOO_SRC" > "$site/odoo-src.pth"

# Every OCA 18.0 addon wheel, ours too, requires the distribution "odoo" (odoo==18.0.*; 19.0's
# odoo==19.0.*), which pip
# finds where Odoo was installed with pip (pip install of an Odoo checkout or of its nightly
# package). The registry has no such package and the project imports Odoo from its source tree
# through a .pth file, which gives pip no metadata; installing with --no-deps would not test the
# requirements of the wheels. So a wheel holding only the metadata of "odoo" at the version of that
# source (odoo/release.py: 18.0-<date> is 18.0.post<date>, 19.0 is 19.0) tells pip that Odoo of
# the series is there, as an administrator's pip-installed Odoo does; the code still comes from
# ODOO_SRC.
install_odoo_metadata() {
    local stub
    stub=$("$PYTHON" scripts/check_wheels.py odoo-stub "$work") && echo "  $(basename "$stub")" \
        && "$wheel_python" -m pip install -q --no-index "$stub"
}
check "the metadata of Odoo ($ODOO_SRC) installs in the venv" install_odoo_metadata || finish

say "Installing odoo-addon-$PURCHASE_ADDON from the built wheels only"
# --pre: a version bump not committed yet makes a development release (18.0.2.0.0.dev1, see
# build_dist.sh), which pip takes for a requirement only when told to; commits never have one.
check "pip installs odoo-addon-$PURCHASE_ADDON from the wheels" \
    "$wheel_python" -m pip install --pre --no-index --find-links "$wheel_dist" "odoo-addon-$PURCHASE_ADDON" || finish
pulled() { "$wheel_python" -m pip show "odoo-addon-$ADDON" 2>/dev/null | grep -q "^Required-by: .*odoo-addon-$PURCHASE_ADDON"; }
check "it pulled odoo-addon-$ADDON through its requirement" pulled || true
check "every requirement of the venv is met (pip check)" "$wheel_python" -m pip check || true
for addon in "$ADDON" "$PURCHASE_ADDON"; do
    check "$addon is in the venv's site-packages/odoo/addons" \
        test -f "$site/odoo/addons/$addon/__manifest__.py" || true
done

# The administrator's configuration: Odoo's own addons only ($ODOO_CORE_ADDONS: odoo/addons for
# 18.0; addons and odoo/addons for 19.0). The addons come from site-packages, which Odoo adds by
# itself (odoo.addons is a namespace package). As setup.sh writes odoo.conf for the series: from
# 19.0 "False" in a non-boolean option is skipped with a warning (so db_host, db_port and
# db_password are left out: PostgreSQL's socket, no password), and demo data is off unless
# with_demo is true (18.0: without_demo = all).
conf="$work/odoo.conf"
mkdir -p "$work/data"
if [ "$SERIES" = 18.0 ]; then
    cat > "$conf" <<CONF
[options]
addons_path = $ODOO_CORE_ADDONS
data_dir = $work/data
db_host = False
db_port = False
db_user = $(id -un)
db_password = False
admin_passwd = admin
http_interface = 127.0.0.1
http_port = 8085
list_db = True
without_demo = all
CONF
else
    cat > "$conf" <<CONF
[options]
addons_path = $ODOO_CORE_ADDONS
data_dir = $work/data
db_user = $(id -un)
admin_passwd = admin
http_interface = 127.0.0.1
http_port = 8085
list_db = True
with_demo = False
CONF
fi
helper "$work/where.out" "$wheel_python" scripts/check_wheels.py where "$conf" "$ROOT"

say "Installing sale_stock in a fresh database $db with the wheel venv's Odoo"
create_database() {
    "$wheel_python" "$ODOO_BIN" -c "$conf" -d "$db" -i sale_stock --stop-after-init --log-level=warn 2>&1 \
        | tee "$work/odoo.out"
    return "${PIPESTATUS[0]}"
}
check "a database with sale_stock is created" create_database || finish

say "Installing, using and uninstalling the addons from the Apps menu with the wheel venv's python"
helper "$work/apps.out" "$wheel_python" scripts/check_apps_install.py "$conf" "$db"
# (test.sh also fails on these lines in its log; this makes the check fail on them when run alone)
no_errors() { ! grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:,]+ [0-9]+ (ERROR|CRITICAL) " "$work/odoo.out" "$work/apps.out"; }
check "Odoo logged no ERROR" no_errors || true
finish
