from odoo import fields, models


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    retail_points_redeemed = fields.Integer(
        string="Points Redeemed", readonly=True, copy=False,
        help="Points this discount line was paid with.",
    )

    def unlink(self):
        # Removing a points discount line from a draft invoice gives the points back.
        moves = self.filtered("retail_points_redeemed").move_id
        result = super().unlink()
        moves.exists()._retail_sync_points()
        return result
