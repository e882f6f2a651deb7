"""The customer's purchase statistics (total sales, purchases, last purchase), per
company, refreshed set-based from the posted sales documents."""

from odoo import api, fields, models
from odoo.tools import SQL
from odoo.tools.sql import column_exists

from .res_partner_loyalty import POINTS_AGGREGATES
from .retail_customer_facts import LedgerFactUpdate
from .retail_fields import DEBT_READERS, LOYALTY_READERS, SALE_MOVE_TYPES

# Facts kept per company, one jsonb column each (company id -> value), like Odoo's own
# company-dependent fields: a customer shared by the companies of a shop group buys, earns
# and owes in each of them apart.
PER_COMPANY_FACTS = ("retail_total_sales", "retail_purchase_count",
                     "retail_last_purchase_date", "retail_loyalty_points",
                     "retail_loyalty_points_total",
                     "retail_loyalty_tier_id")
STATS_AGGREGATES = SQL("""
    jsonb_object_agg(company_id::text, total) AS total,
    jsonb_object_agg(company_id::text, purchases) AS purchases,
    jsonb_object_agg(company_id::text, to_char(last_date, 'YYYY-MM-DD'))
        FILTER (WHERE last_date IS NOT NULL) AS last_date""")


class ResPartner(models.Model):
    _inherit = "res.partner"

    retail_invoice_ids = fields.One2many(
        "account.move",
        "commercial_partner_id",
        string="Customer Invoices",
        domain=[("move_type", "in", SALE_MOVE_TYPES), ("state", "=", "posted")],
        readonly=True,
        groups=DEBT_READERS,  # who may read invoices, as Odoo's own invoice_ids
    )
    # Purchase statistics: written by the customer facts refresh only (see
    # retail.customer.facts), never by a stored compute that every posting would rewrite.
    retail_total_sales = fields.Float(
        string="Total Sales",
        company_dependent=True,
        readonly=True,
        copy=False,
        groups=LOYALTY_READERS,
        help="Posted customer invoices minus credit notes, taxes included, in company "
             "currency. Odoo's Invoiced button counts the same documents before taxes, in "
             "all your companies.",
    )
    retail_purchase_count = fields.Integer(
        string="Purchases",
        company_dependent=True,
        readonly=True,
        copy=False,
        groups=LOYALTY_READERS,
        help="Number of posted customer invoices, not counting those fully reversed.",
    )
    retail_last_purchase_date = fields.Date(
        string="Last Purchase",
        company_dependent=True,
        readonly=True,
        copy=False,
        groups=LOYALTY_READERS,
        help="Date of the most recent posted customer invoice.",
    )

    # ------------------------------------------------------------------
    # Install on a database with history: fill the statistics in one SQL
    # ------------------------------------------------------------------

    def _auto_init(self):
        cr = self.env.cr
        # Points, tiers and statistics are per company (jsonb, like debt) since the shop
        # groups of several companies share customers; derived, so a column of the
        # former global layout is dropped and filled again from the ledgers below.
        cr.execute(SQL(
            """SELECT column_name FROM information_schema.columns
                WHERE table_name = 'res_partner' AND column_name IN %s""",
            tuple(PER_COMPANY_FACTS)))
        existing = {row[0] for row in cr.fetchall()}
        cr.execute(SQL(
            """SELECT column_name FROM information_schema.columns
                WHERE table_name = 'res_partner' AND column_name IN %s
                  AND data_type != 'jsonb'""",
            tuple(PER_COMPANY_FACTS)))
        outdated = [row[0] for row in cr.fetchall()]
        for column in outdated:
            cr.execute(SQL("ALTER TABLE res_partner DROP COLUMN %s CASCADE",
                           SQL.identifier(column)))
        super()._auto_init()
        if existing and not outdated:
            return
        if outdated:
            # Tiers were dropped with the former layout: every customer gets its own
            # again once the registry is ready (a fresh install does so in its hook).
            self.pool.post_init(self._retail_update_all_tiers)
        # Installed on a database with history, or upgraded: fill the facts set-based.
        cr.execute(SQL(
            """
            WITH sales AS (%(stats)s)
            UPDATE res_partner p
               SET retail_total_sales = f.total, retail_purchase_count = f.purchases,
                   retail_last_purchase_date = f.last_date
              FROM (SELECT partner_id, %(aggregates)s FROM sales GROUP BY partner_id) f
             WHERE f.partner_id = p.id
            """,
            stats=self._retail_stats_query(per_company=True),
            aggregates=STATS_AGGREGATES,
        ))
        if column_exists(cr, "retail_points_line", "partner_id"):
            cr.execute(SQL(
                """
                WITH points AS (%(points)s)
                UPDATE res_partner p
                   SET retail_loyalty_points = f.balance, retail_loyalty_points_total = f.earned
                  FROM (SELECT partner_id, %(aggregates)s FROM points GROUP BY partner_id) f
                 WHERE f.partner_id = p.id
                """,
                points=self._retail_points_query(),
                aggregates=POINTS_AGGREGATES,
            ))

    # ------------------------------------------------------------------
    # Business methods: the statistics from the posted documents
    # ------------------------------------------------------------------

    @api.model
    def _retail_stats_query(self, partner_ids=None, per_company=False):
        """Per commercial partner (and company): total sales, number and last date of
        purchases, from the customer sales building block."""
        sales = self.env["retail.sql.facts"]._customer_sales(partner_ids)
        if per_company:
            return sales
        return SQL(
            """SELECT partner_id, SUM(total) AS total, SUM(purchases) AS purchases,
                      MAX(last_date) AS last_date
                 FROM (%s) sales GROUP BY partner_id""",
            sales)

    @api.model
    def _retail_stats_update(self, partner_ids):
        """The purchase statistics of these commercial partners, per company, from the
        posted documents, as written by the customer facts refresh."""
        self.env["retail.sql.facts"]._sales_flush()
        return LedgerFactUpdate(
            figures=SQL("SELECT partner_id, %s FROM (%s) sales GROUP BY partner_id",
                        STATS_AGGREGATES, self._retail_stats_query(partner_ids, per_company=True)),
            columns={"retail_total_sales": "total", "retail_purchase_count": "purchases",
                     "retail_last_purchase_date": "last_date"},
        )

    @api.model
    def _retail_stats_refresh(self, partner_ids):
        """Rewrite the purchase statistics of these commercial partners, per company, from
        the posted documents in one statement; only rows that change are written."""
        self.env["retail.customer.facts"]._write_ledger_facts(
            partner_ids, {"stats": self._retail_stats_update(partner_ids)})
