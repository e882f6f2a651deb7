from odoo import fields, models
from odoo.tools import SQL


class RetailSegmentParetoReport(models.Model):
    """The 80/20 view: the customers of each company ranked by net sales (the customer
    sales building block: posted invoices less credit notes, company currency, all time;
    customers with positive net sales only), with the cumulative share of revenue along
    the ranking. The top 20% are the first ``ceil(n / 5)`` customers of ``n``; ties
    in revenue are ranked by id."""

    _name = "retail.segment.pareto.report"
    _description = "Top Customers (80/20)"
    _auto = False
    _order = "company_id, rank"
    _rec_name = "partner_id"

    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", string="Company Currency", readonly=True)
    rank = fields.Integer(readonly=True, aggregator="min")
    revenue = fields.Monetary(readonly=True, aggregator="sum")
    revenue_share = fields.Float(
        string="Share of Revenue (%)", readonly=True, aggregator="sum",
        help="The customer's part of the company's revenue.")
    cumulative_share = fields.Float(
        string="Cumulative Share of Revenue (%)", readonly=True, aggregator="max",
        help="Revenue of this customer and of all the customers ranked before it, as a "
        "share of the company's revenue.")
    customer_share = fields.Float(
        string="Cumulative Share of Customers (%)", readonly=True, aggregator="max",
        help="This customer and those ranked before it, as a share of the customers.")
    percentile = fields.Integer(
        string="Top % of Customers", readonly=True, aggregator="max",
        help="The customer is in the top this-many percent (1 to 100).")
    is_top_20 = fields.Boolean(string="Top 20%", readonly=True)

    @property
    def _table_query(self):
        return SQL(
            """
            WITH revenue AS (
                SELECT sales.company_id, sales.partner_id, sales.total AS revenue
                  FROM (%s) sales
                 WHERE sales.total > 0
            ), ranked AS (
                SELECT r.*,
                       ROW_NUMBER() OVER ranking AS rank,
                       SUM(r.revenue) OVER ranking AS cumulative,
                       COUNT(*) OVER company AS customers,
                       SUM(r.revenue) OVER company AS total
                  FROM revenue r
                WINDOW company AS (PARTITION BY r.company_id),
                       ranking AS (company ORDER BY r.revenue DESC, r.partner_id
                                   ROWS UNBOUNDED PRECEDING)
            )
            SELECT ROW_NUMBER() OVER (ORDER BY ranked.company_id, ranked.rank) AS id,
                   ranked.partner_id, ranked.company_id, company.currency_id, ranked.rank,
                   ranked.revenue,
                   100.0 * ranked.revenue / ranked.total AS revenue_share,
                   100.0 * ranked.cumulative / ranked.total AS cumulative_share,
                   100.0 * ranked.rank / ranked.customers AS customer_share,
                   CEIL(100.0 * ranked.rank / ranked.customers)::int AS percentile,
                   ranked.rank <= CEIL(ranked.customers / 5.0) AS is_top_20
              FROM ranked
              JOIN res_company company ON company.id = ranked.company_id
            """,
            self.env["retail.sql.facts"]._customer_sales(),
        )
