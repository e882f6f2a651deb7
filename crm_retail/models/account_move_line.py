from odoo import fields, models


class AccountMoveLine(models.Model):
    _name = "account.move.line"
    _inherit = ["account.move.line", "retail.points.discount.line.mixin"]

    retail_points_redeemed = fields.Integer(
        string="Points Redeemed", readonly=True, copy=False,
        help="Points this discount line was paid with.",
    )

    _retail_points_redeemed_positive = models.Constraint(
        "CHECK(retail_points_redeemed >= 0)", "Points paid cannot be negative."
    )

    def unlink(self):
        # Removing a points discount line from a draft invoice gives the points back.
        moves = self.filtered("retail_points_redeemed").move_id
        result = super().unlink()
        moves.exists()._retail_sync_points()
        return result
