import math

from odoo.http import request, route

from odoo.addons.portal.controllers.portal import CustomerPortal


class RetailPortal(CustomerPortal):
    """A portal customer sees their own points, what they are worth, their tier, how far
    the next tier is, and their points history on /my."""

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "retail_points_count" in counters:
            values["retail_points_count"] = (
                request.env.user.partner_id.commercial_partner_id.sudo().retail_loyalty_points
            )
        return values

    @route(["/my/points"], type="http", auth="user", website=True)
    def portal_my_points(self, **_kwargs):
        customer = request.env.user.partner_id.commercial_partner_id
        # The record rule also limits a portal user to their own customer's history.
        lines = request.env["retail.points.line"].search(
            [("partner_id", "=", customer.id)], limit=100)
        # Points and tiers are per company (company-dependent fields): those of the portal
        # user's company, read as superuser since a portal user may not read them.
        company = request.env.company
        customer = customer.sudo()
        values = self._prepare_portal_layout_values()
        values.update({
            "customer": customer,
            "lines": lines,
            "page_name": "retail_points",
            "currency": company.currency_id,
            "point_value": company.retail_point_value,
            **self._retail_next_tier_values(customer, company),
        })
        return request.render("crm_retail.portal_my_points", values)

    def _retail_next_tier_values(self, customer, company):
        """The lowest tier above what the customer has reached and what is missing to
        reach it: lifetime points, or spend over the last 12 months, on the company's basis."""
        reached = customer._retail_tier_metric()[customer.id]
        # Above the current tier too: on spend, tiers move down only with the nightly update.
        above = max(reached, customer.retail_loyalty_tier_id.threshold)
        next_tier = request.env["retail.tier"].sudo().search([
            ("company_id", "in", [company.id, False]), ("threshold", ">", above),
        ], order="threshold, sequence, id", limit=1)
        basis = company.retail_tier_basis or "points"
        missing = next_tier.threshold - reached if next_tier else 0
        return {
            "next_tier": next_tier,
            "tier_basis": basis,
            # a whole number of points; spend in company currency
            "next_tier_missing": math.ceil(missing) if basis == "points" else missing,
        }
