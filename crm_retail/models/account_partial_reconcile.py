"""Reconciliation moves debts: the customers' facts follow every partial reconcile."""
from odoo import api, models


class AccountPartialReconcile(models.Model):
    # Every reconciliation creates partials and every unreconciliation deletes them; that
    # is where open amounts change (and where an invoice becomes 'reversed', no purchase).
    _inherit = "account.partial.reconcile"

    def _retail_mark_customers(self):
        lines = self.debit_move_id | self.credit_move_id
        self.env["retail.customer.facts"]._mark(lines._retail_receivable_partner_ids())

    @api.model_create_multi
    def create(self, vals_list):
        partials = super().create(vals_list)
        partials._retail_mark_customers()
        return partials

    def unlink(self):
        self._retail_mark_customers()
        return super().unlink()
