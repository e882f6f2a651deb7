from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL


class RetailSegmentMember(models.Model):
    """The segments a customer is in by their rules, in one company, kept apart from the
    contact tags so that the recompute knows which tags it added: it removes a segment's
    tag from a customer only when the rule had added it, never a tag that a user had
    already set by hand.

    One row per customer and company, with the segment ids in an array: the recompute
    compares and writes one row per customer instead of one per membership (four times
    fewer at 100,000 customers), in SQL only. No foreign keys: the rows of deleted
    customers are dropped by the next full recompute, and inserting saves a check per
    row."""

    _name = "retail.segment.member"
    _description = "Customer Segments by Rule"
    _auto = False
    _order = "company_id, partner_id"
    _rec_name = "partner_id"

    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    segment_ids = fields.Many2many(
        "retail.segment", string="Segments by Rule", compute="_compute_segment_ids")
    manual_segment_ids = fields.Many2many(
        "retail.segment", string="Tags Already Set by Hand", compute="_compute_segment_ids",
        help="Segments whose tag the customer already had when the rule added it: the tag "
        "stays when the rule stops matching.")

    def init(self):
        self.env.cr.execute(SQL(
            """
            CREATE TABLE IF NOT EXISTS retail_segment_member (
                id serial PRIMARY KEY,
                partner_id integer NOT NULL,
                company_id integer NOT NULL,
                segment_ids integer[] NOT NULL,
                manual_ids integer[] NOT NULL DEFAULT '{}',
                UNIQUE (partner_id, company_id)
            )
            """
        ))

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
