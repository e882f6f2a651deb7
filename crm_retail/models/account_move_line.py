from odoo import models


class AccountMoveLine(models.Model):
    _name = "account.move.line"
    _inherit = ["account.move.line", "retail.points.discount.line.mixin"]

    def _retail_points_documents(self):
        return self.move_id
