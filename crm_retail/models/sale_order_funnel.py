"""The funnel: a quotation moves its opportunity to Quotation, a confirmed order moves the
customer's opportunity forward."""

from odoo import api, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        orders = super().create(vals_list)
        orders._retail_quotation_facts()
        return orders

    def write(self, vals):
        result = super().write(vals)
        if "state" in vals and vals["state"] == "sale":
            self.opportunity_id.sudo()._retail_advance(4, {
                order.opportunity_id.id: self.env._(
                    "order %(order)s confirmed", order=order.name)
                for order in self.filtered("opportunity_id")})
            self.env["retail.customer.facts"]._publish_purchases(self)
        if vals.get("opportunity_id"):
            self._retail_quotation_facts()
        return result

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _retail_quotation_facts(self):
        """A quotation made for (or linked to) an opportunity moves its opportunity to Quotation."""
        orders = self.filtered("opportunity_id")
        orders.opportunity_id.sudo()._retail_advance(3, {
            order.opportunity_id.id: self.env._("quotation %(order)s", order=order.name)
            for order in orders})
