from odoo import api, fields, models
from odoo.exceptions import UserError


class RetailPointsRedeem(models.TransientModel):
    _name = "retail.points.redeem"
    _inherit = ["retail.checked.values.mixin"]
    _description = "Redeem Loyalty Points"

    move_id = fields.Many2one("account.move", string="Invoice", readonly=True)
    sale_order_id = fields.Many2one("sale.order", string="Sales Order", readonly=True)
    # Everything below is computed as the user (compute_sudo=False), never as superuser:
    # opening the wizard on a document the user cannot read shows nothing of it.
    partner_id = fields.Many2one(
        "res.partner", string="Customer", compute="_compute_document_data")
    # Stored for the multi-company rule.
    company_id = fields.Many2one(
        "res.company", compute="_compute_company_id", store=True, precompute=True,
        compute_sudo=False)
    currency_id = fields.Many2one(related="company_id.currency_id", compute_sudo=False)
    points_available = fields.Integer(
        compute="_compute_points_available", compute_sudo=False,
        help="The customer's points in the document's company.")
    points_redeemable = fields.Integer(
        string="Usable Now", compute="_compute_points_available", compute_sudo=False,
        help="The most points that may pay this document: the balance, or what pays the "
             "whole amount due if that is less.")
    point_value = fields.Monetary(related="company_id.retail_point_value", compute_sudo=False)
    amount_due = fields.Monetary(compute="_compute_document_data")
    points = fields.Integer(string="Points to Redeem", required=True)
    amount = fields.Monetary(compute="_compute_amount")

    @api.model
    def _retail_check_values(self, vals):
        """Refuse what the database or the redemption would fail on, before saving."""
        if "points" in vals:
            self.env["res.partner"]._retail_check_points_number(vals["points"], positive=True)
        for fname in ("move_id", "sale_order_id"):
            if vals.get(fname):
                if not isinstance(vals[fname], int) or isinstance(vals[fname], bool):
                    raise UserError(self.env._("Open Redeem Points from an invoice or an order."))
                self.env[self._fields[fname].comodel_name].browse(vals[fname]).check_access("read")
        if vals.get("move_id") and vals.get("sale_order_id"):
            raise UserError(self.env._("Open Redeem Points from an invoice or an order."))
        return super()._retail_check_values(vals)

    @api.depends("move_id", "sale_order_id")
    def _compute_document_data(self):
        for wizard in self:
            document = wizard.move_id or wizard.sale_order_id
            # As the user: another company's invoice or another salesperson's quotation
            # raises here instead of showing its customer, balance and amount due.
            document.check_access("read")
            wizard.partner_id = document.partner_id.commercial_partner_id
            wizard.amount_due = document.amount_total

    @api.depends("partner_id", "company_id")
    def _compute_points_available(self):
        for wizard in self:
            wizard.points_available = wizard.partner_id.with_company(
                wizard.company_id or self.env.company).retail_loyalty_points
            document = wizard.move_id or wizard.sale_order_id
            wizard.points_redeemable = document.retail_redeemable_points if document else 0

    @api.depends("move_id", "sale_order_id")
    def _compute_company_id(self):
        for wizard in self:
            document = wizard.move_id or wizard.sale_order_id
            # without a document (refused when redeeming), the user's company
            wizard.company_id = document.company_id or self.env.company

    @api.depends("points", "point_value")
    def _compute_amount(self):
        for wizard in self:
            wizard.amount = wizard.points * wizard.point_value

    def action_redeem(self):
        self.ensure_one()
        document = self.move_id or self.sale_order_id
        if not document:
            raise UserError(self.env._("Open Redeem Points from an invoice or an order."))
        document.retail_redeem_points(self.points)
        return {"type": "ir.actions.act_window_close"}
