"""19.0.1.2.0, before the models load: every field the addon adds to a model it does not
own starts with ``retail_`` (CONTRIBUTING.md), so the customer's gender, birthday, debt and
loyalty fields are renamed. Each keeps its data: the column (and its index), the field
record with its xmlid, selection values and tracked history, and the saved filters and
export lists that name it follow, so that Odoo renames rather than drops the field and
creates an empty one."""

import logging
import re

from odoo.tools import SQL
from odoo.tools.sql import column_exists, rename_column

_logger = logging.getLogger(__name__)

PARTNER_METHODS = {
    "action_view_debt_aging": "action_retail_view_debt_aging",
    "action_view_points_history": "action_retail_view_points_history",
}
PARTNER_FIELDS = (
    "gender", "birthday", "birthday_month",
    "debt_amount", "debt_overdue_amount", "debt_overdue_days", "debt_status",
    "loyalty_points", "loyalty_points_total", "loyalty_tier_id", "loyalty_points_line_ids",
)


def migrate(cr, version):
    if not version:
        return
    for old in PARTNER_FIELDS:
        _rename_partner_field(cr, old, f"retail_{old}")
    _rename_in_views(cr, {**{old: f"retail_{old}" for old in PARTNER_FIELDS},
                          **PARTNER_METHODS})


def _rename_partner_field(cr, old, new):
    if column_exists(cr, "res_partner", old) and not column_exists(cr, "res_partner", new):
        rename_column(cr, "res_partner", old, new)
        # The ORM looks its index up by name: renamed, it is not built a second time.
        cr.execute(SQL(
            "ALTER INDEX IF EXISTS %s RENAME TO %s",
            SQL.identifier(f"res_partner__{old}_index"),
            SQL.identifier(f"res_partner__{new}_index"),
        ))
    # The field record keeps its id: tracking values, defaults and selection values follow.
    cr.execute(SQL(
        "UPDATE ir_model_fields SET name = %s WHERE model = 'res.partner' AND name = %s",
        new, old,
    ))
    cr.execute(SQL(
        """
        UPDATE ir_model_data
           SET name = CASE WHEN model = 'ir.model.fields' THEN %(field_new)s
                           ELSE %(selection_new)s || substr(name, length(%(selection_old)s) + 1)
                      END
         WHERE module = 'crm_retail'
           AND (name = %(field_old)s
                OR (model = 'ir.model.fields.selection'
                    AND starts_with(name, %(selection_old)s)))
        """,
        field_old=f"field_res_partner__{old}", field_new=f"field_res_partner__{new}",
        selection_old=f"selection__res_partner__{old}__",
        selection_new=f"selection__res_partner__{new}__",
    ))
    # Saved filters (favorites) on customers name the field quoted, alone or in a path;
    # on other models only as the end of a path from a customer (``partner_id.x``).
    for column in ("domain", "context", "sort"):
        cr.execute(SQL(
            """
            UPDATE ir_filters
               SET %(column)s = regexp_replace(%(column)s, %(pattern)s, %(replacement)s, 'g')
             WHERE %(column)s ~ %(pattern)s
               AND (model_id = 'res.partner' OR %(column)s ~ %(path_pattern)s)
            """,
            column=SQL.identifier(column),
            pattern=f"([.'\"]){old}(( desc| asc)?['\".])",
            path_pattern=f"\\.{old}(( desc| asc)?['\".])",
            replacement=f"\\1{new}\\2",
        ))
    cr.execute(SQL(
        """
        UPDATE ir_exports_line line
           SET name = %(new)s || substr(line.name, length(%(old)s) + 1)
          FROM ir_exports export
         WHERE export.id = line.export_id AND export.resource = 'res.partner'
           AND (line.name = %(old)s OR starts_with(line.name, %(old)s || '/'))
        """,
        old=old, new=new,
    ))
    if cr.rowcount:
        _logger.info("Export lists of customers: %s renamed to %s", old, new)


def _rename_in_views(cr, renames):
    """The addon's customer views (and its portal template) as stored name the old fields
    and buttons. Odoo validates each view of the module as it reloads it, combined with
    the module's other views, not reloaded yet: those must already say the new names."""
    cr.execute(SQL(
        """
        SELECT view.id, view.arch_db::text
          FROM ir_ui_view view
          JOIN ir_model_data data ON data.model = 'ir.ui.view' AND data.res_id = view.id
         WHERE data.module = 'crm_retail' AND (view.model = 'res.partner' OR view.type = 'qweb')
        """
    ))
    pattern = re.compile(r"\b({})\b".format("|".join(map(re.escape, renames))))
    for view_id, arch in cr.fetchall():
        renamed = pattern.sub(lambda match: renames[match.group(1)], arch)
        if renamed != arch:
            cr.execute(SQL("UPDATE ir_ui_view SET arch_db = %s::jsonb WHERE id = %s",
                           renamed, view_id))
