import math

from odoo import api, fields, models

from .retail_fields import DEBT_READERS, LOYALTY_READERS


class RetailDocumentCustomerMixin(models.AbstractModel):
    """What the cashier sees of the customer on an invoice or a quotation: points, tier,
    debt and limit in the document's company, and how many points may pay it.

    Computed as the user (compute_sudo=False) and guarded by the partner fields' own groups:
    nobody reads here what the customer form would not show them."""

    _name = "retail.document.customer.mixin"
    _description = "Customer Figures on a Sales Document"

    retail_company_currency_id = fields.Many2one(
        "res.currency", string="Currency of the Figures",
        compute="_compute_retail_company_currency_id")
    retail_customer_points = fields.Integer(
        string="Customer Points", compute="_compute_retail_customer_loyalty",
        compute_sudo=False, groups=LOYALTY_READERS,
        help="The customer's points balance in this document's company.")
    retail_customer_tier_id = fields.Many2one(
        "retail.tier", string="Customer Tier", compute="_compute_retail_customer_loyalty",
        compute_sudo=False, groups=LOYALTY_READERS)
    retail_redeemable_points = fields.Integer(
        string="Redeemable Points", compute="_compute_retail_customer_loyalty",
        compute_sudo=False, groups=LOYALTY_READERS,
        help="The most points that may pay this document: the balance, or what pays the "
             "whole amount due if that is less.")
    retail_customer_debt = fields.Monetary(
        string="Customer Debt", currency_field="retail_company_currency_id",
        compute="_compute_retail_customer_debt", compute_sudo=False, groups=DEBT_READERS,
        help="The customer's open receivable balance in this document's company.")
    # Odoo's credit limit is for accounting users only (its own groups).
    retail_customer_credit_limit = fields.Monetary(
        string="Debt Limit", currency_field="retail_company_currency_id",
        compute="_compute_retail_customer_credit_limit", compute_sudo=False,
        groups="account.group_account_invoice,account.group_account_readonly",
        help="The customer's credit limit, when the company uses credit limits.")

    @api.depends("company_id")
    def _compute_retail_company_currency_id(self):
        for document in self:
            document.retail_company_currency_id = document.company_id.currency_id

    def _retail_shows_customer_figures(self):
        """Whether the document is a sale to a customer (invoices: not bills nor entries)."""
        return bool(self.partner_id)

    def _retail_amount_to_pay(self):
        """The document's total, as the form shows it while it is being edited."""
        return self.amount_total

    def _retail_customer(self):
        return self.partner_id.commercial_partner_id.with_company(self.company_id)

    @api.depends("partner_id", "company_id", "amount_total", "state")
    def _compute_retail_customer_loyalty(self):
        for document in self:
            if not document._retail_shows_customer_figures():
                document.update({"retail_customer_points": 0, "retail_customer_tier_id": False,
                                 "retail_redeemable_points": 0})
                continue
            customer = document._retail_customer()
            document.retail_customer_points = customer.retail_loyalty_points
            document.retail_customer_tier_id = customer.retail_loyalty_tier_id
            document.retail_redeemable_points = document._retail_redeemable_points(
                customer.retail_loyalty_points)

    def _retail_redeemable_points(self, balance):
        company = self.company_id
        to_pay = self._retail_amount_to_pay()
        if (balance <= 0 or not company.retail_point_value or not self._retail_can_redeem()
                or self.currency_id.compare_amounts(to_pay, 0) <= 0):
            return 0
        # The point value is in company currency; the document may be in another one.
        due = self.currency_id._convert(
            to_pay, company.currency_id, company, fields.Date.context_today(self))
        return min(balance, math.floor(due / company.retail_point_value))

    @api.depends("partner_id", "company_id")
    def _compute_retail_customer_debt(self):
        for document in self:
            document.retail_customer_debt = (
                document._retail_customer().retail_debt_amount
                if document._retail_shows_customer_figures() else 0)

    @api.depends("partner_id", "company_id")
    def _compute_retail_customer_credit_limit(self):
        for document in self:
            document.retail_customer_credit_limit = (
                document._retail_customer().credit_limit
                if document._retail_shows_customer_figures()
                and document.company_id.account_use_credit_limit else 0)
