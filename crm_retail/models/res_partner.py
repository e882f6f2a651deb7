import re
from collections import defaultdict

import phonenumbers

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL, formatLang
from odoo.tools.sql import column_exists

from odoo.addons.phone_validation.models.mail_thread_phone import PHONE_REGEX_PATTERN

from .retail_input_check import check_field_values

# What a phone may be written with: digits and the usual separators, an optional leading +.
PHONE_ALLOWED = re.compile(r"^\+?[\d\s().\-/]+$")
PHONE_MIN_DIGITS = 8
PHONE_MAX_DIGITS = 15  # the E.164 maximum
# A search term that is mostly digits is taken as a phone number.
PHONE_LIKE_TERM = re.compile(r"^[\d\s().+\-/]{6,}$")
def _representative_lead(leads):
    """The card that follows a customer: the most recent won one, else the most recent."""
    leads = leads.filtered("active").sorted(lambda lead: (lead.create_date, lead.id),
                                            reverse=True)
    return next((lead for lead in leads if lead.stage_id.is_won), leads[:1])


# Facts only the engine writes, as superuser, from the documents they derive from; a
# user's value for one of them is refused (see _retail_check_derived_fields), with what
# to do instead.
DERIVED_FIELDS = {
    "loyalty_points": "points",
    "loyalty_points_total": "points",
    "loyalty_tier_id": "points",
    "retail_total_sales": "sales",
    "retail_purchase_count": "sales",
    "retail_last_purchase_date": "sales",
    "retail_stage_id": "stage",
    "debt_amount": "debt",
    "debt_overdue_amount": "debt",
    "debt_overdue_days": "debt",
    "debt_status": "debt",
    "retail_birthday_greeted_year": "care",
    "retail_thank_you_date": "care",
    "retail_followup_date": "care",
}
DEBT_FIELDS = [fname for fname, fact in DERIVED_FIELDS.items() if fact == "debt"]
# Who may read them, the way Odoo guards a customer's credit: debt for invoicing and
# sales users, points, tier, statistics and funnel stage for Retail CRM and invoicing users.
DEBT_READERS = ("account.group_account_invoice,account.group_account_readonly,"
                "sales_team.group_sale_salesman")
LOYALTY_READERS = "crm_retail.group_crm_retail_user,account.group_account_invoice"
# Points one adjustment or redemption may move: far beyond any shop's need, and far
# enough below the database's integer limit that no balance can overflow it.
MAX_POINTS = 1_000_000_000


def without_derived(defaults, derived_fields):
    """Default values less the derived facts, which have none to give."""
    return {fname: value for fname, value in defaults.items() if fname not in derived_fields}


def check_derived_fields(model, names, derived):
    """Refuse, unless the superuser writes, values for the facts in ``derived`` (field
    name: what the fact follows) among the field ``names`` given to create or write."""
    names = [name for name in names if name in derived]
    if not names or model.env.su:
        return
    env = model.env
    advice = {
        "points": env._("Points and tiers follow the points history: a manager records a "
                        "points adjustment."),
        "sales": env._("Purchase statistics follow the posted invoices and credit notes."),
        "stage": env._("The funnel stage follows the customer's card: move the card in the "
                       "pipeline."),
        "debt": env._("Debt figures follow the journal items: post or reconcile invoices, "
                      "payments and credit notes."),
        "care": env._("Customer care marks are set when the greeting, thank-you or "
                      "follow-up is sent."),
        "invoice_points": env._("The points of an invoice are counted when it is posted, "
                                "from its amount."),
        "funnel": env._("The funnel step of a card follows its stage and the customer's "
                        "purchases: move the card instead."),
    }
    raise UserError(env._(
        "%(fields)s cannot be set by hand: Retail CRM computes them. %(advice)s",
        fields=", ".join(f"{model._fields[name]._description_string(env)} ({name})"
                         for name in names),
        advice=" ".join(dict.fromkeys(advice[derived[name]] for name in names)),
    ))


# Posted sales documents that make the purchase statistics.
SALE_MOVE_TYPES = ("out_invoice", "out_refund")


# Facts kept per company, one jsonb column each (company id -> value), like Odoo's own
# company-dependent fields: a customer shared by the companies of a shop group buys, earns
# and owes in each of them apart.
PER_COMPANY_FACTS = ("retail_total_sales", "retail_purchase_count",
                     "retail_last_purchase_date", "loyalty_points", "loyalty_points_total",
                     "loyalty_tier_id")
STATS_AGGREGATES = SQL("""
    jsonb_object_agg(company_id::text, total) AS total,
    jsonb_object_agg(company_id::text, purchases) AS purchases,
    jsonb_object_agg(company_id::text, to_char(last_date, 'YYYY-MM-DD'))
        FILTER (WHERE last_date IS NOT NULL) AS last_date""")
POINTS_AGGREGATES = SQL("""
    jsonb_object_agg(company_id::text, balance) AS balance,
    jsonb_object_agg(company_id::text, earned) AS earned,
    array_agg(company_id) AS companies""")


