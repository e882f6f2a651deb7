"""The customer's debt (công nợ): figures from the receivable journal items, the
credit limit enforcement, and the statement and reminder opt-outs."""

from typing import NamedTuple

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, formatLang, split_every

from .retail_customer_facts import LedgerFactUpdate
from .retail_fields import DEBT_FIELDS, DEBT_READERS

# Customers per transaction of the nightly debt refresh.
DEBT_BATCH_SIZE = 1000


class DebtLimitCheck(NamedTuple):
    """A document about to add debt, as the credit limit check reads it."""

    document: models.Model  # the invoice or order
    company: models.Model  # the company that blocks over the limit
    partner: models.Model  # the commercial partner
    amount: float  # in company currency
    counted: float  # part of it already counted in the partner's orders to invoice

class ResPartner(models.Model):
    _inherit = "res.partner"

    # Debt (công nợ): per company, in company currency, on the commercial partner. Stored
    # company-dependent (one jsonb column per figure, like standard_price) so that they can be
    # searched and grouped; written only by the customer facts refresh from the journal
    # items (_retail_debt_update).
    retail_debt_amount = fields.Float(
        string="Debt", company_dependent=True, readonly=True, copy=False, digits=0,
        groups=DEBT_READERS,
        help="Open receivable balance: posted invoices less payments and credit notes.",
    )
    retail_debt_overdue_amount = fields.Float(
        string="Overdue Debt", company_dependent=True, readonly=True, copy=False, digits=0,
        groups=DEBT_READERS,
        help="Part of the debt past its due date, after unapplied payments and credit notes.",
    )
    retail_debt_overdue_days = fields.Integer(
        string="Days Overdue", company_dependent=True, readonly=True, copy=False,
        groups=DEBT_READERS,
        help="Days past due of the oldest overdue open invoice.",
    )
    retail_debt_history_ids = fields.One2many(
        "retail.debt.history", "partner_id", string="Debt History", readonly=True,
        groups=DEBT_READERS)
    retail_debt_status = fields.Selection(
        [("none", "No debt"), ("owes", "Owes, not overdue"), ("overdue", "Overdue")],
        string="Payment Status", company_dependent=True, readonly=True, copy=False,
        groups=DEBT_READERS,
    )

    # Debt reminders: a customer can be left out of the daily reminders.
    retail_no_reminder = fields.Boolean(
        string="Do Not Remind", tracking=True,
        help="The daily debt reminders skip this customer.",
    )

    # Debt statements: a customer can be left out of the statements sent in bulk.
    retail_no_statement = fields.Boolean(
        string="Do Not Send Statements", tracking=True,
        help="Debt statements sent in bulk skip this customer.",
    )

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        partners = super().create(vals_list)
        # Without a default, create caches the debt figures empty: read them from their
        # company fallback instead ("No debt").
        partners.invalidate_recordset(DEBT_FIELDS)
        return partners

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_retail_view_debt_aging(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_retail.action_retail_debt_aging_report")
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {}
        return action

    def action_retail_apply_payments(self):
        self.ensure_one()
        wizard = self.env["retail.debt.reconcile"]._open_for(self)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Apply Payments to Oldest Invoices"),
            "res_model": "retail.debt.reconcile",
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    # ------------------------------------------------------------------
    # Business methods: always the receivable journal items, refreshed set-based
    # ------------------------------------------------------------------

    @api.model
    def _retail_debt_query(self, partner_ids=None):
        """Per commercial partner (of `partner_ids`, None: all) and company: open receivable
        balance, the overdue part and the days overdue of the oldest overdue item, after
        unapplied payments and credit notes pay the open items oldest due first (as "apply
        to oldest first" would)."""
        return SQL(
            """
            WITH open_items AS (%(open_items)s), totals AS (
                SELECT partner_id, company_id, SUM(residual) AS debt,
                       COALESCE(-SUM(residual) FILTER (WHERE residual < 0), 0) AS credits
                  FROM open_items GROUP BY partner_id, company_id
            ), overdue AS MATERIALIZED (
                -- what of the overdue items the credits, spent oldest due first, leave open.
                -- Computed once: inlined, a plan estimating one customer (fresh statistics)
                -- ran the running sums over every item again for each customer.
                SELECT partner_id, company_id,
                       SUM(LEAST(residual, covered_until - credits)) AS amount,
                       MIN(due) AS oldest_due
                  FROM (SELECT i.partner_id, i.company_id, i.due, i.residual, t.credits,
                               SUM(i.residual) OVER (PARTITION BY i.partner_id, i.company_id
                                                     ORDER BY i.due, i.id) AS covered_until
                          FROM open_items i JOIN totals t USING (partner_id, company_id)
                         WHERE i.residual > 0) running
                 WHERE covered_until > credits AND due < %(today)s
                 GROUP BY partner_id, company_id
            )
            SELECT t.partner_id, t.company_id, t.debt,
                   COALESCE(o.amount, 0) AS overdue,
                   COALESCE(%(today)s - o.oldest_due, 0) AS overdue_days
              FROM totals t
              LEFT JOIN overdue o USING (partner_id, company_id)
            """,
            today=fields.Date.context_today(self),
            open_items=self.env["retail.sql.facts"]._receivable_items(
                partner_ids, open_only=True),
        )

    @api.model
    def _retail_debt_update(self, partner_ids):
        """The debt figures of these commercial partners (None: all) from the journal
        items, one jsonb per column (company id -> figure), as written by the customer facts
        refresh."""
        self.env["retail.sql.facts"]._receivables_flush()
        return LedgerFactUpdate(
            figures=SQL(
                """
                WITH facts AS (%s)
                SELECT partner_id,
                       jsonb_object_agg(company_id::text, debt) AS retail_debt_amount,
                       jsonb_object_agg(company_id::text, overdue)
                           AS retail_debt_overdue_amount,
                       jsonb_object_agg(company_id::text, overdue_days)
                           AS retail_debt_overdue_days,
                       jsonb_object_agg(company_id::text, CASE
                           WHEN debt <= 0 THEN 'none'
                           WHEN overdue > 0 THEN 'overdue'
                           ELSE 'owes' END) AS retail_debt_status
                  FROM facts GROUP BY partner_id
                """,
                self._retail_debt_query(partner_ids),
            ),
            columns={column: column for column in DEBT_FIELDS},
        )

    @api.model
    def _retail_debt_refresh(self):
        """Rewrite the debt figures of every customer from the journal items in one
        statement (install, upgrade); only rows whose figures changed are written. Returns
        the ids of the partners whose figures changed."""
        # Every partner with figures now, plus every partner that had some.
        return self.env["retail.customer.facts"]._write_ledger_facts(SQL(
            """SELECT id FROM res_partner WHERE retail_debt_status IS NOT NULL
               UNION SELECT partner_id FROM fact_debt"""),
            {"debt": self._retail_debt_update(None)})["debt"]

    @api.model
    def _retail_debt_write(self, commercial_ids):
        """Rewrite the debt figures of these commercial partners in one statement; returns
        the ids of those whose figures changed."""
        return self.env["retail.customer.facts"]._write_ledger_facts(
            commercial_ids, {"debt": self._retail_debt_update(commercial_ids)})["debt"]

    @api.model
    def _cron_retail_refresh_debt(self):
        """Nightly: overdue figures move with the calendar even when no entry changes. In
        batches committed with the cron's progress, each locking its customers first
        (:meth:`~.retail_customer_facts.RetailCustomerFacts._run_in_locked_batches`): a
        refresh over a customer a cashier holds would fail the whole run, and that
        customer's own refresh follows the cashier's transaction anyway."""
        Partner = self.sudo()
        # Who has figures, or open items to have some: what a full refresh rewrites.
        facts = self.env["retail.sql.facts"]
        facts._receivables_flush()
        Partner.flush_model(["retail_debt_status"])
        self.env.cr.execute(SQL(
            """SELECT id FROM res_partner WHERE retail_debt_status IS NOT NULL
               UNION SELECT partner_id FROM (%s) items ORDER BY 1""",
            facts._receivable_items(open_only=True)))
        partner_ids = [row[0] for row in self.env.cr.fetchall()]
        self.env["retail.customer.facts"]._run_in_locked_batches(
            [(batch, Partner._retail_debt_write)
             for batch in split_every(DEBT_BATCH_SIZE, partner_ids)],
            resumable=False)

    @api.model
    def _retail_enforce_credit_limit(self, documents):
        """Refuse documents that take their customer above its debt limit, unless the user
        is an accounting administrator. ``documents``: :class:`DebtLimitCheck` of each
        document. Several documents of one customer count together."""
        if not documents or self.env.user.has_group("account.group_account_manager"):
            return
        partners = self.browse({check.partner.id for check in documents})
        # Serialize with any other transaction adding debt to these customers (the write
        # makes a concurrent one fail and retry instead of reading a stale balance).
        self.env.cr.execute(SQL(
            "SELECT id FROM res_partner WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
            partners.ids))
        self.env.cr.execute(SQL(
            "UPDATE res_partner SET write_date = write_date WHERE id = ANY(%s)", partners.ids))
        # Both are computed without dependencies: drop values read earlier in this request.
        partners.invalidate_recordset(["credit", "credit_to_invoice"])
        added = {}
        for document, company, partner, amount, exclude in documents:  # DebtLimitCheck
            partner = partner.sudo().with_company(company)
            if not partner.credit_limit:
                continue
            currency = company.currency_id
            key = (partner.id, company.id)
            added[key] = added.get(key, 0.0) + amount - exclude
            debt, to_invoice = partner.credit, partner.credit_to_invoice
            total = debt + to_invoice + added[key]
            if currency.compare_amounts(total, partner.credit_limit) > 0:
                def money(value, currency=currency):
                    return formatLang(self.env, value, currency_obj=currency)
                raise UserError(self.env._(
                    "%(document)s cannot be confirmed: %(customer)s would owe %(total)s, above "
                    "the debt limit of %(limit)s (debt %(debt)s, orders not yet invoiced "
                    "%(to_invoice)s, this document %(amount)s). Ask an accounting "
                    "administrator, or collect a payment first.",
                    document=document.display_name, customer=partner.display_name,
                    total=money(total), limit=money(partner.credit_limit), debt=money(debt),
                    to_invoice=money(to_invoice), amount=money(amount),
                ))

    # Debt reminders: the templates list the overdue invoices through this.
    def _retail_overdue_invoices(self):
        """The customer's overdue invoices in the current company, oldest first."""
        return self.env["retail.debt.reminder"]._overdue_invoices(self)
