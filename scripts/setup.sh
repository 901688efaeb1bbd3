#!/usr/bin/env bash
# Idempotent set-up: system packages, Odoo 18.0 source, a Python 3.11 virtual environment with
# Odoo's pinned requirements, a running PostgreSQL with a role for this user, and odoo.conf.
# Re-running it only does what is missing.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

system_packages() {
    # fonts-noto-cjk: wkhtmltopdf prints Chinese summaries with it; poppler-utils: the tests read
    # the text of those PDFs back with pdftotext.
    local wanted=(postgresql libpq-dev libldap2-dev libsasl2-dev chromium wkhtmltopdf fonts-noto-cjk poppler-utils git)
    local missing=()
    for pkg in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return
    say "Installing system packages: ${missing[*]}"
    command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} by hand (Debian/Ubuntu names)."
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

odoo_source() {
    if [ ! -f "$ODOO_SRC/odoo/release.py" ]; then
        say "Odoo source not found at $ODOO_SRC: cloning $ODOO_REPO_URL (branch 18.0)"
        git clone --quiet --depth 1 --branch 18.0 "$ODOO_REPO_URL" "$ODOO_SRC" || die \
"Odoo 18.0 source is missing at $ODOO_SRC and cloning it failed.
Put an Odoo 18.0 Community tree there (the folder holding odoo-bin and odoo/), or point ODOO_SRC
at one, e.g.: git clone --depth 1 --branch 18.0 $ODOO_REPO_URL $ODOO_SRC"
    fi
    grep -q "^version_info = (18, 0," "$ODOO_SRC/odoo/release.py" \
        || die "$ODOO_SRC is not Odoo 18.0 (see $ODOO_SRC/odoo/release.py)."
}

python_env() {
    local stamp="$VENV/.requirements.sha" sha
    sha=$(cat requirements.txt requirements-dev.txt requirements-oca.txt constraints-build.txt | sha256sum | cut -d' ' -f1)
    if [ ! -x "$PYTHON" ]; then
        local py
        py=$(command -v python3.11 || true)
        [ -n "$py" ] || die "Python 3.11 is needed (python3.11 not found on PATH)."
        say "Creating the virtual environment $VENV"
        "$py" -m venv "$VENV"
    fi
    if [ "$(cat "$stamp" 2>/dev/null)" != "$sha" ]; then
        say "Installing Odoo's pinned Python requirements (a few minutes the first time)"
        "$PYTHON" -m pip install -q --upgrade "pip<25" wheel
        PIP_CONSTRAINT="$ROOT/constraints-build.txt" \
            "$PYTHON" -m pip install -q -r requirements.txt -r requirements-dev.txt
        say "Installing the OCA addons the tests use (requirements-oca.txt)"
        "$PYTHON" -m pip install -q --no-deps -r requirements-oca.txt \
            || die "Could not install the OCA addons of requirements-oca.txt from the package registry."
        echo "$sha" > "$stamp"
    fi
    # Odoo is not a package here: a .pth file makes the source tree importable.
    local site
    site=$("$PYTHON" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    echo "$ODOO_SRC" > "$site/odoo-src.pth"
    local version
    version=$("$PYTHON" -c "import odoo.release as r; print(r.version)") \
        || die "Odoo does not import from $ODOO_SRC with $PYTHON."
    [[ "$version" == 18.0* ]] || die "Expected Odoo 18.0, found $version."
}

postgresql() {
    command -v pg_lsclusters >/dev/null || die "PostgreSQL's tools are missing (Debian package postgresql)."
    if [ -z "$(pg_lsclusters -h)" ]; then
        say "Creating a PostgreSQL cluster"
        as_root pg_createcluster 15 main >/dev/null
    fi
    pg_lsclusters -h | while read -r ver name _port status _rest; do
        if [ "$status" != online ]; then
            say "Starting PostgreSQL $ver/$name"
            as_root pg_ctlcluster "$ver" "$name" start
        fi
    done
    local user
    user=$(id -un)
    if ! as_root su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$user'\"" | grep -q 1; then
        say "Creating the PostgreSQL role $user"
        as_root su postgres -c "createuser --createdb --superuser '$user'"
    fi
}

odoo_conf() {
    mkdir -p "$LOCAL/data"
    local addons="$ODOO_SRC/odoo/addons,$ROOT"
    [ -d "$ODOO_SRC/addons" ] && addons="$ODOO_SRC/addons,$addons"
    cat > "$ODOO_CONF" <<CONF
[options]
addons_path = $addons
data_dir = $LOCAL/data
db_host = False
db_port = False
db_user = $(id -un)
db_password = False
admin_passwd = admin
http_interface = 127.0.0.1
http_port = 8069
list_db = True
without_demo = all
CONF
}

system_packages
odoo_source
python_env
postgresql
odoo_conf
say "Set-up ready: Odoo $("$PYTHON" -c 'import odoo.release as r; print(r.version)') from $ODOO_SRC, venv $VENV"
