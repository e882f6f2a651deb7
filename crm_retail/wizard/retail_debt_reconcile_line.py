from odoo import fields, models


class RetailDebtReconcileLine(models.TransientModel):
    _name = "retail.debt.reconcile.line"
    _description = "Planned Match of a Payment to an Invoice"
    _order = "id"

    wizard_id = fields.Many2one("retail.debt.reconcile", required=True, ondelete="cascade")
    # Stored for the multi-company rule.
    company_id = fields.Many2one(related="wizard_id.company_id", store=True)
    currency_id = fields.Many2one(related="wizard_id.currency_id")
    debit_item_id = fields.Many2one("account.move.line", string="Invoice Item", required=True)
    credit_item_id = fields.Many2one("account.move.line", string="Applied Item", required=True)
    invoice_id = fields.Many2one(related="debit_item_id.move_id", string="Invoice")
    due_date = fields.Date(related="debit_item_id.date_maturity", string="Due Date")
    credit_move_id = fields.Many2one(related="credit_item_id.move_id", string="Paid By")
    amount = fields.Monetary(string="Amount Applied")
    invoice_residual_after = fields.Monetary(string="Invoice Still Open")
