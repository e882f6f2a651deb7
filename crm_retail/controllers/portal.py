from odoo.http import request, route

from odoo.addons.portal.controllers.portal import CustomerPortal


class RetailPortal(CustomerPortal):
    """A portal customer sees their own points, tier and points history on /my."""

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "retail_points_count" in counters:
            values["retail_points_count"] = (
                request.env.user.partner_id.commercial_partner_id.sudo().loyalty_points
            )
        return values

    @route(["/my/points"], type="http", auth="user", website=True)
    def portal_my_points(self, **_kwargs):
        customer = request.env.user.partner_id.commercial_partner_id
        # The record rule also limits a portal user to their own customer's history.
        lines = request.env["retail.points.line"].search(
            [("partner_id", "=", customer.id)], limit=100)
        values = self._prepare_portal_layout_values()
        values.update({
            "customer": customer.sudo(),
            "lines": lines,
            "page_name": "retail_points",
        })
        return request.render("crm_retail.portal_my_points", values)
