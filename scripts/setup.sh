#!/usr/bin/env bash
# Idempotent set-up of one series (SERIES, default 18.0; see env.sh): system packages, the Odoo
# source of that series, a Python 3.11 virtual environment with Odoo's pinned requirements, a
# running PostgreSQL with a role for this user, and odoo.conf. Re-running it only does what is
# missing. `SERIES=19.0 bash scripts/setup.sh` (or `make setup SERIES=19.0`) sets up 19.0 beside
# 18.0: its own source (/opt/odoo-19.0), venv (.venv-19.0) and local folder (.local-19.0).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

system_packages() {
    # fonts-noto-cjk: wkhtmltopdf prints Chinese summaries with it; poppler-utils: the tests read
    # the text of those PDFs back with pdftotext.
    local wanted=(postgresql libpq-dev libldap2-dev libsasl2-dev chromium wkhtmltopdf fonts-noto-cjk poppler-utils git)
    # Odoo 19 lists python-magic, which loads the system's libmagic.
    [ "$SERIES" = 18.0 ] || wanted+=(libmagic1)
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
        say "Odoo source not found at $ODOO_SRC: cloning $ODOO_REPO_URL (branch $ODOO_BRANCH)"
        git clone --quiet --depth 1 --branch "$ODOO_BRANCH" "$ODOO_REPO_URL" "$ODOO_SRC" \
            || die "$(missing_source_help)"
    fi
    grep -q "^version_info = ($ODOO_MAJOR, 0," "$ODOO_SRC/odoo/release.py" \
        || die "$ODOO_SRC is not Odoo $SERIES (see $ODOO_SRC/odoo/release.py)."
}

missing_source_help() {
    if [ "$SERIES" = 18.0 ]; then
        cat <<HELP
Odoo 18.0 source is missing at $ODOO_SRC and cloning it failed.
Put an Odoo 18.0 Community tree there (the folder holding odoo-bin and odoo/), or point ODOO_SRC
at one, e.g.: git clone --depth 1 --branch 18.0 $ODOO_REPO_URL $ODOO_SRC
HELP
        return
    fi
    cat <<HELP
Odoo $SERIES source is missing at $ODOO_SRC and cloning it failed.
Put an Odoo $SERIES Community tree there (the folder holding odoo-bin, odoo/ and addons/), or point
ODOO_SRC at one. With access to GitHub:
    git clone --depth 1 --branch $ODOO_BRANCH $ODOO_REPO_URL $ODOO_SRC
Without it, from a snapshot of a repository whose root holds Odoo $SERIES Community (with the
search tool of a session: fetch github:jnvdx6/skymedic-odoo, which answers with its git directory
GITDIR), Odoo's files only, without odoo/enterprise:
    mkdir -p $ODOO_SRC
    git --git-dir=GITDIR archive HEAD odoo-bin odoo addons requirements.txt setup.py \\
        ':(exclude)odoo/enterprise' | tar -x -C $ODOO_SRC
Never put odoo/enterprise or that repository's custom-addons on an addons path or PYTHONPATH.
HELP
}

python_env() {
    local stamp="$VENV/.requirements.sha" sha
    sha=$(cat "$REQUIREMENTS" "$REQUIREMENTS_DEV" "$REQUIREMENTS_OCA" "$BUILD_CONSTRAINTS" | sha256sum | cut -d' ' -f1)
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
        PIP_CONSTRAINT="$BUILD_CONSTRAINTS" \
            "$PYTHON" -m pip install -q -r "$REQUIREMENTS" -r "$REQUIREMENTS_DEV"
        say "Installing the OCA addons the tests use ($(basename "$REQUIREMENTS_OCA"))"
        "$PYTHON" -m pip install -q --no-deps -r "$REQUIREMENTS_OCA" \
            || die "Could not install the OCA addons of $(basename "$REQUIREMENTS_OCA") from the package registry."
        echo "$sha" > "$stamp"
    fi
    # Odoo is not a package here: a .pth file makes the source tree importable. In 19.0 odoo/ is a
    # namespace package (no __init__.py; odoo-bin imports odoo.cli from its own folder): the same
    # line makes it importable, merged with the OCA wheels' site-packages/odoo/addons.
    local site
    site=$("$PYTHON" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    echo "$ODOO_SRC" > "$site/odoo-src.pth"
    local version
    version=$("$PYTHON" -c "import odoo.release as r; print(r.version)") \
        || die "Odoo does not import from $ODOO_SRC with $PYTHON."
    [[ "$version" == "$SERIES"* ]] || die "Expected Odoo $SERIES, found $version."
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
    if [ "$SERIES" = 18.0 ]; then
        cat > "$ODOO_CONF" <<CONF
[options]
addons_path = $ODOO_ADDONS_PATH
data_dir = $LOCAL/data
db_host = False
db_port = False
db_user = $(id -un)
db_password = False
admin_passwd = admin
http_interface = 127.0.0.1
http_port = $ODOO_HTTP_PORT
list_db = True
without_demo = all
CONF
        return
    fi
    # From 19.0: "False" in a non-boolean option is skipped with a warning (the defaults are
    # PostgreSQL's socket), and demo data is off unless with_demo is true.
    cat > "$ODOO_CONF" <<CONF
[options]
addons_path = $ODOO_ADDONS_PATH
data_dir = $LOCAL/data
db_user = $(id -un)
admin_passwd = admin
http_interface = 127.0.0.1
http_port = $ODOO_HTTP_PORT
list_db = True
with_demo = False
CONF
}

system_packages
odoo_source
python_env
postgresql
odoo_conf
say "Set-up ready: Odoo $("$PYTHON" -c 'import odoo.release as r; print(r.version)') from $ODOO_SRC, venv $VENV"
