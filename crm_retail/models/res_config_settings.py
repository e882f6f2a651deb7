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
    retail_create_lead_on_purchase = fields.Boolean(
        related="company_id.retail_create_lead_on_purchase", readonly=False)
    retail_loyal_rule = fields.Selection(
        related="company_id.retail_loyal_rule", readonly=False)
    retail_loyal_purchase_count = fields.Integer(
        related="company_id.retail_loyal_purchase_count", readonly=False)
    retail_loyal_tier_id = fields.Many2one(
        related="company_id.retail_loyal_tier_id", readonly=False)

    # Debt limit
    retail_credit_limit_policy = fields.Selection(
        related="company_id.retail_credit_limit_policy", readonly=False)

    # Customer care
    retail_birthday_greeting = fields.Boolean(
        related="company_id.retail_birthday_greeting", readonly=False)
    retail_birthday_points = fields.Integer(
        related="company_id.retail_birthday_points", readonly=False)
    retail_thank_you_mail = fields.Boolean(
        related="company_id.retail_thank_you_mail", readonly=False)
    retail_followup_days = fields.Integer(
        related="company_id.retail_followup_days", readonly=False)
