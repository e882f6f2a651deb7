from odoo import fields, models


class RetailPointsAdjust(models.TransientModel):
    _name = "retail.points.adjust"
    _description = "Adjust Loyalty Points"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True)
    points_available = fields.Integer(related="partner_id.loyalty_points")
    points = fields.Integer(
        string="Points to Add", required=True,
        help="Positive to give points, negative to take them away.",
    )
    reason = fields.Char(required=True)

    def action_adjust(self):
        self.ensure_one()
        self.partner_id.retail_adjust_points(self.points, self.reason)
        return {"type": "ir.actions.act_window_close"}
