"""Install the addon the way the Apps menu does, check what it brings, uninstall it again.

Usage: check_apps_install.py ODOO_CONF DATABASE (a database with sale_stock and nothing of ours).
Prints one line per check and a closing "N passed, N failed" line; exits non-zero on a failure.
"""

import sys

import odoo
from odoo import api
from odoo.tools import config

ADDON = "order_cancel_reconciled"
XMLIDS = [
    "order_cancel_reconciled.group_cancel_reconciled",
    "order_cancel_reconciled.sale_order_cancel_reconciled_view_form",
    "order_cancel_reconciled.sale_order_view_form_inherit_cancel_reconciled",
    "order_cancel_reconciled.sale_order_cancel_reconciled_log_action",
    "order_cancel_reconciled.sale_order_cancel_reconciled_log_menu_accounting",
    "order_cancel_reconciled.sale_order_cancel_reconciled_reason_menu",
]
results = []


def check(name, ok):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}: {name}")


def admin_env(cr):
    env = api.Environment(cr, odoo.SUPERUSER_ID, {})
    return env(user=env.ref("base.user_admin"))


def standard_cancel_works(env):
    partner = env["res.partner"].create({"name": "Apps check customer"})
    product = env["product.product"].create({"name": "Apps check product", "type": "consu"})
    order = env["sale.order"].create(
        {"partner_id": partner.id, "order_line": [(0, 0, {"product_id": product.id, "product_uom_qty": 1})]}
    )
    order.action_confirm()
    action = order.action_cancel()
    wizard = env[action["res_model"]].with_context(action["context"]).create({"order_id": order.id})
    wizard.action_cancel()
    return action["res_model"] == "sale.order.cancel" and order.state == "cancel"


def main(conf, dbname):
    config.parse_config(["-c", conf, "-d", dbname, "--log-level=warn"])
    registry = odoo.modules.registry.Registry(dbname)
    with registry.cursor() as cr:
        env = admin_env(cr)
        module = env["ir.module.module"].search([("name", "=", ADDON)])
        if not module:
            env["ir.module.module"].update_list()
            module = env["ir.module.module"].search([("name", "=", ADDON)])
        check("the addon is listed in Apps", bool(module))
        module.button_immediate_install()

    registry = odoo.modules.registry.Registry(dbname)
    with registry.cursor() as cr:
        env = admin_env(cr)
        check("the addon is installed", env["ir.module.module"].search([("name", "=", ADDON)]).state == "installed")
        for xmlid in XMLIDS:
            check(f"{xmlid} loads", bool(env.ref(xmlid, raise_if_not_found=False)))
        check("admin is a member of the group", env.user.has_group(f"{ADDON}.group_cancel_reconciled"))
        for view in env["ir.ui.view"].search([("model", "like", "sale.order%")]):
            view._check_xml()
        check("sale order views validate", True)
        env["sale.order"].get_views([(False, "form"), (False, "list")])
        check("the order form renders with the addon", True)
        env["ir.module.module"].search([("name", "=", ADDON)]).button_immediate_uninstall()

    registry = odoo.modules.registry.Registry(dbname)
    with registry.cursor() as cr:
        env = admin_env(cr)
        module = env["ir.module.module"].search([("name", "=", ADDON)])
        check("the addon is uninstalled", module.state == "uninstalled")
        check("no view of the addon is left", not env["ir.model.data"].search_count([("module", "=", ADDON)]))
        env["sale.order"].get_views([(False, "form"), (False, "list")])
        check("standard Cancel works as before", standard_cancel_works(env))
        cr.rollback()

    failed = results.count(False)
    print(f"apps-install: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
