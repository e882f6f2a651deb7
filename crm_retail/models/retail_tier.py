from odoo import fields, models


class RetailTier(models.Model):
    """A membership tier (hạng thẻ): reached at a threshold of lifetime points or of
    12-month spend (the company's basis), with Odoo's own benefits: a pricelist and
    a multiplier on the points earned."""

    _name = "retail.tier"
    _inherit = ["retail.checked.values.mixin"]
    _description = "Membership Tier"
    _order = "company_id, threshold, sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", index=True, default=lambda self: self.env.company,
        help="Leave empty to use the tier in every company.",
    )
    threshold = fields.Float(
        required=True, default=0.0,
        help="Lifetime points, or spend over the last 12 months in company currency, "
        "from which a customer reaches this tier (the company's tier basis).",
    )
    color = fields.Integer()
    pricelist_id = fields.Many2one(
        "product.pricelist",
        help="Special prices for the customers of this tier: it becomes their pricelist.",
    )
    points_multiplier = fields.Float(
        default=1.0, required=True,
        help="Points earned by customers of this tier are multiplied by this factor.",
    )
    partner_count = fields.Integer(compute="_compute_partner_count", string="Customers")

    _threshold_positive = models.Constraint(
        "CHECK(threshold >= 0)", "A tier's threshold cannot be negative."
    )
    _multiplier_positive = models.Constraint(
        "CHECK(points_multiplier >= 0)", "A tier's points multiplier cannot be negative."
    )

    def _compute_partner_count(self):
        counts = dict(self.env["res.partner"]._read_group(
            [("retail_loyalty_tier_id", "in", self.ids)], ["retail_loyalty_tier_id"], ["__count"]
        ))
        for tier in self:
            tier.partner_count = counts.get(tier, 0)
