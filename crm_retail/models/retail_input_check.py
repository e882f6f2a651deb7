"""Values sent over the API checked against their fields before the ORM converts them.

Odoo converts what ``create`` and ``write`` receive as it goes: a date it cannot parse, a
selection value out of its list or a word for a number end in a ValueError or a TypeError,
a traceback for the client; a string for a many2one is stored as no record at all, and an
integer beyond PostgreSQL's fails the insert. The models of the addon call
:func:`check_field_values` first, so that such values get a clear, translated error and
nothing is saved.
"""
import math
from datetime import date

from odoo import api, models
from odoo.exceptions import ValidationError

# PostgreSQL's integer (int4), the column of an Integer field.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# What an error message shows of the value that was refused.
SHOWN_CHARS = 60


def check_field_values(model, vals, field_names=None):
    """Raise a ValidationError naming the field for the first value of ``vals`` its field
    cannot take; only the keys of ``vals`` (among ``field_names`` when given) are looked
    at. False and None are an empty value for every type; types not listed here (x2many,
    binary...) are left to the ORM."""
    for fname, value in vals.items():
        if field_names is not None and fname not in field_names:
            continue
        field = model._fields.get(fname)
        if field is None or value is None or value is False:
            continue
        checker = CHECKERS.get(field.type)
        if checker is not None and not checker(model.env, field, value):
            raise _error(model.env, field, value)


def _is_number(value):
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


def _integer(_env, _field, value):
    # A float is taken as Odoo takes it (int() of it), within the column's range.
    return _is_number(value) and INT_MIN <= int(value) <= INT_MAX


def _number(_env, _field, value):
    return _is_number(value)


def _text(_env, _field, value):
    return isinstance(value, str)


def _boolean(_env, _field, value):
    # 0 and 1 as some clients send them; not a string, whose bool() is always True.
    return isinstance(value, int) and value in (0, 1)


def _selection(env, field, value):
    # "" is empty, as for Odoo; True == 1: a boolean is no key.
    return value == "" or (not isinstance(value, bool) and value in field.get_values(env))


def _many2one(_env, field, value):
    if isinstance(value, models.BaseModel):
        return value._name == field.comodel_name and len(value) <= 1
    return type(value) is int and 0 < value <= INT_MAX


def _temporal(env, field, value):
    if not isinstance(value, (str, date)):
        return False
    try:
        field.convert_to_cache(value, env[field.model_name])
    except (ValueError, TypeError):
        return False
    return True


CHECKERS = {
    "integer": _integer,
    "float": _number,
    "monetary": _number,
    "char": _text,
    "text": _text,
    "html": _text,
    "boolean": _boolean,
    "selection": _selection,
    "many2one": _many2one,
    "date": _temporal,
    "datetime": _temporal,
}


def _error(env, field, value):
    label = field._description_string(env)
    shown = str(value)
    if len(shown) > SHOWN_CHARS:
        shown = shown[:SHOWN_CHARS - 1] + "…"
    if field.type == "date":
        return ValidationError(env._(
            "“%(value)s” is not a valid value for %(field)s: enter a date as YYYY-MM-DD, "
            "for example 1990-12-31.", value=shown, field=label))
    if field.type == "datetime":
        return ValidationError(env._(
            "“%(value)s” is not a valid value for %(field)s: enter a date and time as "
            "YYYY-MM-DD HH:MM:SS, for example 2026-01-31 14:30:00.", value=shown, field=label))
    if field.type == "selection":
        return ValidationError(env._(
            "“%(value)s” is not a valid value for %(field)s: use one of %(values)s.",
            value=shown, field=label, values=", ".join(map(str, field.get_values(env)))))
    if field.type == "integer":
        return ValidationError(env._(
            "“%(value)s” is not a valid value for %(field)s: enter a whole number between "
            "%(min)s and %(max)s.", value=shown, field=label, min=INT_MIN, max=INT_MAX))
    if field.type in ("float", "monetary"):
        return ValidationError(env._(
            "“%(value)s” is not a valid value for %(field)s: enter a number.",
            value=shown, field=label))
    if field.type == "many2one":
        return ValidationError(env._(
            "“%(value)s” is not a valid value for %(field)s: give the id of a record of "
            "%(model)s.", value=shown, field=label,
            model=env["ir.model"]._get(field.comodel_name).name))
    if field.type == "boolean":
        return ValidationError(env._(
            "“%(value)s” is not a valid value for %(field)s: send true or false.",
            value=shown, field=label))
    return ValidationError(env._(
        "“%(value)s” is not a valid value for %(field)s: enter text.",
        value=shown, field=label))


class RetailCheckedValuesMixin(models.AbstractModel):
    """Every value a create or write brings is checked against its field's type before
    the ORM converts it: a malformed value from the API gets a clear error, not a
    traceback."""

    _name = "retail.checked.values.mixin"
    _description = "Values Checked Before Saving"

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._retail_check_values(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._retail_check_values(vals)
        return super().write(vals)

    @api.model
    def _retail_check_values(self, vals):
        """Raise a clear error for a value the save would fail on; a model adds its own
        checks by overriding this."""
        return check_field_values(self, vals)
