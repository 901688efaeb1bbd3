#!/usr/bin/env bash
# Builds one wheel per addon into dist/, as OCA publishes Odoo addons: whool, the build backend
# named in each addon's pyproject.toml, makes odoo_addon_<addon>-<version>-py3-none-any.whl
# (distribution odoo-addon-<addon>) with the manifest's version, a requirement on Odoo of the
# addon's series (odoo==18.0.*, odoo==19.0.*) and one on each addon of the manifest's depends that
# is not one of Odoo's own.
# Of the series SERIES (scripts/env.sh): the addons of $ADDONS_DIR (the root for 18.0, 19.0/ for
# 19.0), built with that series' venv. The wheels of that series in OUTDIR are removed first, those
# of the other series are left: dist/ can hold both.
#
# The version: whool adds ".N" to the manifest's version when N commits touched the addon since
# the commit that set that version (and counts uncommitted changes of the addon as one more): a
# wheel built at the commit that bumps the version, from a clean tree, is named with exactly the
# manifest's version (the release); a later build sorts after it and before the next version.
# Only the files git tracks go into a wheel: commit a new file before building.
#
# Usage: build_dist.sh [OUTDIR] (default: dist/). Needs the project's venv (make setup).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
[ -x "$PYTHON" ] || die "No virtual environment at $VENV: run make setup first."
command -v git >/dev/null || die "git is needed: whool packs the files git tracks."

out="${1:-$ROOT/dist}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
# Our two addons' wheels of this series in $out, into the array wheels: their version starts with
# the series (odoo_addon_order_cancel_reconciled-18.0.2.4.1-py3-none-any.whl).
series_wheels() {
    shopt -s nullglob
    wheels=("$out"/odoo_addon_{"$ADDON","$PURCHASE_ADDON"}-"$SERIES".*.whl)
    shopt -u nullglob
}
series_wheels
[ "${#wheels[@]}" -eq 0 ] || rm -f "${wheels[@]}"

# The build backend, pinned: pip builds each addon in an isolated environment that it fills from
# the package registry, and takes these pins there through PIP_CONSTRAINT (the environment is
# inherited by that pip). manifestoo-core is where whool's metadata comes from (versions, Odoo's
# core addons per series, the requirement on Odoo), so it is pinned too.
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
cat > "$constraints" <<'PINS'
whool==1.3.1
manifestoo-core==1.16.1
packaging==26.4
wheel==0.48.0
PINS

for addon in "$ADDON" "$PURCHASE_ADDON"; do
    dir=$(realpath --relative-to="$ROOT" "$ADDONS_DIR/$addon")  # order_cancel_reconciled, 19.0/order_cancel_reconciled
    [ -f "$dir/pyproject.toml" ] || die "$dir/pyproject.toml is missing (the addon's build-system)."
    # (whool, given a folder of which git tracks nothing, fails with an IsADirectoryError.)
    [ -n "$(git ls-files -- "$dir/__manifest__.py")" ] \
        || die "git tracks no $dir/__manifest__.py: whool packs the files git tracks, commit the addon first."
    PIP_CONSTRAINT="$constraints" "$PYTHON" -m pip wheel -q --no-deps --wheel-dir "$out" "./$dir" \
        || die "Building the wheel of $dir failed (see above)."
done

series_wheels
[ "${#wheels[@]}" -eq 2 ] || die "Expected 2 wheels of $SERIES in $out, found ${#wheels[@]}: ${wheels[*]}."
say "Built into $out:"
for addon in "$ADDON" "$PURCHASE_ADDON"; do
    wheel=$(basename "$out"/odoo_addon_"$addon-$SERIES".*.whl)
    version=$(sed -n 's/.*"version": "\([0-9.]*\)".*/\1/p' "$ADDONS_DIR/$addon/__manifest__.py")
    built=${wheel#odoo_addon_"$addon"-}
    built=${built%-py3-none-any.whl}
    case "$built" in
        "$version") echo "  $wheel" ;;
        "$version".dev*) echo "  $wheel (not a release: the version $version is not committed yet)" ;;
        *) echo "  $wheel (not a release: the addon changed since the commit of its version $version)" ;;
    esac
done