class ResPartner(models.Model):
    _inherit = "res.partner"

    # Odoo's own E.164 form of the phone (phone_validation), indexed for the phone search.
    phone_sanitized = fields.Char(index="btree_not_null")
    # The customer code (mã khách hàng) is Odoo's own reference field; the views call
    # it "Customer Code" (relabelling the field itself would lose to base's translation).
    ref = fields.Char(tracking=True, copy=False)
    gender = fields.Selection(
        [("male", "Male"), ("female", "Female"), ("other", "Other")],
        tracking=True,
    )
    birthday = fields.Date(tracking=True)
    birthday_month = fields.Selection(
        [(str(month), name) for month, name in enumerate(
            ["January", "February", "March", "April", "May", "June", "July",
             "August", "September", "October", "November", "December"], start=1)],
        compute="_compute_birthday_month",
        store=True,
        precompute=True,
    )
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
    loyalty_points = fields.Integer(
        string="Current Points",
        company_dependent=True,
        readonly=True,
        copy=False,
        groups=LOYALTY_READERS,
        help="The points balance: the sum of the points history.",
    )
    loyalty_points_total = fields.Integer(
        string="Lifetime Points",
        company_dependent=True,
        readonly=True,
        copy=False,
        groups=LOYALTY_READERS,
        help="All points earned, less those taken back by credit notes and reversals.",
    )
    loyalty_tier_id = fields.Many2one(
        "retail.tier", string="Tier", company_dependent=True, readonly=True, copy=False,
        tracking=True, groups=LOYALTY_READERS,
    )
    loyalty_points_line_ids = fields.One2many(
        "retail.points.line", "partner_id", string="Points History", readonly=True,
    )
    retail_referrer_id = fields.Many2one(
        "res.partner", string="Referred By", index="btree_not_null", copy=False,
        help="The customer who brought this one.",
    )
    retail_referral_ids = fields.One2many(
        "res.partner", "retail_referrer_id", string="Referred Customers", readonly=True)
    retail_referral_count = fields.Integer(
        string="Referrals", compute="_compute_retail_referral_count")
    retail_stage_id = fields.Many2one(
        "crm.stage", string="Funnel Stage", readonly=True, copy=False, index=True,
        help="Stage of the card that follows this customer in the pipeline.",
        groups=LOYALTY_READERS,
    )
    retail_same_phone_partner_id = fields.Many2one(
        "res.partner",
        string="Customer with the same phone",
        compute="_compute_retail_duplicates",
    )
    retail_same_email_partner_id = fields.Many2one(
        "res.partner",
        string="Customer with the same email",
        compute="_compute_retail_duplicates",
    )

    # Debt (công nợ): per company, in company currency, on the commercial partner. Stored
    # company-dependent (one jsonb column per figure, like standard_price) so that they can be
    # searched and grouped; written only by _retail_debt_refresh from the journal items.
    debt_amount = fields.Float(
        string="Debt", company_dependent=True, readonly=True, copy=False, digits=0,
        groups=DEBT_READERS,
        help="Open receivable balance: posted invoices less payments and credit notes.",
    )
    debt_overdue_amount = fields.Float(
        string="Overdue Debt", company_dependent=True, readonly=True, copy=False, digits=0,
        groups=DEBT_READERS,
        help="Part of the debt past its due date, after unapplied payments and credit notes.",
    )
    debt_overdue_days = fields.Integer(
        string="Days Overdue", company_dependent=True, readonly=True, copy=False,
        groups=DEBT_READERS,
        help="Days past due of the oldest overdue open invoice.",
    )
    retail_debt_history_ids = fields.One2many(
        "retail.debt.history", "partner_id", string="Debt History", readonly=True,
        groups=DEBT_READERS)
    debt_status = fields.Selection(
        [("none", "No debt"), ("owes", "Owes, not overdue"), ("overdue", "Overdue")],
        string="Payment Status", company_dependent=True, readonly=True, copy=False,
        groups=DEBT_READERS,
    )

    _loyalty_points_positive = models.Constraint(
        "CHECK(loyalty_points IS NULL OR NOT jsonb_path_exists(loyalty_points, '$.* ? (@ < 0)'))",
        "A customer's points balance cannot go negative.",
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
            self.pool.post_init(self._cron_update_tiers)
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
                   SET loyalty_points = f.balance, loyalty_points_total = f.earned
                  FROM (SELECT partner_id, %(aggregates)s FROM points GROUP BY partner_id) f
                 WHERE f.partner_id = p.id
                """,
                points=self._retail_points_query(),
                aggregates=POINTS_AGGREGATES,
            ))

    @api.model
    def _retail_stats_query(self, partner_ids=None, per_company=False):
        """Per commercial partner (and company): total, number and last date of posted
        sales."""
        return SQL(
            """
            SELECT commercial_partner_id AS partner_id,
                   SUM(amount_total_signed) AS total,
                   COUNT(*) FILTER (WHERE %(purchase)s) AS purchases,
                   MAX(invoice_date) FILTER (WHERE %(purchase)s) AS last_date
                   %(company_column)s
              FROM account_move
             WHERE state = 'posted' AND move_type IN %(move_types)s %(partner_filter)s
             GROUP BY commercial_partner_id %(company_column)s
            """,
            # An invoice cancelled by a credit note is no purchase.
            purchase=SQL("move_type = 'out_invoice' AND payment_state != 'reversed'"),
            move_types=SALE_MOVE_TYPES,
            company_column=SQL(", company_id") if per_company else SQL(),
            partner_filter=SQL("AND commercial_partner_id IN %s", tuple(partner_ids))
            if partner_ids is not None else SQL(),
        )

    @api.model
    def _retail_points_query(self, partner_ids=None):
        """Per customer and company: points balance and lifetime points of the history."""
        return SQL(
            """
            SELECT partner_id, company_id, SUM(points_earned - points_used) AS balance,
                   SUM(points_earned) AS earned
              FROM retail_points_line %s
             GROUP BY partner_id, company_id
            """,
            SQL("WHERE partner_id = ANY(%s)", list(partner_ids))
            if partner_ids is not None else SQL(),
        )

    # ------------------------------------------------------------------
    # Debt: always the receivable journal items, refreshed set-based
    # ------------------------------------------------------------------

    @api.model
    def _retail_debt_query(self, partner_ids=None):
        """Per commercial partner (of `partner_ids`, None: all) and company: open receivable
        balance, the overdue part and the days overdue of the oldest overdue item, after
        unapplied payments and credit notes pay the open items oldest due first (as "apply
        to oldest first" would)."""
        return SQL(
            """
            WITH open_items AS (
                SELECT p.commercial_partner_id AS partner_id, aml.company_id, aml.id,
                       aml.amount_residual AS residual,
                       COALESCE(aml.date_maturity, aml.date) AS due
                  FROM account_move_line aml
                  JOIN account_account account ON account.id = aml.account_id
                  JOIN res_partner p ON p.id = aml.partner_id
                 WHERE aml.parent_state = 'posted'
                   AND account.account_type = 'asset_receivable'
                   AND aml.amount_residual != 0
                   %(partner_filter)s
            ), totals AS (
                SELECT partner_id, company_id, SUM(residual) AS debt,
                       COALESCE(-SUM(residual) FILTER (WHERE residual < 0), 0) AS credits
                  FROM open_items GROUP BY partner_id, company_id
            ), uncovered AS (
                -- what of each overdue item the credits, spent oldest due first, leave open
                SELECT partner_id, company_id, due,
                       LEAST(residual, covered_until - credits) AS amount
                  FROM (SELECT i.partner_id, i.company_id, i.due, i.residual, t.credits,
                               SUM(i.residual) OVER (PARTITION BY i.partner_id, i.company_id
                                                     ORDER BY i.due, i.id) AS covered_until
                          FROM open_items i JOIN totals t USING (partner_id, company_id)
                         WHERE i.residual > 0) running
                 WHERE covered_until > credits AND due < %(today)s
            )
            SELECT t.partner_id, t.company_id, t.debt,
                   COALESCE(SUM(u.amount), 0) AS overdue,
                   COALESCE(%(today)s - MIN(u.due), 0) AS overdue_days
              FROM totals t
              LEFT JOIN uncovered u USING (partner_id, company_id)
             GROUP BY t.partner_id, t.company_id, t.debt
            """,
            today=fields.Date.context_today(self),
            partner_filter=SQL(
                """AND p.commercial_partner_id IN (
                       SELECT commercial_partner_id FROM res_partner WHERE id = ANY(%s))""",
                list(partner_ids))
            if partner_ids is not None else SQL(),
        )

    @api.model
    def _retail_debt_refresh(self, partner_ids=None):
        """Rewrite the debt figures of these partners' commercial partners (None: all) from
        the journal items in one statement; only rows whose figures changed are written.
        Returns the ids of the partners whose figures changed."""
        self.env["account.move.line"].flush_model(
            ["amount_residual", "parent_state", "account_id", "partner_id", "date_maturity",
             "company_id"])
        self.flush_model(["commercial_partner_id"])
        if partner_ids is not None:
            partner_ids = list(partner_ids)
            if not partner_ids:
                return []
            targets = SQL(
                "SELECT DISTINCT commercial_partner_id AS id FROM res_partner WHERE id = ANY(%s)",
                partner_ids)
        else:
            # Every partner with figures now, plus every partner that had some.
            targets = SQL(
                """SELECT id FROM res_partner WHERE debt_status IS NOT NULL
                   UNION SELECT partner_id FROM figures""")
        self.env.cr.execute(SQL(
            """
            WITH facts AS (%(facts)s),
            figures AS (
                SELECT partner_id,
                       jsonb_object_agg(company_id::text, debt) AS debt_amount,
                       jsonb_object_agg(company_id::text, overdue) AS debt_overdue_amount,
                       jsonb_object_agg(company_id::text, overdue_days) AS debt_overdue_days,
                       jsonb_object_agg(company_id::text, CASE
                           WHEN debt <= 0 THEN 'none'
                           WHEN overdue > 0 THEN 'overdue'
                           ELSE 'owes' END) AS debt_status
                  FROM facts GROUP BY partner_id
            ),
            targets AS (%(targets)s)
            UPDATE res_partner p
               SET debt_amount = f.debt_amount,
                   debt_overdue_amount = f.debt_overdue_amount,
                   debt_overdue_days = f.debt_overdue_days,
                   debt_status = f.debt_status
              FROM targets t LEFT JOIN figures f ON f.partner_id = t.id
             WHERE p.id = t.id
               AND (p.debt_amount IS DISTINCT FROM f.debt_amount
                    OR p.debt_overdue_amount IS DISTINCT FROM f.debt_overdue_amount
                    OR p.debt_overdue_days IS DISTINCT FROM f.debt_overdue_days
                    OR p.debt_status IS DISTINCT FROM f.debt_status)
            RETURNING p.id
            """,
            facts=self._retail_debt_query(partner_ids),
            targets=targets,
        ))
        changed = [row[0] for row in self.env.cr.fetchall()]
        if changed:
            self.invalidate_model(
                ["debt_amount", "debt_overdue_amount", "debt_overdue_days", "debt_status"])
        return changed

    @api.model
    def _retail_stats_refresh(self, partner_ids):
        """Rewrite the purchase statistics of these commercial partners, per company, from
        the posted documents in one statement; only rows that change are written."""
        self.env["account.move"].flush_model(
            ["state", "payment_state", "move_type", "amount_total_signed", "invoice_date",
             "commercial_partner_id", "company_id"])
        self.env.cr.execute(SQL(
            """
            WITH sales AS (%(stats)s),
            figures AS (SELECT partner_id, %(aggregates)s FROM sales GROUP BY partner_id)
            UPDATE res_partner p
               SET retail_total_sales = f.total, retail_purchase_count = f.purchases,
                   retail_last_purchase_date = f.last_date
              FROM unnest(%(ids)s::int[]) AS target(id)
              LEFT JOIN figures f ON f.partner_id = target.id
             WHERE p.id = target.id
               AND (p.retail_total_sales IS DISTINCT FROM f.total
                    OR p.retail_purchase_count IS DISTINCT FROM f.purchases
                    OR p.retail_last_purchase_date IS DISTINCT FROM f.last_date)
            RETURNING p.id
            """,
            ids=list(partner_ids),
            stats=self._retail_stats_query(partner_ids, per_company=True),
            aggregates=STATS_AGGREGATES,
        ))
        if self.env.cr.fetchall():
            self.invalidate_model(
                ["retail_total_sales", "retail_purchase_count", "retail_last_purchase_date"])

    @api.model
    def _retail_stage_refresh(self, partner_ids):
        """Set the funnel stage of these customers and their contacts to the stage of the
        card that follows each (the most recent won one, else the most recent), in one
        statement."""
        self.env["crm.lead"].flush_model(
            ["partner_id", "stage_id", "active", "type", "create_date"])
        self.env["crm.stage"].flush_model(["is_won"])
        self.env.cr.execute(SQL(
            """
            UPDATE res_partner p
               SET retail_stage_id = card.stage_id
              FROM res_partner target
              LEFT JOIN LATERAL (
                    SELECT lead.stage_id FROM crm_lead lead
                      JOIN crm_stage stage ON stage.id = lead.stage_id
                     WHERE lead.partner_id = target.id AND lead.active
                       AND lead.type = 'opportunity'
                     ORDER BY stage.is_won DESC, lead.create_date DESC, lead.id DESC
                     LIMIT 1) card ON TRUE
             WHERE p.id = target.id
               AND target.commercial_partner_id = ANY(%s)
               AND p.retail_stage_id IS DISTINCT FROM card.stage_id
            RETURNING p.id
            """,
            list(partner_ids),
        ))
        if self.env.cr.fetchall():
            self.invalidate_model(["retail_stage_id"])

    @api.model
    def _retail_points_refresh(self, partner_ids):
        """Rewrite the points balances of these customers, per company, from their history
        in one statement, then move the tiers of those whose balance changed."""
        self.env["retail.points.line"].flush_model(
            ["partner_id", "company_id", "points_earned", "points_used"])
        self.env.cr.execute(SQL(
            """
            WITH points AS (%(points)s),
            figures AS (SELECT partner_id, %(aggregates)s FROM points GROUP BY partner_id)
            UPDATE res_partner p
               SET loyalty_points = f.balance, loyalty_points_total = f.earned
              FROM unnest(%(ids)s::int[]) AS target(id)
              LEFT JOIN figures f ON f.partner_id = target.id
             WHERE p.id = target.id
               AND (p.loyalty_points IS DISTINCT FROM f.balance
                    OR p.loyalty_points_total IS DISTINCT FROM f.earned)
            RETURNING p.id, f.companies
            """,
            ids=list(partner_ids),
            points=self._retail_points_query(partner_ids),
            aggregates=POINTS_AGGREGATES,
        ))
        partner_ids_by_company = defaultdict(list)
        for partner_id, company_ids in self.env.cr.fetchall():
            for company_id in company_ids or ():
                partner_ids_by_company[company_id].append(partner_id)
        if not partner_ids_by_company:
            return
        self.invalidate_model(["loyalty_points", "loyalty_points_total"])
        for company_id, ids in partner_ids_by_company.items():
            self.browse(ids).with_company(company_id)._retail_update_tiers()

    @api.model
    def _cron_refresh_debt(self):
        # Overdue figures move with the calendar even when no entry changes.
        self.sudo()._retail_debt_refresh()

    @api.model
    def _retail_enforce_credit_limit(self, documents):
        """Refuse documents that take their customer above its debt limit, unless the user
        is an accounting administrator. `documents` holds tuples (document, company that
        blocks, commercial partner, amount in company currency, amount already counted in
        the partner's orders to invoice). Several documents of one customer count
        together."""
        if not documents or self.env.user.has_group("account.group_account_manager"):
            return
        partners = self.browse({doc[2].id for doc in documents})
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
        for document, company, partner, amount, exclude in documents:
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

    def action_view_debt_aging(self):
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

    # Debt reminders: the templates list the overdue invoices through this.
    def _retail_overdue_invoices(self):
        """The customer's overdue invoices in the current company, oldest first."""
        return self.env["retail.debt.reminder.level"]._overdue_invoices(self)

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------

    @api.depends("birthday")
    def _compute_birthday_month(self):
        for partner in self:
            partner.birthday_month = str(partner.birthday.month) if partner.birthday else False

    def _compute_retail_referral_count(self):
        counts = dict(self.with_context(active_test=False)._read_group(
            [("retail_referrer_id", "in", self.ids)], ["retail_referrer_id"], ["__count"]))
        for partner in self:
            partner.retail_referral_count = counts.get(partner, 0)

    @api.depends("phone", "email", "company_id", "country_id")
    def _compute_retail_duplicates(self):
        """Warn, never block: another customer of the same company has this phone or email."""
        Partner = self.env["res.partner"].with_context(active_test=False).sudo()
        customers = self.filtered(lambda partner: not partner.parent_id)
        # The holders of all the emails at once, in Odoo's order for customers.
        emails = set(customers.mapped("email_normalized")) - {False}
        email_holders = defaultdict(list)
        if emails:
            holders = Partner.search_fetch(
                Domain("parent_id", "=", False) & Domain("email_normalized", "in", list(emails)),
                ["email_normalized", "company_id"],
            )
            for holder in holders:
                email_holders[holder.email_normalized].append(holder)
        for partner in self:
            same_phone = same_email = Partner.browse()
            if partner in customers:
                companies = (False, partner.company_id.id) if partner.company_id else None
                same_email = next((
                    holder for holder in email_holders.get(partner.email_normalized, ())
                    if holder.id != partner._origin.id
                    and (companies is None or holder.company_id.id in companies)
                ), same_email)
                phone_domain = partner._retail_phone_domain(partner.phone)
                if phone_domain is not None:
                    domain = Domain("parent_id", "=", False) & phone_domain
                    if companies is not None:
                        domain &= Domain("company_id", "in", list(companies))
                    if partner._origin.id:
                        domain &= Domain("id", "!=", partner._origin.id)
                    same_phone = Partner.search(domain, limit=1)
            partner.retail_same_phone_partner_id = same_phone
            partner.retail_same_email_partner_id = same_email

    @api.onchange("phone", "country_id", "company_id")
    def _onchange_phone_validation(self):
        """Odoo writes every number internationally ("+84 901 234 567"); numbers of the
        company's country keep the national form shops write ("0901 234 567")."""
        result = super()._onchange_phone_validation()
        for partner in self:
            country = (partner.company_id or self.env.company).country_id
            if partner.phone and country:
                partner.phone = partner._phone_format(
                    fname="phone", country=country, force_format="NATIONAL") or partner.phone
        return result

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------

    @api.constrains("birthday")
    def _check_birthday(self):
        today = fields.Date.context_today(self)
        for partner in self:
            if partner.birthday and partner.birthday > today:
                raise ValidationError(self.env._(
                    "The birthday of %(customer)s (%(birthday)s) is in the future.",
                    customer=partner.display_name,
                    birthday=partner.birthday,
                ))

    @api.constrains("phone")
    def _check_phone(self):
        for partner in self:
            phone = (partner.phone or "").strip()
            if not phone:
                continue
            digits = sum(char.isdigit() for char in phone)
            if (
                not PHONE_ALLOWED.match(phone)
                or not PHONE_MIN_DIGITS <= digits <= PHONE_MAX_DIGITS
            ):
                raise ValidationError(self.env._(
                    "The phone number “%(phone)s” of %(customer)s is not valid: use "
                    "%(min)s to %(max)s digits, with spaces, dots, dashes or brackets "
                    "and an optional leading +.",
                    phone=phone,
                    customer=partner.display_name,
                    min=PHONE_MIN_DIGITS,
                    max=PHONE_MAX_DIGITS,
                ))

    @api.constrains("ref", "company_id")
    def _check_ref_unique(self):
        """Codes are unique per company; checked on new values only, so a database
        whose partners already share references still installs."""
        # Codes drawn from the sequence are unique by construction.
        generated = self.env.context.get("crm_retail_generated_codes") or ()
        partners = self.filtered(lambda partner: partner.ref and partner.ref not in generated)
        if not partners:
            return
        holders = self.with_context(active_test=False).sudo()._read_group(
            [("ref", "in", partners.mapped("ref"))],
            groupby=["ref", "company_id"],
            aggregates=["id:recordset"],
        )
        holders_by_key = {(ref, company.id): records for ref, company, records in holders}
        for partner in partners:
            others = holders_by_key.get((partner.ref, partner.company_id.id), self.browse())
            others -= partner
            if others:
                raise ValidationError(self.env._(
                    "The customer code %(code)s is already used by %(customer)s.",
                    code=partner.ref,
                    customer=others[0].display_name,
                ))

    # ------------------------------------------------------------------
    # CRUD: automatic customer code
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._retail_check_derived_fields(vals)
            self._retail_check_values(vals)
            self._retail_clean_ref(vals)
        self._retail_keep_sequence_ahead([vals["ref"] for vals in vals_list if vals.get("ref")])
        generated = self._retail_fill_customer_codes(vals_list)
        partners = super(
            ResPartner, self.with_context(crm_retail_generated_codes=generated)
        ).create(vals_list)
        # Without a default, create caches the debt figures empty: read them from their
        # company fallback instead ("No debt").
        partners.invalidate_recordset(DEBT_FIELDS)
        return partners.with_env(self.env)

    @api.model
    def default_get(self, fields):  # pylint: disable=redefined-outer-name
        # Facts have no default to give: not from the context (a list grouped by tier
        # quick-creates with the tier as default), nor from a user's own defaults; and a
        # new user's partner, created with the user's defaults, must not carry them into
        # create. Debt status still reads "No debt" from its company fallback.
        return without_derived(super().default_get(fields), DERIVED_FIELDS)

    def _retail_check_derived_fields(self, vals):
        check_derived_fields(self, vals, DERIVED_FIELDS)

    def _retail_check_values(self, vals):
        """The fields the addon adds, by type (the code has its own check below)."""
        check_field_values(self, vals, ("gender", "birthday", "retail_referrer_id",
                                        "retail_no_reminder", "retail_no_statement"))

    def _retail_clean_ref(self, vals):
        """Strip the customer code given in ``vals``; anything but text is refused."""
        ref = vals.get("ref")
        if ref is None or ref is False:
            return
        if not isinstance(ref, str):
            raise ValidationError(self.env._(
                "The customer code must be text, for example KH000123."))
        vals["ref"] = ref.strip()

    def write(self, vals):
        self._retail_check_derived_fields(vals)
        self._retail_check_values(vals)
        self._retail_clean_ref(vals)
        if vals.get("ref"):
            self._retail_keep_sequence_ahead([vals["ref"]])
        return super().write(vals)

    @api.model
    def _retail_code_sequence(self):
        # The xmlid lookup is cached (env.ref would also check existence: a query).
        sequence_id = self.env["ir.model.data"]._xmlid_to_res_id(
            "crm_retail.seq_customer_code", raise_if_not_found=False
        )
        return self.env["ir.sequence"].browse(sequence_id)

    @api.model
    def _retail_fill_customer_codes(self, vals_list):
        """Put the next codes into the values of new top-level partners that have none,
        before the insert: one sequence query per batch, nothing written twice."""
        if self.env.context.get("crm_retail_no_customer_code"):
            return frozenset()
        default_parent = self.env.context.get("default_parent_id")
        needing = [
            vals for vals in vals_list
            if not vals.get("ref") and not vals.get("parent_id", default_parent)
        ]
        sequence = self._retail_code_sequence()
        if not needing or not sequence:
            return frozenset()
        codes = sequence.sudo()._retail_next_codes(len(needing))
        for vals, code in zip(needing, codes, strict=True):
            vals["ref"] = code
        return frozenset(codes)

    @api.model
    def _retail_keep_sequence_ahead(self, codes):
        """A code typed by hand in the sequence's own format (an import from another
        shop software, say) moves the sequence past it, so automatic codes never
        collide with codes already given."""
        if codes and (sequence := self._retail_code_sequence()):
            sequence.sudo()._retail_skip_past(codes)

    # ------------------------------------------------------------------
    # Search: a phone number in any format finds the customer
    # ------------------------------------------------------------------

    @api.model
    def _retail_phone_domain(self, term):
        """Domain finding a phone number typed in any local or international format;
        None when the term is not a phone number.

        The term is read as a number of the company's country (Vietnam when unset),
        and its E.164, national and as-typed digits are matched exactly against
        Odoo's own phone search columns (indexed), so that "090 123 4567",
        "+84 90 123 4567" and "0901234567" find each other whichever was stored."""
        if not isinstance(term, str) or not PHONE_LIKE_TERM.match(term.strip()):
            return None
        term = term.strip()
        candidates = {re.sub(PHONE_REGEX_PATTERN, "", term)}
        e164 = None
        try:
            number = phonenumbers.parse(term, self.env.company.country_id.code or "VN")
        except phonenumbers.NumberParseException:
            number = None
        if number:
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            national = phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.NATIONAL)
            candidates |= {e164, re.sub(r"\D", "", national)}
        self.flush_model(["phone", "phone_sanitized"])
        # The same expression as Odoo's phone search index (phone_validation), so
        # both sides of the OR are index scans.
        self.env.cr.execute(SQL(
            """
            SELECT id FROM res_partner
             WHERE phone_sanitized = %s
                OR (phone IS NOT NULL
                    AND regexp_replace(phone::text, %s::text, ''::text, 'g'::text) IN %s)
            """,
            e164, PHONE_REGEX_PATTERN, tuple(candidates),
        ))
        return Domain("id", "in", [row[0] for row in self.env.cr.fetchall()])

    def _search_phone_mobile_search(self, operator, value):
        domain = super()._search_phone_mobile_search(operator, value)
        if operator in ("like", "ilike", "=", "=like", "=ilike"):
            phone_domain = self._retail_phone_domain(value)
            if phone_domain is not None:
                domain = Domain(domain) | phone_domain
        return domain

    @api.model
    def _search_display_name(self, operator, value):
        if operator in ("like", "ilike", "=", "=like", "=ilike"):
            phone_domain = self._retail_phone_domain(value)
            if phone_domain is not None:
                # A term made of digits and separators: the phone in any format, or exactly
                # a code or tax id, all indexed. Odoo's substring match on five columns would
                # scan the whole table (about 90 ms at 100,000 customers) to find nothing.
                term = value.strip()
                return phone_domain | Domain.OR(
                    Domain(field, "=", term) for field in ("ref", "vat", "company_registry"))
        return super()._search_display_name(operator, value)

    @api.depends("ref", "phone")
    @api.depends_context("retail_show_code_phone")
    def _compute_display_name(self):
        """With ``retail_show_code_phone`` (set on the customer field of invoices and
        quotations), label customers "[code] name · phone" so that namesakes differ."""
        super()._compute_display_name()
        if not self.env.context.get("retail_show_code_phone"):
            return
        formatted = self.env.context.get("formatted_display_name")
        for partner in self:
            if not (partner.ref or partner.phone):
                continue
            # Only the first line: Odoo puts the address and tax id on the next ones.
            first, newline, rest = partner.display_name.partition("\n")
            if partner.ref:
                first = f"[{partner.ref}] {first}"
            if partner.phone:
                # The dropdown's markup (odoomark) shows --text-- muted.
                phone = f"\t --{partner.phone}--" if formatted else f"· {partner.phone}"
                first = f"{first} {phone}"
            partner.display_name = first + newline + rest

    # ------------------------------------------------------------------
    # Loyalty: tiers and actions
    # ------------------------------------------------------------------

    def _retail_update_tiers(self):
        """Put each customer in the highest tier whose threshold it reaches, on its
        company's basis (lifetime points or spend over the last 12 months); the tier's
        pricelist becomes the customer's. Set-based: one query for the spend."""
        partners = self.filtered(lambda p: not p.parent_id)
        if not partners:
            return
        company = self.env.company
        tiers = self.env["retail.tier"].sudo().search(
            [("company_id", "in", [company.id, False])], order="threshold desc, id"
        )
        metric = partners._retail_tier_metric()
        # One write per move (old tier -> new tier), not one per customer.
        moves = defaultdict(self.browse)
        partners = partners.sudo().with_company(company)
        for partner in partners:
            tier = next((t for t in tiers if metric[partner.id] >= t.threshold), tiers.browse())
            if partner.loyalty_tier_id != tier:
                moves[partner.loyalty_tier_id, tier] |= partner
        for (old_tier, tier), moving in moves.items():
            moving.write({"loyalty_tier_id": tier.id})
            # The tier's pricelist replaces the previous tier's, never one set by hand.
            if not tier.pricelist_id and old_tier.pricelist_id:
                moving = moving.filtered(
                    lambda p, old=old_tier: p.property_product_pricelist == old.pricelist_id)
            if moving and (tier.pricelist_id or old_tier.pricelist_id):
                moving.write({"property_product_pricelist": tier.pricelist_id.id})

    def _retail_tier_metric(self):
        """What the current company's tiers are reached at, by customer id: lifetime
        points, or spend over the last 12 months in company currency (its tier basis)."""
        company = self.env.company
        if company.retail_tier_basis == "spend":
            since = fields.Date.subtract(fields.Date.context_today(self), years=1)
            spend = dict(self.env["account.move"].sudo()._read_group(
                [("commercial_partner_id", "in", self.ids), ("state", "=", "posted"),
                 ("move_type", "in", SALE_MOVE_TYPES), ("invoice_date", ">=", since),
                 ("company_id", "=", company.id)],
                groupby=["commercial_partner_id"],
                aggregates=["amount_total_signed:sum"],
            ))
            return {partner.id: spend.get(partner, 0.0) for partner in self}
        return {partner.id: partner.loyalty_points_total for partner in self}

    @api.model
    def _cron_update_tiers(self):
        """Nightly: tiers on spend move with time even when nothing is posted. Each
        company updates its own customers and the shared ones that buy from it."""
        # A handful of companies.
        # pylint: disable-next=no-search-all
        for company in self.env["res.company"].sudo().search([]):
            partners = self.with_company(company).sudo().search([
                ("parent_id", "=", False),
                "|", ("company_id", "=", company.id),
                "&", ("company_id", "=", False),
                "|", "|", ("customer_rank", ">", 0),
                ("loyalty_points_line_ids.company_id", "=", company.id),
                ("retail_invoice_ids.company_id", "=", company.id),
            ])
            partners._retail_update_tiers()

    @api.model
    def _retail_check_points_number(self, points, positive=False):
        """Refuse anything but a non-zero whole number of points (positive with
        ``positive``) of at most MAX_POINTS either way: public methods take it as is."""
        if not isinstance(points, int) or isinstance(points, bool) or not points:
            raise UserError(self.env._("Enter a positive whole number of points to redeem.")
                            if positive else self.env._("Enter a non-zero whole number of points."))
        if positive and points < 0:
            raise UserError(self.env._("Enter a positive whole number of points to redeem."))
        if abs(points) > MAX_POINTS:
            raise UserError(self.env._(
                "At most %(max)s points can be adjusted or redeemed at a time.",
                max=formatLang(self.env, MAX_POINTS, digits=0)))

    def _retail_points_earned(self):
        """All the points this customer ever earned, from the history itself (the stored
        lifetime total may still wait for its refresh)."""
        self.env["retail.points.line"].flush_model(["partner_id", "points_earned"])
        self.env.cr.execute(SQL(
            "SELECT COALESCE(SUM(points_earned), 0) FROM retail_points_line WHERE partner_id = %s",
            self.id))
        return self.env.cr.fetchone()[0]

    def retail_adjust_points(self, points, reason):
        """A manager's manual adjustment, with its reason in the history and the chatter."""
        if len(self) != 1:
            raise UserError(self.env._("Adjust the points of one customer at a time."))
        if not self.env.user.has_group("crm_retail.group_crm_retail_manager"):
            raise AccessError(self.env._("Only Retail CRM managers can adjust points."))
        self._retail_check_points_number(points)
        if reason is not None and reason is not False and not isinstance(reason, str):
            raise UserError(self.env._("The reason for the adjustment must be text."))
        reason = (reason or "").strip()
        if not reason:
            raise UserError(self.env._("Give the reason for the adjustment."))
        partner = self.commercial_partner_id
        if not (self.active and partner.active):
            raise UserError(self.env._(
                "%(customer)s is archived: restore the customer before adjusting its points.",
                customer=partner.display_name))
        if points > 0 and partner._retail_points_earned() + points > MAX_POINTS:
            raise UserError(self.env._(
                "%(customer)s cannot earn more than %(max)s points in all.",
                customer=partner.display_name, max=formatLang(self.env, MAX_POINTS, digits=0)))
        self.env["retail.points.line"]._record([{
            "partner_id": partner.id,
            "company_id": self.env.company.id,
            "line_type": "adjustment",
            "points_earned": max(points, 0),
            "points_used": max(-points, 0),
            "description": reason,
            "user_id": self.env.user.id,
        }])
        partner.message_post(body=self.env._(
            "Points adjusted by %(points)+d: %(reason)s", points=points, reason=reason))
        return True

    def action_retail_adjust_points(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_retail.action_retail_points_adjust")
        action["context"] = {"default_partner_id": self.commercial_partner_id.id}
        return action

    def action_view_points_history(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_retail.action_retail_points_line"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"default_partner_id": self.commercial_partner_id.id}
        return action

    # ------------------------------------------------------------------
    # The seven-stage funnel: cards follow purchases
    # ------------------------------------------------------------------

    def _retail_funnel_leads(self, companies, create_missing=False):
        """{commercial partner id: the card that follows it in the company ``companies``
        maps it to (a card without company follows it everywhere)}, in one search; with
        ``create_missing``, a card of that company is created (at the first step) for
        customers of companies that want one on the first purchase."""
        partners = self.commercial_partner_id
        leads = self.env["crm.lead"].sudo().search([
            ("partner_id", "child_of", partners.ids), ("type", "=", "opportunity"),
            ("company_id", "in", [*set(companies.values()), False])])
        by_partner = {}
        for lead in leads:
            partner_id = lead.partner_id.commercial_partner_id.id
            if lead.company_id.id in (companies.get(partner_id), False):
                by_partner[partner_id] = by_partner.get(partner_id, lead.browse()) | lead
        result = {pid: _representative_lead(partner_leads)
                  for pid, partner_leads in by_partner.items()}
        Company = self.env["res.company"].sudo()
        missing = partners.filtered(
            lambda p: p.id not in result
            and Company.browse(companies.get(p.id)).retail_create_lead_on_purchase)
        if create_missing and missing:
            stage = self.env.ref("crm_retail.stage_target", raise_if_not_found=False)
            created = self.env["crm.lead"].sudo().create([{
                "name": partner.name,
                "partner_id": partner.id,
                "type": "opportunity",
                # The customer's salesperson, if they work for the selling company.
                "user_id": partner.user_id.filtered(
                    lambda user, partner=partner: companies[partner.id] in user.company_ids.ids
                ).id,
                "company_id": companies[partner.id],
                "stage_id": stage.id if stage else False,
                "retail_referrer_id": partner.retail_referrer_id.id,
            } for partner in missing])
            result.update({lead.partner_id.id: lead for lead in created})
        return result

    def _retail_funnel_from_purchases(self, documents):
        """Move the cards of these customers forward from what they have bought:
        first purchase -> Contract, a purchase on another day -> Repeat, the loyalty
        rule -> Loyal, and the referrer of a first-time buyer -> Advocate. One query
        for the purchases of all the customers."""
        partners = self.commercial_partner_id
        if not partners:
            return
        # Only what the purchases query reads, not every pending write of the models.
        self.env["account.move"].flush_model(
            ["state", "move_type", "payment_state", "commercial_partner_id", "invoice_date"])
        self.env["sale.order"].flush_model(["state", "partner_id", "date_order"])
        self.env["account.move.line"].flush_model(["move_id", "sale_line_ids"])
        since = fields.Date.subtract(fields.Date.context_today(self), years=1)
        # A purchase is a confirmed order, or an invoice that comes from no order, on
        # a day of its own: an order and its invoice are one purchase.
        self.env.cr.execute(SQL(
            """
            SELECT partner_id, company_id, COUNT(DISTINCT day),
                   COUNT(DISTINCT day) FILTER (WHERE day >= %s)
              FROM (
                SELECT p.commercial_partner_id AS partner_id, so.company_id,
                       so.date_order::date AS day
                  FROM sale_order so JOIN res_partner p ON p.id = so.partner_id
                 WHERE so.state = 'sale' AND p.commercial_partner_id IN %s
                UNION ALL
                SELECT m.commercial_partner_id, m.company_id, m.invoice_date
                  FROM account_move m
                 WHERE m.state = 'posted' AND m.move_type = 'out_invoice'
                   AND m.payment_state != 'reversed' AND m.commercial_partner_id IN %s
                   AND NOT EXISTS (
                       SELECT 1 FROM account_move_line aml
                         JOIN sale_order_line_invoice_rel rel ON rel.invoice_line_id = aml.id
                        WHERE aml.move_id = m.id)
              ) purchases
             GROUP BY partner_id, company_id
            """,
            since, tuple(partners.ids), tuple(partners.ids),
        ))
        # Each customer's card, and the purchases that move it, are those of the company
        # selling to it.
        companies = {document.partner_id.commercial_partner_id.id: document.company_id.id
                     for document in documents}
        purchases = {pid: (days, recent) for pid, company_id, days, recent
                     in self.env.cr.fetchall() if companies.get(pid) == company_id}
        buyers = partners.filtered(lambda p: purchases.get(p.id, (0, 0))[0])
        leads = buyers._retail_funnel_leads(companies, create_missing=True)
        # Each card names its own customer's documents, not the whole batch.
        names_by_partner = {}
        for document in documents:
            names_by_partner.setdefault(
                document.partner_id.commercial_partner_id.id, []).append(document.display_name)
        # The referrer is on the customer, or on the card that brought it.
        first_timers = buyers.filtered(lambda p: purchases[p.id][0] == 1)
        referrer_companies, referred_names = {}, {}
        for partner in first_timers:
            referrer = partner.retail_referrer_id or (
                partner.id in leads and leads[partner.id].retail_referrer_id)
            if referrer:
                referrer_companies[referrer.commercial_partner_id.id] = companies[partner.id]
                referred_names.setdefault(referrer.commercial_partner_id.id, []).extend(
                    names_by_partner.get(partner.id, []))
        referrers = self.browse(referrer_companies)
        leads.update(referrers._retail_funnel_leads(referrer_companies, create_missing=True))
        steps = {4: {}, 5: {}, 6: {}, 7: {}}
        for partner in buyers:
            lead = leads.get(partner.id)
            if not lead:
                continue
            days, recent = purchases[partner.id]
            names = ", ".join(names_by_partner.get(partner.id, []))
            steps[4][lead] = self.env._("first purchase (%(documents)s)", documents=names)
            if days >= 2:
                steps[5][lead] = self.env._("purchase on another day (%(documents)s)",
                                            documents=names)
            if partner._retail_is_loyal(recent):
                steps[6][lead] = self.env._("loyalty rule reached")
        for referrer in referrers:
            if lead := leads.get(referrer.id):
                steps[7][lead] = self.env._(
                    "a referred customer made a first purchase (%(documents)s)",
                    documents=", ".join(referred_names[referrer.id]))
        stages = self.env["crm.stage"]._retail_funnel_stages()
        for step, reasons in steps.items():
            if reasons and step in stages:
                self.env["crm.lead"].sudo().browse(lead.id for lead in reasons)._retail_advance(
                    step, {lead.id: text for lead, text in reasons.items()}, stages[step])

    def _retail_is_loyal(self, recent_purchases):
        company = self.company_id or self.env.company
        if company.retail_loyal_rule == "tier":
            tier = company.sudo().retail_loyal_tier_id
            own_tier = self.sudo().loyalty_tier_id
            return bool(tier) and bool(own_tier) and own_tier.threshold >= tier.threshold
        return recent_purchases >= company.retail_loyal_purchase_count > 0

    # ------------------------------------------------------------------
    # Customer care (issue #5): what was sent, so that nothing is sent twice
    # ------------------------------------------------------------------

    retail_birthday_greeted_year = fields.Integer(
        string="Birthday Greeted In", readonly=True, copy=False,
        help="Year of the last birthday greeting sent to this customer.",
    )
    retail_thank_you_date = fields.Date(
        string="Thank-You Sent On", readonly=True, copy=False,
        help="Date the thank-you for the first purchase was sent.",
    )
    retail_followup_date = fields.Date(
        string="Follow-Up Scheduled On", readonly=True, copy=False,
        help="Date the follow-up activity after the first purchase was scheduled.",
    )
