"""18.0.1.2.0: the group "Cancel reconciled orders" moves to a category of its own.

The group is noupdate data, so the upgrade would leave it in the Sales category, where it breaks
that category's chain of groups and the user form hides the whole Sales choice. The category is
created by the data files; the group is moved here unless an administrator put it elsewhere.
"""

import logging

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    from odoo import SUPERUSER_ID, api

    env = api.Environment(cr, SUPERUSER_ID, {})
    group = env.ref("order_cancel_reconciled.group_cancel_reconciled", raise_if_not_found=False)
    category = env.ref("order_cancel_reconciled.module_category_cancel_reconciled", raise_if_not_found=False)
    if not group or not category:
        return
    if group.category_id != env.ref("base.module_category_sales_sales"):
        _logger.info("The group's category was changed by an administrator: left as it is.")
        return
    group.category_id = category
    _logger.info("Group %s moved to the category %s.", group.name, category.name)
