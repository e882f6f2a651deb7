"""Customer care: what was sent to the customer, so that nothing is sent
twice (the care engine is retail.customer.care)."""

from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    retail_birthday_greeted_year = fields.Integer(
        string="Birthday Greeted In", readonly=True, copy=False,
        help="Year of the last birthday greeting sent to this customer.",
    )
    retail_thank_you_date = fields.Date(
        string="Thank-You Sent On", readonly=True, copy=False,
        help="Date the thank-you for the first purchase was sent.",
    )
    retail_followup_date = fields.Date(
        string="Follow-Up Scheduled On", readonly=True, copy=False,
        help="Date the follow-up activity after the first purchase was scheduled.",
    )
