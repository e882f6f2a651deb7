"""Segments subscribe to the ledgers: customers whose facts changed are re-evaluated."""
from odoo import api, models


class RetailCustomerFacts(models.AbstractModel):
    _inherit = "retail.customer.facts"

    @api.model
    def _on_facts_changed(self, partner_ids, facts):
        result = super()._on_facts_changed(partner_ids, facts)
        if facts is None or "segments" in facts:
            self.env["retail.segment"].sudo()._recompute_partners(partner_ids, commercial=True)
        return result
