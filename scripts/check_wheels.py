"""Helpers of check_wheels.sh, one per subcommand; each prints PASS/FAIL lines and exits non-zero on a failure.

metadata WHEEL_DIR ODOO_CORE_ADDONS [ADDONS_DIR [SERIES]] (the project's python): the two wheels are
    named the OCA way and their metadata says what the manifests of ADDONS_DIR (default: the
    repository's root, the 18.0 addons) say: version, Odoo of SERIES (default 18.0) and no other,
    the addons they need that are not Odoo's own (those of ODOO_CORE_ADDONS, comma-separated
    folders: scripts/env.sh's $ODOO_CORE_ADDONS).
odoo-stub OUT_DIR (the project's python, which imports Odoo from ODOO_SRC): writes the
    metadata-only wheel of the distribution "odoo" at the version of that source (see
    check_wheels.sh for why) and prints its path.
where ODOO_CONF REPOSITORY (the wheel venv's python): Odoo, configured as an administrator would
    with only its own addons path, finds both addons in the venv's site-packages (pip put them
    there) and not in the repository.
"""

import ast
import base64
import email.parser
import hashlib
import os
import re
import sys
import sysconfig
import zipfile
from pathlib import Path

ADDONS = ["order_cancel_reconciled", "purchase_order_cancel_reconciled"]
failures = []


def check(name, ok, detail=""):
    if not ok:
        failures.append(name)
    print(f"{'PASS' if ok else 'FAIL'}: {name}{f' ({detail})' if detail and not ok else ''}")


def wheel_metadata(wheel):
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
        return email.parser.HeaderParser().parsestr(archive.read(name).decode()), archive.namelist()


def series_versions(series):
    """Versions of Odoo to try a wheel's requirement on, and those it must accept: the series
    (18.0) and a nightly build of it (18.0.post20250702), not the series before (17.0), a
    SaaS version after it (18.1) or the next series (19.0)."""
    major = int(series.split(".")[0])
    accepted = [f"{major}.0", f"{major}.0.post20250702"]
    return [*accepted, f"{major - 1}.0", f"{major}.1", f"{major + 1}.0"], accepted


def metadata(wheel_dir, core_addons, addons_dir=None, series="18.0"):
    from packaging.requirements import Requirement
    from packaging.version import Version

    root = Path(addons_dir) if addons_dir else Path(__file__).resolve().parent.parent
    core_dirs = [Path(folder) for folder in core_addons.split(",") if folder]
    tried, expected = series_versions(series)
    odoo_versions = [Version(v) for v in tried]
    wheels = sorted(Path(wheel_dir).glob("*.whl"))
    check("one wheel per addon", len(wheels) == len(ADDONS), ", ".join(w.name for w in wheels))
    for addon in ADDONS:
        manifest = ast.literal_eval((root / addon / "__manifest__.py").read_text())
        found = [w for w in wheels if w.name.startswith(f"odoo_addon_{addon}-")]
        if not found:
            check(f"{addon}: a wheel odoo_addon_{addon}-*.whl", False, "none")
            continue
        meta, names = wheel_metadata(found[0])
        version = meta["Version"]
        check(f"{addon}: distribution odoo-addon-{addon}", meta["Name"] == f"odoo-addon-{addon}", meta["Name"])
        check(
            f"{addon}: named odoo_addon_{addon}-{version}-py3-none-any.whl",
            found[0].name == f"odoo_addon_{addon}-{version}-py3-none-any.whl",
            found[0].name,
        )
        # The manifest's version, or after it whool's count of later commits (.N) or, when the
        # version itself is not committed yet, a development release of it (.dev1).
        check(
            f"{addon}: version {version} is the manifest's {manifest['version']}",
            re.fullmatch(re.escape(manifest["version"]) + r"(\.\d+|\.dev\d+)?", version) is not None,
        )
        requirements = [Requirement(r) for r in meta.get_all("Requires-Dist") or []]
        odoo = [r for r in requirements if r.name == "odoo"]
        accepted = [str(v) for v in odoo_versions if odoo and odoo[0].specifier.contains(v)]
        check(
            f"{addon}: requires Odoo {series} ({odoo[0] if odoo else 'no odoo requirement'})",
            accepted == expected,
            f"accepts {accepted}",
        )
        wanted = {
            f"odoo-addon-{depend}"
            for depend in manifest["depends"]
            if not any((folder / depend).is_dir() for folder in core_dirs)
        }
        addon_requirements = {r.name for r in requirements if r.name.startswith("odoo-addon-")}
        check(
            f"{addon}: requires the addons it depends on that are not Odoo's ({', '.join(sorted(wanted)) or 'none'})",
            addon_requirements == wanted,
            f"found {sorted(addon_requirements)}",
        )
        check(
            f"{addon}: the wheel holds the addon under odoo/addons/{addon}",
            f"odoo/addons/{addon}/__manifest__.py" in names
            and not any(n.startswith(f"odoo/addons/{addon}/pyproject.toml") for n in names),
        )
        print(f"  {found[0].name}: Requires-Dist: {', '.join(str(r) for r in requirements)}")


def odoo_stub(out_dir):
    from packaging.version import Version

    import odoo.release

    version = str(Version(odoo.release.version))  # e.g. "18.0-20250702" is 18.0.post20250702, "19.0" 19.0
    # odoo/release.py's folder: from 19.0 odoo is a namespace package, without a __file__.
    source = Path(odoo.release.__file__).resolve().parent.parent
    dist_info = f"odoo-{version}.dist-info"
    files = {
        f"{dist_info}/METADATA": (
            "Metadata-Version: 2.1\nName: odoo\n"
            f"Version: {version}\n"
            f"Summary: Odoo {odoo.release.version} from {source}, imported through a .pth "
            "file (this distribution holds its metadata only)\n"
        ),
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: check_wheels.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    files[f"{dist_info}/RECORD"] = "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n"
    wheel = Path(out_dir, f"odoo-{version}-py3-none-any.whl")
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    print(wheel)


def where(conf, repository):
    import odoo
    from odoo.modules.module import get_module_path
    from odoo.tools import config

    config.parse_config(["-c", conf])
    odoo.modules.module.initialize_sys_path()
    repository = os.path.realpath(repository)
    # The venv is .local/wheel-venv, inside the repository's folder: under the repository means
    # anywhere there but in the venv's site-packages.
    site_packages = os.path.realpath(sysconfig.get_paths()["purelib"])

    def in_repository(path):
        path = os.path.realpath(path)
        inside = path == repository or path.startswith(repository + os.sep)
        return inside and not path.startswith(site_packages + os.sep)

    print(f"  Odoo's addons paths: {', '.join(odoo.addons.__path__)}")
    check("no folder of the repository is an addons path", not any(map(in_repository, odoo.addons.__path__)))
    for addon in ADDONS:
        path = get_module_path(addon, display_warning=False)
        print(f"  get_module_path({addon!r}) = {path}")
        check(
            f"Odoo finds {addon} in the wheel venv's site-packages, not in the repository",
            bool(path) and not in_repository(path) and os.path.realpath(path).startswith(site_packages + os.sep),
            path or "not found",
        )


def main(command, *args):
    {"metadata": metadata, "odoo-stub": odoo_stub, "where": where}[command](*args)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
