"""19.0.1.1.0, before the models load:

- the segment's exclusive group is ``exclusive_group``, no longer ``group`` (an SQL
  keyword): the column, the field records (with their xmlids and translated labels) and
  the saved filters and export lists that name it follow, so that Odoo renames rather than
  drops the field and creates an empty one;
- ``retail.segment.member`` is an ORM table now, with foreign keys to the customer and the
  company: the rows of customers or companies deleted since (which waited for the next
  full recompute) go first, as the keys would refuse them, and the unique constraint takes
  the ORM's name, so that the ORM adopts the table and its memberships as they are."""

import logging

from odoo.tools import SQL
from odoo.tools.sql import column_exists, constraint_definition, rename_column, table_exists

_logger = logging.getLogger(__name__)

SEGMENT_MODELS = ("retail.segment", "retail.segment.report")


def migrate(cr, version):
    if not version:
        return
    _rename_group(cr)
    _adopt_members(cr)


def _rename_group(cr):
    if column_exists(cr, "retail_segment", "group") and \
            not column_exists(cr, "retail_segment", "exclusive_group"):
        rename_column(cr, "retail_segment", "group", "exclusive_group")
    cr.execute(SQL(
        """
        UPDATE ir_model_fields SET name = 'exclusive_group'
         WHERE model IN %s AND name = 'group'
        """,
        SEGMENT_MODELS,
    ))
    cr.execute(SQL(
        """
        UPDATE ir_model_data
           SET name = regexp_replace(name, '__group$', '__exclusive_group')
         WHERE module = 'crm_retail' AND model = 'ir.model.fields'
           AND name IN ('field_retail_segment__group', 'field_retail_segment_report__group')
        """
    ))
    # Saved filters (favorites) grouping or filtering by the field, by its quoted name.
    for column in ("domain", "context", "sort"):
        cr.execute(SQL(
            """
            UPDATE ir_filters
               SET %(column)s = regexp_replace(%(column)s, '([''"])group(( desc| asc)?[''"])',
                                               '\\1exclusive_group\\2', 'g')
             WHERE model_id IN %(models)s AND %(column)s ~ '[''"]group( desc| asc)?[''"]'
            """,
            column=SQL.identifier(column), models=SEGMENT_MODELS,
        ))
    if table_exists(cr, "ir_exports_line"):
        cr.execute(SQL(
            """
            UPDATE ir_exports_line line SET name = 'exclusive_group'
              FROM ir_exports export
             WHERE export.id = line.export_id AND export.resource IN %s
               AND line.name = 'group'
            """,
            SEGMENT_MODELS,
        ))


def _adopt_members(cr):
    if not table_exists(cr, "retail_segment_member"):
        return
    cr.execute(SQL(
        """
        DELETE FROM retail_segment_member m
         WHERE NOT EXISTS (SELECT 1 FROM res_partner p WHERE p.id = m.partner_id)
            OR NOT EXISTS (SELECT 1 FROM res_company c WHERE c.id = m.company_id)
        """
    ))
    if cr.rowcount:
        _logger.info("Segment memberships of %s deleted customers or companies dropped",
                     cr.rowcount)
    # Never NULL since the arrays' CHECK constraint (the old NOT NULL did not last).
    cr.execute(SQL(
        """
        UPDATE retail_segment_member
           SET segment_ids = COALESCE(segment_ids, '{}'), manual_ids = COALESCE(manual_ids, '{}')
         WHERE segment_ids IS NULL OR manual_ids IS NULL
        """
    ))
    old, new = "retail_segment_member_partner_id_company_id_key", \
        "retail_segment_member_partner_company_unique"
    if constraint_definition(cr, "retail_segment_member", old) and \
            not constraint_definition(cr, "retail_segment_member", new):
        # Renamed, with the definition the ORM compares: never a moment without it.
        definition = "UNIQUE(partner_id, company_id)"
        cr.execute(SQL(
            "ALTER TABLE retail_segment_member RENAME CONSTRAINT %s TO %s",
            SQL.identifier(old), SQL.identifier(new)))
        cr.execute(SQL(
            "COMMENT ON CONSTRAINT %s ON retail_segment_member IS %s",
            SQL.identifier(new), definition))
