from odoo import api, fields, models
from odoo.tools import SQL

AGING_BUCKETS = [
    ("not_due", "Not due"),
    ("1_30", "1-30 days"),
    ("31_60", "31-60 days"),
    ("61_90", "61-90 days"),
    ("over_90", "Over 90 days"),
]


class RetailDebtAgingReport(models.Model):
    """Aged receivables: one row per receivable journal item open at the report date,
    aged by its own due date. Credit notes and unapplied payments are negative rows, and
    reconciliations dated after the report date are undone, so that the total equals the
    receivable accounts' balance at that date (context key `retail_aging_date`, default
    today; rows are journal items, so one transaction reads one date)."""

    _name = "retail.debt.aging.report"
    _description = "Aged Receivables"
    _auto = False
    _order = "date_maturity, id"
    _rec_name = "move_id"

    move_line_id = fields.Many2one("account.move.line", string="Journal Item", readonly=True)
    move_id = fields.Many2one("account.move", string="Document", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    state_id = fields.Many2one("res.country.state", string="Province", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", string="Company Currency", readonly=True)
    account_id = fields.Many2one("account.account", readonly=True)
    date = fields.Date(readonly=True)
    date_maturity = fields.Date(string="Due Date", readonly=True)
    days_overdue = fields.Integer(readonly=True, aggregator="max")
    bucket = fields.Selection(AGING_BUCKETS, string="Aging Bucket", readonly=True)
    amount_residual = fields.Monetary(string="Open Amount", readonly=True)
    amount_not_due = fields.Monetary(string="Not Due", readonly=True)
    amount_1_30 = fields.Monetary(string="1-30", readonly=True)
    amount_31_60 = fields.Monetary(string="31-60", readonly=True)
    amount_61_90 = fields.Monetary(string="61-90", readonly=True)
    amount_over_90 = fields.Monetary(string="Over 90", readonly=True)

    @api.model
    def _read_group_orderby(self, order, groupby_terms, query):
        # Grouped rows sort by their raw value, which would put "not_due" after "61_90":
        # buckets sort in aging order instead (pivot columns, list groups, graph bars).
        bucket = groupby_terms.get("bucket")
        if bucket is None:
            return super()._read_group_orderby(order, groupby_terms, query)
        groupby_terms["bucket"] = SQL(
            "array_position(%s, %s)", [key for key, _label in AGING_BUCKETS], bucket)
        try:
            return super()._read_group_orderby(order, groupby_terms, query)
        finally:
            groupby_terms["bucket"] = bucket

    @api.model
    def _aging_date(self):
        return fields.Date.to_date(self.env.context.get("retail_aging_date")) \
            or fields.Date.context_today(self)

    @property
    def _table_query(self):
        date = self._aging_date()
        return SQL(
            """
            WITH items AS (
                SELECT aml.id, aml.move_id, aml.company_id, aml.account_id, aml.date,
                       COALESCE(aml.date_maturity, aml.date) AS date_maturity,
                       p.commercial_partner_id AS partner_id,
                       aml.balance
                       - COALESCE((SELECT SUM(pr.amount) FROM account_partial_reconcile pr
                                    WHERE pr.debit_move_id = aml.id
                                      AND pr.max_date <= %(date)s), 0)
                       + COALESCE((SELECT SUM(pr.amount) FROM account_partial_reconcile pr
                                    WHERE pr.credit_move_id = aml.id
                                      AND pr.max_date <= %(date)s), 0) AS residual
                  FROM account_move_line aml
                  JOIN account_account account ON account.id = aml.account_id
                  JOIN res_partner p ON p.id = aml.partner_id
                 WHERE aml.parent_state = 'posted'
                   AND account.account_type = 'asset_receivable'
                   AND aml.date <= %(date)s
                   -- open now, or matched only after the report date
                   AND (aml.amount_residual != 0 OR EXISTS (
                        SELECT 1 FROM account_partial_reconcile pr
                         WHERE (pr.debit_move_id = aml.id OR pr.credit_move_id = aml.id)
                           AND pr.max_date > %(date)s))
            ), aged AS (
                SELECT items.*, %(date)s - items.date_maturity AS days_overdue,
                       CASE WHEN items.date_maturity >= %(date)s THEN 'not_due'
                            WHEN %(date)s - items.date_maturity <= 30 THEN '1_30'
                            WHEN %(date)s - items.date_maturity <= 60 THEN '31_60'
                            WHEN %(date)s - items.date_maturity <= 90 THEN '61_90'
                            ELSE 'over_90' END AS bucket
                  FROM items
                 WHERE items.residual != 0
            )
            SELECT aged.id, aged.id AS move_line_id, aged.move_id, aged.partner_id,
                   customer.user_id, customer.state_id, aged.company_id,
                   company.currency_id, aged.account_id, aged.date, aged.date_maturity,
                   GREATEST(aged.days_overdue, 0) AS days_overdue, aged.bucket,
                   aged.residual AS amount_residual,
                   CASE WHEN aged.bucket = 'not_due' THEN aged.residual ELSE 0 END
                       AS amount_not_due,
                   CASE WHEN aged.bucket = '1_30' THEN aged.residual ELSE 0 END AS amount_1_30,
                   CASE WHEN aged.bucket = '31_60' THEN aged.residual ELSE 0 END AS amount_31_60,
                   CASE WHEN aged.bucket = '61_90' THEN aged.residual ELSE 0 END AS amount_61_90,
                   CASE WHEN aged.bucket = 'over_90' THEN aged.residual ELSE 0 END
                       AS amount_over_90
              FROM aged
              JOIN res_partner customer ON customer.id = aged.partner_id
              JOIN res_company company ON company.id = aged.company_id
            """,
            date=date,
        )
