from odoo import fields, models


class RetailSegmentMember(models.Model):
    """A customer put in a segment by the segment's rule.

    Kept apart from the partner tags so that the recompute knows which tags it added:
    it removes a segment's tag from a customer only when the rule had added it, never a
    tag that a user had already set by hand. Written only by the segment recompute, in
    SQL."""

    _name = "retail.segment.member"
    _description = "Customer Segment Membership"
    _order = "segment_id, partner_id"

    segment_id = fields.Many2one(
        "retail.segment", required=True, ondelete="cascade", readonly=True)
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade",
        readonly=True)
    company_id = fields.Many2one(related="segment_id.company_id")
    tag_was_manual = fields.Boolean(
        string="Tag Set by Hand", readonly=True,
        help="The customer already had the segment's tag when the rule added it: the tag "
        "stays when the rule stops matching.")

    _segment_partner_unique = models.Constraint(
        "UNIQUE(segment_id, partner_id)", "A customer is in a segment once.")
