from odoo.tests import tagged

from .common import CancelReconciledCommon

# The paths the README, the addon's README and the demo banner print, by the menus' xml ids.
DOCUMENTED_PATHS = {
    "Sales > Orders > Orders": "sale.menu_sale_order",
    "Sales > Orders > Cancelled Reconciled Orders": (
        "order_cancel_reconciled.sale_order_cancel_reconciled_log_menu_sales"
    ),
    "Sales > Orders > Background Cancellations": "order_cancel_reconciled.sale_order_cancel_reconciled_batch_menu",
    "Sales > Configuration > Settings": "sale.menu_sale_general_settings",
    "Sales > Configuration > Cancellation Reasons": "order_cancel_reconciled.sale_order_cancel_reconciled_reason_menu",
    "Invoicing > Review > Cancelled Reconciled Orders": (
        "order_cancel_reconciled.sale_order_cancel_reconciled_log_menu_accounting"
    ),
    "Sales > Orders > Cancellation Analysis": "order_cancel_reconciled.sale_order_cancel_reconciled_analysis_menu",
    "Invoicing > Reporting > Management > Cancellation Analysis": (
        "order_cancel_reconciled.sale_order_cancel_reconciled_analysis_menu_accounting"
    ),
}


@tagged("post_install", "-at_install")
class TestMenus(CancelReconciledCommon):
    """Each role reaches its screens from the home menu, by the paths the documentation prints."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.roles = {
            "salesperson": cls.new_user("menu_salesperson", "sales_team.group_sale_salesman"),
            "member": cls.new_user("menu_member", "order_cancel_reconciled.group_cancel_reconciled"),
            "sales manager": cls.new_user("menu_manager", "sales_team.group_sale_manager"),
            "billing user": cls.new_user("menu_billing", "account.group_account_invoice"),
            "billing administrator": cls.new_user("menu_billing_admin", "account.group_account_manager"),
            "administrator": cls.env.ref("base.user_admin"),
        }

    def reachable_paths(self, user):
        """Every menu the user sees, as "App > Section > Item", by xml id."""
        menus = self.env["ir.ui.menu"].with_user(user).load_menus(debug=False)
        by_id = {menu["id"]: menu for key, menu in menus.items() if key != "root"}
        paths = {}

        def walk(menu_id, names):
            menu = by_id[menu_id]
            path = [*names, menu["name"]]
            if menu.get("xmlid"):
                paths[menu["xmlid"]] = " > ".join(path)
            for child in menu["children"]:
                walk(child, path)

        for root in menus["root"]["children"]:
            walk(root, [])
        return paths

    def test_each_role_reaches_its_screens_by_the_documented_paths(self):
        expected = {
            "salesperson": ["Sales > Orders > Orders"],
            "member": [
                "Sales > Orders > Orders",
                "Sales > Orders > Cancelled Reconciled Orders",
                "Sales > Orders > Background Cancellations",
            ],
            # Odoo shows Settings to administrators only.
            "sales manager": ["Sales > Orders > Orders", "Sales > Configuration > Cancellation Reasons"],
            "billing user": ["Invoicing > Review > Cancelled Reconciled Orders"],
            "billing administrator": [
                "Invoicing > Review > Cancelled Reconciled Orders",
                "Invoicing > Reporting > Management > Cancellation Analysis",
            ],
            "administrator": list(DOCUMENTED_PATHS),
        }
        for role, documented in expected.items():
            paths = self.reachable_paths(self.roles[role])
            for path in documented:
                with self.subTest(role=role, path=path):
                    self.assertEqual(paths.get(DOCUMENTED_PATHS[path]), path)
        self.assertNotIn(
            DOCUMENTED_PATHS["Sales > Orders > Cancelled Reconciled Orders"],
            self.reachable_paths(self.roles["salesperson"]),
        )
        # An accountant without sales rights gets no Sales app for the analysis alone.
        billing_paths = self.reachable_paths(self.roles["billing administrator"]).values()
        self.assertFalse([path for path in billing_paths if path.startswith("Sales")])

    def test_administrators_grant_the_right_as_a_named_choice(self):
        """The user form shows "Cancel Paid Orders" as a selection without developer mode, and
        the Sales choice stays there too."""
        group = self.env.ref("order_cancel_reconciled.group_cancel_reconciled")
        apps = {
            category: (kind, groups)
            for category, kind, groups, _section in self.env["res.groups"].get_groups_by_application()
        }
        self.assertEqual(
            apps[self.env.ref("order_cancel_reconciled.module_category_cancel_reconciled")], ("selection", group)
        )
        self.assertEqual(
            apps[self.env.ref("base.module_category_sales_sales")][0], "selection", "the Sales choice is kept"
        )
        admin_users = self.env["res.users"].with_user(self.roles["administrator"])
        arch = admin_users.get_view(self.env.ref("base.view_users_form").id, "form")["arch"]
        field = f"sel_groups_{group.id}"
        self.assertIn(f'name="{field}"', arch)
        self.assertEqual(admin_users.fields_get([field], ["string"])[field]["string"], "Cancel Paid Orders")
        sales = self.env.ref("sales_team.group_sale_manager")
        self.assertRegex(arch, rf'name="sel_groups_[0-9_]*_{sales.id}"', "Sales keeps its own choice")
        # Chosen in the form, it makes the user a member (and a salesperson).
        user = self.roles["salesperson"]
        user.write({f"sel_groups_{group.id}": group.id})
        self.assertTrue(user.has_group("order_cancel_reconciled.group_cancel_reconciled"))
