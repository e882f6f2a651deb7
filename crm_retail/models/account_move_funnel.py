"""The funnel: a posted invoice moves its customer's opportunity forward."""

from odoo import models


class AccountMove(models.Model):
    _inherit = "account.move"

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    def write(self, vals):
        result = super().write(vals)
        if "state" in vals and vals["state"] == "posted":
            invoices = self.filtered(lambda move: move.move_type == "out_invoice")
            self.env["retail.customer.facts"]._publish_purchases(invoices)
        return result
