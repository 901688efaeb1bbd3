"""Install the addons the way the Apps menu does, check what they bring, uninstall them again.

First the sales addon alone: installed, checked, uninstalled. Then the purchase addon, which
pulls the sales addon and purchase_stock: installed, checked, a paid and received purchase order
cancelled with it (committed), then the purchase addon alone uninstalled; the sales addon stays.

Usage: check_apps_install.py ODOO_CONF DATABASE (a database with sale_stock and nothing of ours).
Prints one line per check and a closing "N passed, N failed" line; exits non-zero on a failure.
"""

import sys

import odoo
from odoo import Command, api, fields
from odoo.modules.registry import Registry
from odoo.tools import config

ADDON = "order_cancel_reconciled"
PURCHASE_ADDON = "purchase_order_cancel_reconciled"
PURCHASE_XMLIDS = [
    "purchase_order_cancel_reconciled.group_cancel_reconciled_purchase",
    "purchase_order_cancel_reconciled.purchase_order_cancel_reconciled_view_form",
    "purchase_order_cancel_reconciled.purchase_order_form_inherit_cancel_reconciled",
    "purchase_order_cancel_reconciled.sale_order_cancel_reconciled_log_menu_purchase",
]
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
    if "sale.order.cancel" not in env:  # from 19.0 Cancel cancels at once, without a dialog
        return not isinstance(action, dict) and order.state == "cancel"
    wizard = env[action["res_model"]].with_context(action["context"]).create({"order_id": order.id})
    wizard.action_cancel()
    return action["res_model"] == "sale.order.cancel" and order.state == "cancel"


def paid_received_purchase_order(env):
    """A purchase order of one storable product, confirmed, received, billed and paid."""
    vendor = env["res.partner"].create({"name": "Apps check vendor"})
    product = env["product.product"].create({"name": "Apps check stored product", "type": "consu", "is_storable": True})
    order = env["purchase.order"].create(
        {
            "partner_id": vendor.id,
            "order_line": [Command.create({"product_id": product.id, "product_qty": 2, "price_unit": 30.0})],
        }
    )
    order.button_confirm()
    receipt = order.picking_ids.filtered(lambda picking: picking.state not in ("done", "cancel"))
    for move in receipt.move_ids:
        move.quantity = move.product_uom_qty
    receipt.move_ids.picked = True
    receipt.with_context(skip_backorder=True).button_validate()
    action = order.action_create_invoice()
    bill = env["account.move"].browse(action.get("res_id")) or order.invoice_ids
    bill.invoice_date = fields.Date.today()
    bill.action_post()
    register = env["account.payment.register"].with_context(active_model="account.move", active_ids=bill.ids)
    register.create({"payment_date": fields.Date.today()})._create_payments()
    return order, receipt, bill


def module_operation(env, name, button):
    """Press a module's Install or Uninstall button as an administrator does, once it can act.

    From 19.0 the button takes ``LOCK ir_module_module IN EXCLUSIVE MODE NOWAIT`` and refuses
    ("Odoo is currently processing another module operation") when anything holds a conflicting
    lock, which PostgreSQL's autovacuum does for a moment after an install rewrote that table.
    Taking the same lock first, waiting, lets PostgreSQL cancel the autovacuum that is in the way;
    the button's own NOWAIT lock then succeeds, the transaction already holding it. What came
    before is committed first, as the button commits it anyway.
    """
    env.cr.commit()
    env.cr.execute("SET LOCAL lock_timeout = '60s'")
    env.cr.execute("LOCK ir_module_module IN EXCLUSIVE MODE")
    return getattr(env["ir.module.module"].search([("name", "=", name)]), button)()


def module_states(env, *names):
    return {module.name: module.state for module in env["ir.module.module"].search([("name", "in", names)])}


def log_has_purchase_column(cr):
    cr.execute(
        """SELECT 1 FROM information_schema.columns
            WHERE table_name = 'sale_order_cancel_reconciled_log' AND column_name = 'purchase_order_id'"""
    )
    return bool(cr.fetchone())


