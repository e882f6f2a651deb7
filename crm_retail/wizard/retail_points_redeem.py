from odoo import api, fields, models


class RetailPointsRedeem(models.TransientModel):
    _name = "retail.points.redeem"
    _description = "Redeem Loyalty Points"

    move_id = fields.Many2one("account.move", string="Invoice", readonly=True)
    sale_order_id = fields.Many2one("sale.order", string="Sales Order", readonly=True)
    partner_id = fields.Many2one(
        "res.partner", string="Customer", compute="_compute_document_data")
    company_id = fields.Many2one("res.company", compute="_compute_document_data")
    currency_id = fields.Many2one(related="company_id.currency_id")
    points_available = fields.Integer(related="partner_id.loyalty_points")
    point_value = fields.Monetary(related="company_id.retail_point_value")
    amount_due = fields.Monetary(compute="_compute_document_data")
    points = fields.Integer(string="Points to Redeem", required=True)
    amount = fields.Monetary(compute="_compute_amount")

    @api.depends("move_id", "sale_order_id")
    def _compute_document_data(self):
        for wizard in self:
            document = wizard.move_id or wizard.sale_order_id
            wizard.partner_id = document.partner_id.commercial_partner_id
            wizard.company_id = document.company_id
            wizard.amount_due = document.amount_total

    @api.depends("points", "point_value")
    def _compute_amount(self):
        for wizard in self:
            wizard.amount = wizard.points * wizard.point_value

    def action_redeem(self):
        self.ensure_one()
        (self.move_id or self.sale_order_id).retail_redeem_points(self.points)
        return {"type": "ir.actions.act_window_close"}
