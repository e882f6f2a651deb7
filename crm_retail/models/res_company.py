from odoo import api, fields, models

from .retail_input_check import check_field_values


class ResCompany(models.Model):
    """The retail settings of a company.

    The selections below are not required: a required column is NOT NULL, and core code
    that runs while crm_retail is not in the registry (a module update, the tests of the
    modules below it) inserts companies without them. They are required in the settings
    form, and the code reading them takes an empty value for the default.
    """

    _inherit = "res.company"

    retail_points_amount = fields.Monetary(
        string="Amount per Point", default=10000.0,
        help="A posted customer invoice earns one point per this amount, rounded down "
        "(0 disables points).",
    )
    retail_points_base = fields.Selection(
        [("total", "Total incl. taxes"), ("untaxed", "Untaxed amount")],
        string="Points On", default="total",
    )
    retail_points_min_amount = fields.Monetary(
        string="Minimum Invoice Amount",
        help="Invoices below this amount earn no points.",
    )
    retail_point_value = fields.Monetary(
        string="Value of a Point", default=1000.0,
        help="What one point pays when redeemed.",
    )
    retail_points_expiry_months = fields.Integer(
        string="Points Expire After (Months)", default=0,
        help="Points unused this many months after they were earned expire (0: never).",
    )
    retail_points_product_id = fields.Many2one(
        "product.product", string="Redemption Product",
        default=lambda self: self.env.ref(
            "crm_retail.product_points_redemption", raise_if_not_found=False),
        help="Product of the discount line that points pay for.",
    )
    retail_tier_basis = fields.Selection(
        [("points", "Lifetime points"), ("spend", "Spend over the last 12 months")],
        string="Tiers Based On", default="points",
    )

    retail_create_lead_on_purchase = fields.Boolean(
        string="Opportunity on First Purchase", default=True,
        help="A customer who buys without an opportunity gets one, so that the funnel "
        "follows every customer.",
    )
    retail_loyal_rule = fields.Selection(
        [("count", "Purchases in the last 12 months"), ("tier", "Membership tier")],
        string="Loyal Customer Rule", default="count",
    )
    retail_loyal_purchase_count = fields.Integer(
        string="Purchases to Be Loyal", default=5,
        help="Purchases (on different days) in the last 12 months that make a customer loyal.",
    )
    retail_loyal_tier_id = fields.Many2one(
        "retail.tier", string="Tier to Be Loyal",
        help="Customers in this tier or a higher one are loyal.",
    )

    # Debt limit
    retail_credit_limit_policy = fields.Selection(
        [("warn", "Warn"), ("block", "Block")],
        string="Over the Debt Limit", default="warn",
        help="Warn: Odoo's banner on quotations and invoices. Block: confirming an order or "
        "posting an invoice that takes the customer above its limit fails, unless the user "
        "is an accounting administrator.",
    )

    # Customer care: birthday greetings, thank-you and follow-up
    retail_birthday_greeting = fields.Boolean(
        string="Birthday Greetings",
        help="Every day, email a greeting to the customers whose birthday it is, once a year, "
        "in their language.",
    )
    retail_birthday_points = fields.Integer(
        string="Birthday Bonus Points",
        help="Points given with the birthday greeting (0: none).",
    )
    retail_thank_you_mail = fields.Boolean(
        string="Thank-You Mail",
        help="Email a thank-you to customers after their first posted invoice.",
    )
    retail_followup_days = fields.Integer(
        string="Follow-Up After (Days)",
        help="Schedule an activity for the customer's salesperson this many days after "
        "the first purchase (0: none).",
    )
    _retail_care_positive = models.Constraint(
        "CHECK(retail_birthday_points >= 0 AND retail_followup_days >= 0)",
        "Birthday points and follow-up days cannot be negative.",
    )

    def _retail_blocks_over_credit_limit(self):
        self.ensure_one()
        return self.account_use_credit_limit and self.retail_credit_limit_policy == "block"

    _retail_points_amount_positive = models.Constraint(
        "CHECK(retail_points_amount >= 0 AND retail_point_value >= 0"
        " AND retail_points_min_amount >= 0 AND retail_points_expiry_months >= 0)",
        "Points settings cannot be negative.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._retail_check_values(vals)
        # A company's own partner is not a customer: no customer code.
        return super(
            ResCompany, self.with_context(crm_retail_no_customer_code=True)
        ).create(vals_list)

    def write(self, vals):
        self._retail_check_values(vals)
        return super().write(vals)

    @api.model
    def _retail_check_values(self, vals):
        """The settings of the addon only: Odoo's own fields keep Odoo's handling."""
        check_field_values(self, {
            fname: value for fname, value in vals.items() if fname.startswith("retail_")})
