"""Which translatable strings of an addon have no translation in its .po files."""

import polib

from odoo.tools.misc import file_path
from odoo.tools.translate import TranslationModuleReader


def untranslated_terms(env, addon, lang):
    """The addon's translatable terms, read from its code, views and data as Odoo exports them
    (not from the .pot, which may be stale), that i18n/<lang>.po does not translate."""
    catalog = polib.pofile(file_path(f"{addon}/i18n/{lang}.po"))
    translated = {entry.msgid for entry in catalog if entry.msgstr and "fuzzy" not in entry.flags}
    terms = {
        source
        for module, _type, _name, _res_id, source, _value, _comments in TranslationModuleReader(env.cr, [addon])
        if module == addon
    }
    return sorted(terms - translated)
