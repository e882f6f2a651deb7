from odoo import fields, models

# What a receivable journal item is on a statement, from the move it belongs to (the
# statement report tells them apart).
STATEMENT_KINDS = [
    ("invoice", "Invoice"),
    ("payment", "Payment"),
    ("refund", "Credit Note"),
    ("adjustment", "Adjustment"),
]


class RetailDebtStatementLine(models.TransientModel):
    _name = "retail.debt.statement.line"
    _description = "Debt Statement Item"
    _order = "sequence, id"

    statement_id = fields.Many2one(
        "retail.debt.statement", required=True, ondelete="cascade", index=True)
    # Stored for the multi-company rule.
    company_id = fields.Many2one(related="statement_id.company_id", store=True)
    sequence = fields.Integer()
    currency_id = fields.Many2one(related="statement_id.currency_id")
    date = fields.Date(readonly=True)
    move_id = fields.Many2one("account.move", string="Journal Entry", readonly=True)
    reference = fields.Char(readonly=True)
    kind = fields.Selection(STATEMENT_KINDS, string="Description", readonly=True)
    label = fields.Char(readonly=True)
    date_maturity = fields.Date(string="Due Date", readonly=True)
    debit = fields.Monetary(readonly=True)
    credit = fields.Monetary(readonly=True)
    balance = fields.Monetary(
        readonly=True, help="The running balance after this item.")
    line_currency_id = fields.Many2one("res.currency", string="Item Currency", readonly=True)
    amount_currency = fields.Monetary(
        string="Amount in Currency", currency_field="line_currency_id", readonly=True,
        help="The amount in the item's own currency, when not the company's.")

    def action_open_move(self):
        self.ensure_one()
        return self.move_id._get_records_action()
