from odoo import fields, models


class SaleOrderLine(models.Model):
    _name = "sale.order.line"
    _inherit = ["sale.order.line", "retail.points.discount.line.mixin"]

    retail_points_redeemed = fields.Integer(
        string="Points Redeemed", readonly=True, copy=False,
        help="Points this discount line was paid with.",
    )

    _retail_points_redeemed_positive = models.Constraint(
        "CHECK(retail_points_redeemed >= 0)", "Points paid cannot be negative."
    )

    def unlink(self):
        # Removing a points discount line from a quotation gives the points back.
        orders = self.filtered("retail_points_redeemed").order_id
        result = super().unlink()
        orders.exists()._retail_sync_points()
        return result
