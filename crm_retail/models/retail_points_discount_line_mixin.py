from odoo import api, models
from odoo.exceptions import UserError

# What makes a points discount line worth its points.
LOCKED_FIELDS = {"retail_points_redeemed", "price_unit", "quantity", "product_uom_qty",
                 "discount", "product_id", "tax_ids"}


class RetailPointsDiscountLineMixin(models.AbstractModel):
    """Invoice and order lines paid with points: only the redemption (as superuser)
    writes their points, and nobody changes what they are worth afterwards."""

    _name = "retail.points.discount.line.mixin"
    _description = "Line Paid with Loyalty Points"

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any(vals.get("retail_points_redeemed") for vals in vals_list):
            raise UserError(self.env._("Use Redeem Points to pay with points."))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and LOCKED_FIELDS & vals.keys() and (
                "retail_points_redeemed" in vals or self.filtered("retail_points_redeemed")):
            raise UserError(self.env._(
                "A line paid with points cannot be changed: delete it to give the points "
                "back, then redeem again."))
        return super().write(vals)
