from odoo import api, fields, models
from odoo.exceptions import UserError


class RetailPointsAdjust(models.TransientModel):
    _name = "retail.points.adjust"
    _inherit = ["retail.checked.values.mixin"]
    _description = "Adjust Loyalty Points"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True)
    # The company whose points history gets the adjustment (and the multi-company rule's).
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda self: self.env.company)
    # As the user, not as superuser: a customer the user cannot read shows no balance.
    points_available = fields.Integer(related="partner_id.retail_loyalty_points",
                                      compute_sudo=False)
    points = fields.Integer(
        string="Points to Add", required=True,
        help="Positive to give points, negative to take them away.",
    )
    reason = fields.Char(required=True)

    @api.model
    def _retail_check_values(self, vals):
        """Refuse what the database or the adjustment would fail on, before saving."""
        if "points" in vals:
            self.env["res.partner"]._retail_check_points_number(vals["points"])
        if vals.get("reason") and not isinstance(vals["reason"], str):
            raise UserError(self.env._("The reason for the adjustment must be text."))
        if vals.get("partner_id"):
            if not isinstance(vals["partner_id"], int) or isinstance(vals["partner_id"], bool):
                raise UserError(self.env._("Choose the customer whose points to adjust."))
            self.env["res.partner"].browse(vals["partner_id"]).check_access("read")
        return super()._retail_check_values(vals)

    def action_adjust(self):
        self.ensure_one()
        self.partner_id.with_company(self.company_id).retail_adjust_points(
            self.points, self.reason)
        return {"type": "ir.actions.act_window_close"}
