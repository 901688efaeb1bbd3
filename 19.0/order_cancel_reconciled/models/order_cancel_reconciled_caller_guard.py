"""What a remote caller hands the addons' methods is checked before any code reads it.

Over RPC the ids of a call are whatever the caller sent: Odoo browses a string, a dict or None
as they come, and the first query on them fails deep in the ORM with a server error. The addons
refuse them first, with a clear error: the models they define check every browse (so every
method, theirs or Odoo's, called on them over RPC), and the methods they add to Odoo's models
check their records on entry (``caller_checked``).
"""

import functools
from collections.abc import Mapping

from odoo import api, models
from odoo.exceptions import UserError
from odoo.orm.identifiers import NewId


def _is_caller_id(value):
    # bool is an int; a record id is a positive int. NewId: a record being edited in a form.
    return (value.__class__ is int and value > 0) or isinstance(value, NewId)


def check_caller_ids(records):
    """Refuse records whose ids are not record ids (a string, a dict's keys, None's, negative)."""
    if not all(_is_caller_id(value) for value in records._ids):
        raise UserError(records.env._("Records are given by their ids: a list of positive whole numbers."))


def check_caller_vals(model, vals_list, many=True):
    """Refuse values that are not a dictionary (or, for create, a list of dictionaries)."""
    if isinstance(vals_list, Mapping):
        return
    if not (many and isinstance(vals_list, list | tuple) and all(isinstance(vals, Mapping) for vals in vals_list)):
        raise UserError(model.env._("Values are given as a dictionary of field names and values, or a list of them."))


def check_caller_fields(model, fields_list):
    """Refuse field names that are not a list of strings."""
    if not isinstance(fields_list, list | tuple) or not all(isinstance(name, str) for name in fields_list):
        raise UserError(model.env._("Field names are given as a list of strings."))


def caller_checked(method):
    """Check the records' ids before the method runs: for the methods the addons add to Odoo's
    models, whose browse they leave alone (it runs everywhere in Odoo)."""

    @functools.wraps(method)
    def checked(self, *args, **kwargs):
        check_caller_ids(self)
        return method(self, *args, **kwargs)

    return checked


class OrderCancelReconciledCallerGuard(models.AbstractModel):
    """Inherited by every model the addons define (the dialogs, logs, batches, requests, reasons,
    the analysis): malformed ids and values are refused clearly, and an action on one record
    given none or many says so instead of failing with "Expected singleton"."""

    _name = "order.cancel.reconciled.caller.guard"
    _description = "Checks of a caller's ids and values"

    def browse(self, ids=None):
        records = super().browse(ids)
        check_caller_ids(records)
        return records

    def ensure_one(self):
        if len(self._ids) != 1:
            raise UserError(
                self.env._("This action works on one record at a time, not %(count)s.", count=len(self._ids))
            )
        return self

    @api.model_create_multi
    def create(self, vals_list):
        check_caller_vals(self, vals_list)
        return super().create(vals_list)

    def write(self, vals):
        check_caller_vals(self, vals, many=False)
        return super().write(vals)

    @api.model
    def default_get(self, fields_list):
        check_caller_fields(self, fields_list)
        return super().default_get(fields_list)
