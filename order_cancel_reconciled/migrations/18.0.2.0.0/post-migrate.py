"""18.0.2.0.0 (from 18.0.1.1.0)

- The group "Cancel reconciled orders" moves to a category of its own. The group is noupdate
  data, so the upgrade would leave it in the Sales category, where it breaks that category's
  chain of groups and the user form hides the whole Sales choice. The category is created by the
  data files; the group is moved here unless an administrator put it elsewhere.
- Log titles and line descriptions are rendered when read, from the facts the log stores. The
  one fact that lived only in the stored words is the exchange difference entry an unreconciled
  match reversed: it is found again in the old description (kept in its column) and linked.
- The customer message of a refund says how much goes back which way and when: the template is
  noupdate data, so its body is brought to this version unless an administrator edited it.
- Customers may ask to cancel on the portal, choosing among the reasons shown to customers. The
  reasons are noupdate data: the two meant for customers are offered here.
- The log records a kind of order: the ORM fills the new required column order_kind with its
  default ('sale') for the existing logs, and drops NOT NULL from order_id; nothing to do here.
"""

import logging
import re
from pathlib import Path

from lxml import etree

from odoo.tools.sql import column_exists

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    from odoo import SUPERUSER_ID, api

    env = api.Environment(cr, SUPERUSER_ID, {})
    _link_exchange_moves(env)
    _move_group(env)
    _offer_reasons_on_portal(env)
    _update_customer_message(env)


def _update_customer_message(env):
    template = env.ref("order_cancel_reconciled.mail_template_order_cancel_reconciled", raise_if_not_found=False)
    body = template and (template.body_html or "")
    if not body or "cancel_reconciled_refunds" in body or "is being refunded to you.</t>" not in body:
        _logger.info("Customer message template already updated or edited: left as it is.")
        return
    data = Path(__file__).parents[2] / "data" / "mail_template_data.xml"
    record = etree.parse(str(data)).find(".//record[@id='mail_template_order_cancel_reconciled']")
    field = record.find("field[@name='body_html']")
    template.body_html = "".join(etree.tostring(child, encoding="unicode") for child in field)
    _logger.info("Customer message template updated: refunds say how and when.")


def _offer_reasons_on_portal(env):
    for xmlid in ("reason_customer_request", "reason_order_error"):
        reason = env.ref(f"order_cancel_reconciled.{xmlid}", raise_if_not_found=False)
        if reason:
            reason.show_on_portal = True


def _link_exchange_moves(env):
    cr = env.cr
    if not column_exists(cr, "sale_order_cancel_reconciled_log_line", "name"):
        return
    cr.execute(
        "SELECT id, name FROM sale_order_cancel_reconciled_log_line WHERE kind = 'unreconcile' AND name IS NOT NULL"
    )
    rows = cr.fetchall()
    if not rows:
        return
    journals = env["res.company"].search([]).currency_exchange_journal_id
    exchange_moves = env["account.move"].search(
        [("journal_id", "in", journals.ids), ("reversal_move_ids", "!=", False)]
    )
    by_name = {move.name: move for move in exchange_moves if move.name and move.name != "/"}
    if not by_name:
        return
    pattern = re.compile("|".join(re.escape(name) for name in sorted(by_name, key=len, reverse=True)))
    linked = 0
    for line_id, text in rows:
        found = pattern.search(text)
        if found:
            env["sale.order.cancel.reconciled.log.line"].browse(line_id).exchange_move_id = by_name[found.group(0)]
            linked += 1
    _logger.info("Exchange difference entries linked to %s unreconciled matches of earlier logs.", linked)


def _move_group(env):
    group = env.ref("order_cancel_reconciled.group_cancel_reconciled", raise_if_not_found=False)
    category = env.ref("order_cancel_reconciled.module_category_cancel_reconciled", raise_if_not_found=False)
    if not group or not category:
        return
    if group.category_id != env.ref("base.module_category_sales_sales"):
        _logger.info("The group's category was changed by an administrator: left as it is.")
        return
    group.category_id = category
    _logger.info("Group %s moved to the category %s.", group.name, category.name)
