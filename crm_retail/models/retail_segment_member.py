from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, sql


class RetailSegmentMember(models.Model):
    """The segments a customer is in by their rules, in one company, kept apart from the
    contact tags so that the recompute knows which tags it added: it removes a segment's
    tag from a customer only when the rule had added it, never a tag that a user had
    already set by hand.

    One row per customer and company, with the segment ids in an array: the recompute
    compares and writes one row per customer instead of one per membership (four times
    fewer at 100,000 customers), in SQL only (retail_segment_diff.py). The customer and
    the company are foreign keys: their rows go with them. The segment ids, an array,
    cannot be: a segment's ids are taken out of the arrays before it is deleted
    (``retail.segment._clear_members``)."""

    _name = "retail.segment.member"
    _description = "Customer Segments by Rule"
    _order = "company_id, partner_id"
    _rec_name = "partner_id"
    # Written by the recompute in SQL only: who and when are the segment's last_recompute.
    _log_access = False

    # No index of their own: the unique index below leads with the customer (the lookups
    # and the cascade from res.partner use it), and the recompute reads a company's rows
    # in full.
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, readonly=True, ondelete="cascade")
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, ondelete="cascade")
    segment_ids = fields.Many2many(
        "retail.segment", string="Segments by Rule", compute="_compute_segment_ids")
    manual_segment_ids = fields.Many2many(
        "retail.segment", string="Tags Already Set by Hand", compute="_compute_segment_ids",
        help="Segments whose tag the customer already had when the rule added it: the tag "
        "stays when the rule stops matching.")

    # The recompute upserts on it (ON CONFLICT (partner_id, company_id)); no message:
    # only the recompute writes the table.
    _partner_company_unique = models.Constraint("UNIQUE(partner_id, company_id)")

    def init(self):
        # The arrays the ORM has no field type for, read by _compute_segment_ids. Never
        # NULL by a CHECK: Odoo drops NOT NULL from the columns without a field at each
        # update, and applies its own constraints before init() adds the columns.
        cr = self.env.cr
        cr.execute(SQL(
            """
            ALTER TABLE retail_segment_member
                ADD COLUMN IF NOT EXISTS segment_ids integer[] DEFAULT '{}',
                ADD COLUMN IF NOT EXISTS manual_ids integer[] DEFAULT '{}',
                ALTER COLUMN segment_ids SET DEFAULT '{}',
                ALTER COLUMN manual_ids SET DEFAULT '{}'
            """
        ))
        name = "retail_segment_member_arrays_not_null"
        if not sql.constraint_definition(cr, self._table, name):
            sql.add_constraint(cr, self._table, name,
                               "CHECK(segment_ids IS NOT NULL AND manual_ids IS NOT NULL)")

    def _compute_segment_ids(self):
        self.env.cr.execute(SQL(
            "SELECT id, segment_ids, manual_ids FROM retail_segment_member WHERE id = ANY(%s)",
            self.ids))
        rows = {row[0]: row[1:] for row in self.env.cr.fetchall()}
        existing = self.env["retail.segment"].browse(
            {sid for ids, manual in rows.values() for sid in ids + manual}).exists()
        for member in self:
            ids, manual = rows.get(member.id, ([], []))
            member.segment_ids = existing.filtered(lambda s, ids=ids: s.id in ids)
            member.manual_segment_ids = existing.filtered(lambda s, ids=manual: s.id in ids)

    def _retail_check_engine(self):
        if not self.env.su:
            raise UserError(self.env._(
                "Segment memberships follow the segment rules: edit a segment's rule, or "
                "the customer's tags, instead."))

    @api.model_create_multi
    def create(self, vals_list):
        self._retail_check_engine()
        return super().create(vals_list)

    def write(self, vals):
        self._retail_check_engine()
        return super().write(vals)

    def unlink(self):
        self._retail_check_engine()
        return super().unlink()
