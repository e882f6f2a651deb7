from odoo import fields, models
from odoo.tools import SQL


class RetailSegmentReport(models.Model):
    """Customers and revenue per segment: one row per customer holding a segment's tag
    (by the rule or by hand), with its net sales (the customer sales building block:
    posted invoices less credit notes, in company currency) and purchases in the segment's
    company, all time and over the last 365 days."""

    _name = "retail.segment.report"
    _description = "Customers and Revenue by Segment"
    _auto = False
    _order = "segment_id, revenue desc"
    _rec_name = "partner_id"

    segment_id = fields.Many2one("retail.segment", readonly=True)
    exclusive_group = fields.Selection(
        selection=lambda self: self.env["retail.segment"]._selection_exclusive_group(),
        readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    state_id = fields.Many2one("res.country.state", string="Province", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", string="Company Currency", readonly=True)
    revenue = fields.Monetary(readonly=True, aggregator="sum")
    revenue_year = fields.Monetary(
        string="Revenue, Last 365 Days", readonly=True, aggregator="sum")
    purchase_count = fields.Integer(string="Purchases", readonly=True, aggregator="sum")

    @property
    def _table_query(self):
        return SQL(
            """
            WITH sales AS (%(sales)s)
            SELECT ROW_NUMBER() OVER (ORDER BY s.id, p.id) AS id,
                   s.id AS segment_id, s.exclusive_group, p.id AS partner_id, p.state_id,
                   s.company_id, company.currency_id,
                   COALESCE(sales.total, 0) AS revenue,
                   COALESCE(sales.sales_365d, 0) AS revenue_year,
                   COALESCE(sales.purchases, 0) AS purchase_count
              FROM retail_segment s
              JOIN res_company company ON company.id = s.company_id
              JOIN res_partner_res_partner_category_rel rel ON rel.category_id = s.tag_id
              JOIN res_partner p ON p.id = rel.partner_id AND p.active
              LEFT JOIN sales ON sales.partner_id = p.id AND sales.company_id = s.company_id
             WHERE s.active
            """,
            # The view's own today, as when it is read.
            sales=self.env["retail.sql.facts"]._customer_sales(
                today=SQL("CURRENT_DATE"), windows=(365,)),
        )
