"""18.0.1.1.0: the customer message no longer reads the log (it did not exist yet when the
wizard rendered it); it takes the options from the rendering context.

The template is noupdate data: the upgrade would keep the 1.0.0 body, which reads a field only
accountants and members may read. Its subject and body are brought to the new version unless an
administrator has already edited them.
"""

import logging
from pathlib import Path

from lxml import etree

_logger = logging.getLogger(__name__)

XMLID = "order_cancel_reconciled.mail_template_order_cancel_reconciled"
OLD_EXPRESSION = "cancel_reconciled_log_ids"


def _new_body():
    data = Path(__file__).parents[2] / "data" / "mail_template_data.xml"
    record = etree.parse(str(data)).find(".//record[@id='mail_template_order_cancel_reconciled']")
    field = record.find("field[@name='body_html']")
    return "".join(etree.tostring(child, encoding="unicode") for child in field)


def migrate(cr, version):
    from odoo import SUPERUSER_ID, api

    env = api.Environment(cr, SUPERUSER_ID, {})
    template = env.ref(XMLID, raise_if_not_found=False)
    if not template:
        return
    bodies = template.with_context(active_test=False).read(["body_html"])[0]["body_html"] or ""
    if OLD_EXPRESSION not in bodies:
        _logger.info("Customer message template already updated or edited: left as it is.")
        return
    template.body_html = _new_body()
    _logger.info("Customer message template updated to read the options from the context.")
