"""Read every module manifest of the addons path the way Odoo's HTTP server does.

Usage: check_addons_path.py ODOO_CONF. The server reads the manifest of every folder of every
addons path on its first static file request and answers that request with an error when one of
them does not parse; installing ignores such a module silently. This names the file instead.
"""

import os
import sys

import odoo
from odoo.modules.module import get_manifest
from odoo.tools import config

config.parse_config(["-c", sys.argv[1]])
odoo.modules.module.initialize_sys_path()
unreadable = []
for addons_path in odoo.addons.__path__:
    for name in sorted(os.listdir(addons_path)):
        try:
            get_manifest(name)
        except Exception as error:  # any error here breaks the server's static files
            unreadable.append(f"{os.path.join(addons_path, name)}: {type(error).__name__}: {error}")
if unreadable:
    print("FAIL: Odoo cannot read these module manifests of the addons path:", *unreadable, sep="\n  ")
    sys.exit(1)
print(f"PASS: every module manifest of the addons path reads ({', '.join(odoo.addons.__path__)})")
