from odoo import fields, models


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    retail_points_redeemed = fields.Integer(
        string="Points Redeemed", readonly=True, copy=False,
        help="Points this discount line was paid with.",
    )

    def unlink(self):
        # Removing a points discount line from a quotation gives the points back.
        orders = self.filtered("retail_points_redeemed").order_id
        result = super().unlink()
        orders.exists()._retail_sync_points()
        return result
