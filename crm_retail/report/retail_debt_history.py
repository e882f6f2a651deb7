from odoo import fields, models
from odoo.tools import SQL


class RetailDebtHistory(models.Model):
    """The customer's debt history (KiotViet's "Nợ cần thu" tab): every posted receivable
    journal item of the customer, newest first, with the balance owed after it.

    A view over the journal items, so it always agrees with the accounting. The running
    balance is partitioned by customer and company: reading one customer's history
    (the form's tab) filters the journal items before the window, not after."""

    _name = "retail.debt.history"
    _description = "Customer Debt History"
    _auto = False
    _order = "date desc, move_id desc, id desc"
    _rec_name = "move_id"

    # What the view reads, flushed before it is searched.
    _depends = {
        "account.move.line": [
            "partner_id", "company_id", "company_currency_id", "move_id", "date",
            "date_maturity", "account_id", "parent_state", "balance", "payment_id",
            "statement_line_id", "name"],
        "account.move": ["move_type", "payment_reference", "ref"],
        "account.account": ["account_type"],
        "res.partner": ["commercial_partner_id"],
    }

    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", string="Company Currency", readonly=True)
    move_id = fields.Many2one("account.move", string="Document", readonly=True)
    date = fields.Date(readonly=True)
    date_maturity = fields.Date(string="Due Date", readonly=True)
    kind = fields.Selection(
        [("invoice", "Invoice"), ("credit_note", "Credit Note"), ("payment", "Payment"),
         ("other", "Other")],
        string="Type", readonly=True)
    reference = fields.Char(readonly=True)
    amount = fields.Monetary(
        readonly=True, help="What the item adds to the debt; payments and credit notes "
                            "are negative.")
    balance_after = fields.Monetary(
        string="Debt After", readonly=True, aggregator=None,
        help="The customer's debt in this company once this item is counted.")

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT item.id, item.partner_id, item.company_id,
                   line.company_currency_id AS currency_id, item.move_id, item.date,
                   line.date_maturity,
                   CASE WHEN move.move_type = 'out_invoice' THEN 'invoice'
                        WHEN move.move_type = 'out_refund' THEN 'credit_note'
                        WHEN line.payment_id IS NOT NULL OR line.statement_line_id IS NOT NULL
                             THEN 'payment'
                        ELSE 'other' END AS kind,
                   COALESCE(NULLIF(move.payment_reference, ''), NULLIF(move.ref, ''),
                            line.name) AS reference,
                   item.balance AS amount,
                   SUM(item.balance) OVER (
                       PARTITION BY item.partner_id, item.company_id
                       ORDER BY item.date, item.move_id, item.id) AS balance_after
              FROM (%s) item
              JOIN account_move_line line ON line.id = item.id
              JOIN account_move move ON move.id = item.move_id
            """,
            self.env["retail.sql.facts"]._receivable_items(),
        )
