from odoo import api, fields, models
from odoo.exceptions import UserError

# What makes a points discount line worth its points.
LOCKED_FIELDS = {"retail_points_redeemed", "price_unit", "quantity", "product_uom_qty",
                 "discount", "product_id", "tax_ids"}


class RetailPointsDiscountLineMixin(models.AbstractModel):
    """Invoice and order lines paid with points: only the redemption (as superuser)
    writes their points, and nobody changes what they are worth afterwards."""

    _name = "retail.points.discount.line.mixin"
    _description = "Line Paid with Loyalty Points"

    retail_points_redeemed = fields.Integer(
        string="Points Redeemed", readonly=True, copy=False,
        help="Points this discount line was paid with.",
    )

    _retail_points_redeemed_positive = models.Constraint(
        "CHECK(retail_points_redeemed >= 0)", "Points paid cannot be negative."
    )

    def _retail_points_documents(self):
        """The invoices or orders these lines belong to."""
        raise NotImplementedError

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

    def unlink(self):
        # Removing a points discount line from a draft document gives the points back.
        documents = self.filtered("retail_points_redeemed")._retail_points_documents()
        result = super().unlink()
        documents.exists()._retail_sync_points()
        return result
