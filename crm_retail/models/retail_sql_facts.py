from odoo import api, fields, models
from odoo.tools import SQL

from .retail_fields import SALE_MOVE_TYPES


class RetailSqlFacts(models.AbstractModel):
    """The named SQL building blocks every fact about customers is made of: what a sale and
    a purchase are, a customer's sales, their receivable items. Each is defined here once;
    the statistics, debt, segments, customer care, the reports and the audit read them.

    Extension point: a bridge addon that sells without invoices (Point of Sale) adds its
    sales to every fact by overriding ``_sales_documents`` (a UNION ALL of the same
    columns) and ``_sales_flush``, calling super."""

    _name = "retail.sql.facts"
    _description = "Customer Facts: SQL Building Blocks"

    @api.model
    def _partner_filter(self, column, partner_ids):
        """``AND column IN ...``: ``partner_ids`` is None (no filter), ids, or an SQL
        query selecting them."""
        if partner_ids is None:
            return SQL()
        if isinstance(partner_ids, SQL):
            return SQL("AND %s IN (%s)", column, partner_ids)
        return SQL("AND %s = ANY(%s)", column, list(partner_ids))

    # ------------------------------------------------------------------
    # Sales
    # ------------------------------------------------------------------

    @api.model
    def _sales_flush(self):
        """Write pending ORM changes the sales blocks read."""
        self.env["account.move"].flush_model([
            "state", "move_type", "payment_state", "commercial_partner_id", "partner_id",
            "company_id", "invoice_date", "amount_total_signed"])
        self.env["res.partner"].flush_model(["commercial_partner_id"])

    @api.model
    def _sales_partner_filter(self, partner_ids):
        """The sales of these commercial partners. ``account_move.commercial_partner_id``
        has no index: a list of customers reaches their documents through the indexed
        ``partner_id`` of their contacts (a few customers read a few invoices)."""
        if partner_ids is None or isinstance(partner_ids, SQL):
            return self._partner_filter(SQL("m.commercial_partner_id"), partner_ids)
        return SQL(
            """AND m.partner_id IN (SELECT contact.id FROM res_partner contact
                                     WHERE contact.commercial_partner_id = ANY(%(ids)s))
               AND m.commercial_partner_id = ANY(%(ids)s)""",
            ids=list(partner_ids))

    @api.model
    def _sales_documents(self, partner_ids=None, company_ids=None):
        """SELECT one row per posted sale, with the columns:

        - ``partner_id``: the customer (commercial partner);
        - ``company_id``, ``date``;
        - ``amount``: in company currency, taxes included, credit notes negative;
        - ``is_purchase``: a purchase is a sale that is not a credit note and that no
          credit note cancelled (an invoice fully reversed is no purchase);
        - ``move_id``: the invoice or credit note (NULL for sales made without one).

        ``partner_ids`` (commercial partners: ids or an SQL query) and ``company_ids``
        restrict it, through indexes."""
        return SQL(
            """
            SELECT m.commercial_partner_id AS partner_id, m.company_id,
                   m.invoice_date AS date, m.amount_total_signed AS amount,
                   (m.move_type = 'out_invoice' AND m.payment_state != 'reversed')
                       AS is_purchase,
                   m.id AS move_id
              FROM account_move m
             WHERE m.state = 'posted' AND m.move_type IN %(move_types)s
                   %(partner_filter)s %(company_filter)s
            """,
            move_types=SALE_MOVE_TYPES,
            partner_filter=self._sales_partner_filter(partner_ids),
            company_filter=SQL("AND m.company_id = ANY(%s)", list(company_ids))
            if company_ids is not None else SQL(),
        )

    @api.model
    def _purchases(self, partner_ids=None, company_ids=None):
        """SELECT the purchases among the sales (same columns)."""
        return SQL(
            "SELECT * FROM (%s) sales WHERE sales.is_purchase",
            self._sales_documents(partner_ids, company_ids))

    @api.model
    def _customer_sales(self, partner_ids=None, company_ids=None, today=None, windows=()):
        """SELECT per customer and company: ``total`` sales, number of ``purchases``,
        ``first_date`` and ``last_date`` of purchase, and for each N of ``windows``
        ``sales_<N>d`` and ``purchases_<N>d`` over the N days up to ``today`` included
        (a date, or an SQL expression such as ``CURRENT_DATE`` for a view; default: the
        user's today). The filters apply to the documents, before grouping."""
        today = SQL("%s::date", today or fields.Date.context_today(self))
        window_columns = SQL().join(
            SQL(
                """, COALESCE(SUM(amount) FILTER (WHERE date > %(today)s - %(days)s), 0)
                       AS %(sales)s,
                     COUNT(*) FILTER (WHERE is_purchase AND date > %(today)s - %(days)s)
                       AS %(purchases)s""",
                today=today, days=days,
                sales=SQL.identifier(f"sales_{days}d"),
                purchases=SQL.identifier(f"purchases_{days}d"))
            for days in windows
        )
        return SQL(
            """
            SELECT partner_id, company_id,
                   SUM(amount) AS total,
                   COUNT(*) FILTER (WHERE is_purchase) AS purchases,
                   MIN(date) FILTER (WHERE is_purchase) AS first_date,
                   MAX(date) FILTER (WHERE is_purchase) AS last_date
                   %(window_columns)s
              FROM (%(sales)s) sales
             GROUP BY partner_id, company_id
            """,
            sales=self._sales_documents(partner_ids, company_ids),
            window_columns=window_columns,
        )

    # ------------------------------------------------------------------
    # Receivables
    # ------------------------------------------------------------------

    @api.model
    def _receivables_flush(self):
        """Write pending ORM changes the receivable blocks read."""
        self.env["account.move.line"].flush_model([
            "amount_residual", "balance", "parent_state", "account_id", "partner_id",
            "date", "date_maturity", "company_id", "move_id"])
        self.env["res.partner"].flush_model(["commercial_partner_id"])

    @api.model
    def _receivable_items(self, partner_ids=None, open_only=False):
        """SELECT the posted receivable journal items of customers, with the columns
        ``id`` (the journal item), ``partner_id`` (the commercial partner), ``company_id``,
        ``move_id``, ``date``, ``due`` (due date, else date), ``balance`` and ``residual``
        (company currency). ``open_only``: only the items not fully reconciled.
        ``partner_ids``: these partners' commercial partners."""
        return SQL(
            """
            SELECT aml.id, p.commercial_partner_id AS partner_id, aml.company_id,
                   aml.move_id, aml.date, COALESCE(aml.date_maturity, aml.date) AS due,
                   aml.balance, aml.amount_residual AS residual
              FROM account_move_line aml
              JOIN account_account account ON account.id = aml.account_id
              JOIN res_partner p ON p.id = aml.partner_id
             WHERE aml.parent_state = 'posted'
               AND account.account_type = 'asset_receivable'
                   %(open_filter)s %(partner_filter)s
            """,
            open_filter=SQL("AND aml.amount_residual != 0") if open_only else SQL(),
            partner_filter=SQL(
                """AND p.commercial_partner_id IN (
                       SELECT commercial_partner_id FROM res_partner WHERE id = ANY(%s))""",
                list(partner_ids))
            if partner_ids is not None else SQL(),
        )
