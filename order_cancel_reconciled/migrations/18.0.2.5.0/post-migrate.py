"""18.0.2.5.0 (from 18.0.2.4.1)

The reason a cancellation given none is logged with is renamed "No reason given" (it said "by
code"): a person who leaves an optional reason empty gets it too, and the log's channel says who
cancelled. Its record is loaded once (noupdate): renamed here in each language where it still has
the words this addon gave it, not where an administrator renamed it.
"""

import logging

from odoo import SUPERUSER_ID, api

_logger = logging.getLogger(__name__)

# The words this addon gave the reason, and its new ones, by language.
RENAMED = {
    "en_US": ("No reason given (by code)", "No reason given"),
    "fr_FR": ("Aucune raison donnée (par le code)", "Aucune raison donnée"),
    "zh_CN": ("未提供原因（由程序取消）", "未提供原因"),
}


def rename_reason_not_given(env):
    reason = env.ref("order_cancel_reconciled.reason_not_given", raise_if_not_found=False)
    if not reason:
        return []
    installed = {code for code, _name in env["res.lang"].get_installed()} | {"en_US"}
    renamed = []
    for lang, (old, new) in RENAMED.items():
        # A language without words of its own reads the English ones: renamed with them.
        if lang in installed and reason.with_context(lang=lang).name == old:
            reason.with_context(lang=lang).name = new
            renamed.append(lang)
    return renamed


def migrate(cr, version):
    if not version:
        return
    renamed = rename_reason_not_given(api.Environment(cr, SUPERUSER_ID, {}))
    _logger.info("order_cancel_reconciled 18.0.2.5.0: the reason given to none renamed in %s", renamed or "no language")
