from odoo import models

# Line fields that move an open item between customers, accounts or ageing buckets.
DEBT_LINE_FIELDS = {"partner_id", "account_id", "date_maturity"}


class AccountMoveLine(models.Model):
    _name = "account.move.line"
    _inherit = ["account.move.line", "retail.points.discount.line.mixin"]

    def _retail_points_documents(self):
        return self.move_id

    def _retail_receivable_partner_ids(self):
        """Customers of these lines that are open items: posted receivable lines."""
        return self.filtered(
            lambda line: line.parent_state == "posted"
            and line.account_type == "asset_receivable").partner_id.ids

    def write(self, vals):
        moving = DEBT_LINE_FIELDS.intersection(vals)
        if moving:
            self.env["retail.customer.facts"]._mark(self._retail_receivable_partner_ids())
        result = super().write(vals)
        if moving:
            self.env["retail.customer.facts"]._mark(self._retail_receivable_partner_ids())
        return result