def check_purchase_addon(dbname):
    """Second round: the purchase addon installed over the sales one, used, then uninstalled alone."""
    registry = Registry(dbname)
    with registry.cursor() as cr:
        env = admin_env(cr)
        module = env["ir.module.module"].search([("name", "=", PURCHASE_ADDON)])
        if not module:
            env["ir.module.module"].update_list()
            module = env["ir.module.module"].search([("name", "=", PURCHASE_ADDON)])
        check("the purchase addon is listed in Apps", bool(module))
        module_operation(env, PURCHASE_ADDON, "button_immediate_install")

    registry = Registry(dbname)
    with registry.cursor() as cr:
        env = admin_env(cr)
        states = module_states(env, PURCHASE_ADDON, ADDON, "purchase_stock")
        check("the purchase addon is installed", states.get(PURCHASE_ADDON) == "installed")
        check(
            "it brought the sales addon and purchase_stock",
            states.get(ADDON) == "installed" and states.get("purchase_stock") == "installed",
        )
        for xmlid in PURCHASE_XMLIDS:
            check(f"{xmlid} loads", bool(env.ref(xmlid, raise_if_not_found=False)))
        check("admin is a member of the purchase group", env.user.has_group(PURCHASE_XMLIDS[0]))
        models = ["purchase.order", "purchase.order.cancel.reconciled", "sale.order.cancel.reconciled.log"]
        for view in env["ir.ui.view"].search([("model", "in", models)]):
            view._check_xml()
        check("purchase order, dialog and log views validate", True)
        env["purchase.order"].get_views([(False, "form"), (False, "list")])
        check("the purchase order form and list render with the addon", True)
        order, receipt, bill = paid_received_purchase_order(env)
        check(
            "a purchase order is received, billed and paid",
            order.state == "purchase" and receipt.state == "done" and bill.payment_state in ("paid", "in_payment"),
        )
        cr.commit()  # cancelled as in real use: the order, its bill and payment are committed
        logs = order.cancel_reconciled()
        check("the paid, received purchase order is cancelled", order.state == "cancel")
        check(
            "a log of the purchase order is written",
            bool(
                env["sale.order.cancel.reconciled.log"].search_count(
                    [("purchase_order_id", "=", order.id), ("order_kind", "=", "purchase")]
                )
            )
            and logs.order_kind == "purchase",
        )
        # the uninstall meets a committed log of a purchase order (module_operation commits)
        module_operation(env, PURCHASE_ADDON, "button_immediate_uninstall")

    registry = Registry(dbname)
    with registry.cursor() as cr:
        env = admin_env(cr)
        states = module_states(env, PURCHASE_ADDON, ADDON)
        check("the purchase addon is uninstalled", states.get(PURCHASE_ADDON) == "uninstalled")
        check("the sales addon is still installed", states.get(ADDON) == "installed")
        check(
            "no record of the purchase addon is left",
            not env["ir.model.data"].search_count([("module", "=", PURCHASE_ADDON)]),
        )
        env["sale.order"].get_views([(False, "form"), (False, "list")])
        check("the sale order form still renders", True)
        check("the log table has no purchase_order_id column any more", not log_has_purchase_column(cr))


def main(conf, dbname):
    config.parse_config(["-c", conf, "-d", dbname, "--log-level=warn"])
    registry = Registry(dbname)
    with registry.cursor() as cr:
        env = admin_env(cr)
        module = env["ir.module.module"].search([("name", "=", ADDON)])
        if not module:
            env["ir.module.module"].update_list()
            module = env["ir.module.module"].search([("name", "=", ADDON)])
        check("the addon is listed in Apps", bool(module))
        module_operation(env, ADDON, "button_immediate_install")

    registry = Registry(dbname)
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
        module_operation(env, ADDON, "button_immediate_uninstall")

    registry = Registry(dbname)
    with registry.cursor() as cr:
        env = admin_env(cr)
        module = env["ir.module.module"].search([("name", "=", ADDON)])
        check("the addon is uninstalled", module.state == "uninstalled")
        check("no view of the addon is left", not env["ir.model.data"].search_count([("module", "=", ADDON)]))
        env["sale.order"].get_views([(False, "form"), (False, "list")])
        check("standard Cancel works as before", standard_cancel_works(env))
        cr.rollback()

    check_purchase_addon(dbname)

    failed = results.count(False)
    print(f"apps-install: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
