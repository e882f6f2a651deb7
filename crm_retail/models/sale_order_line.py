from odoo import models


class SaleOrderLine(models.Model):
    _name = "sale.order.line"
    _inherit = ["sale.order.line", "retail.points.discount.line.mixin"]

    def _retail_points_documents(self):
        return self.order_id
