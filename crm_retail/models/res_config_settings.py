from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    retail_points_amount = fields.Monetary(
        related="company_id.retail_points_amount", readonly=False,
        currency_field="currency_id")
    retail_points_base = fields.Selection(
        related="company_id.retail_points_base", readonly=False)
    retail_points_min_amount = fields.Monetary(
        related="company_id.retail_points_min_amount", readonly=False,
        currency_field="currency_id")
    retail_point_value = fields.Monetary(
        related="company_id.retail_point_value", readonly=False,
        currency_field="currency_id")
    retail_points_expiry_months = fields.Integer(
        related="company_id.retail_points_expiry_months", readonly=False)
    retail_points_product_id = fields.Many2one(
        related="company_id.retail_points_product_id", readonly=False)
    retail_tier_basis = fields.Selection(
        related="company_id.retail_tier_basis", readonly=False)
