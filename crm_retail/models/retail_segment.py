import logging

import psycopg2
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.fields import Domain
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL
from odoo.tools.safe_eval import datetime, dateutil, safe_eval, time

from .retail_input_check import check_field_values

_logger = logging.getLogger(__name__)

# Memberships changed in one run above which the tables' statistics are refreshed.
BULK_CHANGES = 10_000
# PostgreSQL's integer: a larger value would fail the write with a bare database error.
MAX_INT = 2**31 - 1
# The bounds of the rule's numbers (beyond them, dates computed from them overflow).
RULE_BOUNDS = {
    "age_from": (0, 150), "age_to": (0, 150),
    "sales_days": (0, 36_500), "purchase_days": (0, 36_500),
    "recency_min": (0, 36_500), "recency_max": (0, 36_500),
    "purchase_min": (0, MAX_INT), "purchase_max": (0, MAX_INT),
    "points_min": (0, MAX_INT), "points_max": (0, MAX_INT),
}

RFM_TYPES = [
    ("loyal", "Loyal"),
    ("high_potential", "High potential"),
    ("at_risk", "At risk"),
    ("low_value", "Low value"),
]
DEBT_STATUSES = [
    ("none", "No debt"),
    ("in_debt", "Owes (overdue or not)"),
    ("owes", "Owes, not overdue"),
    ("overdue", "Overdue"),
]
# The fields of the rule: changing one changes the live count.
RULE_FIELDS = [
    "match", "company_id", "use_age", "age_from", "age_to", "gender", "state_ids",
    "use_sales", "sales_days", "sales_min", "sales_max",
    "use_purchases", "purchase_days", "purchase_min", "purchase_max",
    "use_recency", "recency_min", "recency_max", "never_bought",
    "use_debt", "debt_min", "debt_max", "debt_status",
    "use_points", "points_min", "points_max", "tier_ids", "rfm_type", "domain",
]


def _complaint(error):
    """What the database said about a failing query, in plain words (without the
    query)."""
    return (error.diag.message_primary or str(error)).strip()


class RetailSegment(models.Model):
    """A customer segment (phân loại khách hàng): a named rule over the customers of a
    company, backed by a partner tag so that every filter, report, export and mailing
    of Odoo can use it.

    The recompute is set-based: the facts of every customer of a company (age, sales,
    purchases, debt, points, RFM type) are one aggregate over the posted invoices and
    credit notes, each rule is an SQL condition over those facts, the segments of an
    exclusive group are one ``CASE`` (the first matching segment, by sequence, wins), and
    only the memberships that changed are written: a handful of statements per company,
    whatever the number of customers or segments."""

    _name = "retail.segment"
    _description = "Customer Segment"
    _order = "company_id, group, sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(
        default=10, help="Within an exclusive group, the first segment that matches wins.")
    active = fields.Boolean(default=True)
    color = fields.Integer()
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company)
    currency_id = fields.Many2one(related="company_id.currency_id")
    group = fields.Selection(
        selection="_selection_group", string="Exclusive Group",
        help="Segments with the same group are exclusive: a customer is in at most one of "
        "them, the first by sequence whose rule matches. Leave empty for a segment that "
        "overlaps freely with the others.")
    tag_id = fields.Many2one(
        "res.partner.category", readonly=True, ondelete="restrict", copy=False,
        help="The contact tag that holds the segment's customers.")
    match = fields.Selection(
        [("all", "All conditions"), ("any", "Any condition"), ("manual", "Set by hand")],
        string="Customers Matching", required=True, default="all",
        help="All conditions: a customer must meet every condition checked below. Any "
        "condition: one is enough. Set by hand: no rule; users tag the customers.")

    # Who the customer is
    use_age = fields.Boolean(string="Age")
    age_from = fields.Integer(
        help="Customers at least this old (in whole years, today).")
    age_to = fields.Integer(
        string="Age Under", help="Customers younger than this; 0 for no upper limit.")
    gender = fields.Selection(
        [("male", "Male"), ("female", "Female"), ("other", "Other")])
    state_ids = fields.Many2many(
        "res.country.state", "retail_segment_state_rel", "segment_id", "state_id",
        string="Provinces")

    # What the customer bought, from the posted invoices and credit notes of the company
    use_sales = fields.Boolean(string="Total Sales")
    sales_days = fields.Integer(
        string="Sales Over Days",
        help="Count the sales of the last this many days; 0 for all time.")
    sales_min = fields.Monetary(
        string="Sales From", help="Net sales (invoices less credit notes) of at least this.")
    sales_max = fields.Monetary(
        string="Sales Under", help="Net sales below this; 0 for no upper limit.")
    use_purchases = fields.Boolean(string="Number of Purchases")
    purchase_days = fields.Integer(
        string="Purchases Over Days",
        help="Count the purchases of the last this many days; 0 for all time.")
    purchase_min = fields.Integer(string="Purchases From")
    purchase_max = fields.Integer(
        string="Purchases Under", help="Fewer purchases than this; 0 for no upper limit.")
    use_recency = fields.Boolean(string="Days Since Last Purchase")
    recency_min = fields.Integer(
        string="Last Purchase At Least", help="Last purchase at least this many days ago.")
    recency_max = fields.Integer(
        string="Last Purchase Less Than",
        help="Last purchase fewer than this many days ago; 0 for no limit.")
    never_bought = fields.Boolean(
        help="Customers without any purchase in the company (a credit note alone is none).")
    rfm_type = fields.Selection(
        RFM_TYPES, string="RFM Type",
        help="The customer type from the recency, frequency and monetary quintiles of the "
        "company's customers who bought (see the README).")

    # Debt and loyalty
    use_debt = fields.Boolean(string="Debt")
    debt_min = fields.Monetary(string="Debt From")
    debt_max = fields.Monetary(string="Debt Under", help="0 for no upper limit.")
    debt_status = fields.Selection(DEBT_STATUSES, string="Payment Status")
    use_points = fields.Boolean(string="Points")
    points_min = fields.Integer(string="Points From")
    points_max = fields.Integer(string="Points Under", help="0 for no upper limit.")
    tier_ids = fields.Many2many(
        "retail.tier", "retail_segment_tier_rel", "segment_id", "tier_id", string="Tiers")
    domain = fields.Char(
        string="Other Conditions", default="[]",
        help="Any other condition on the contacts, with Odoo's domain editor.")

    member_count = fields.Integer(
        string="Customers", compute="_compute_member_count",
        help="Contacts with the segment's tag, by the rule or by hand.")
    match_count = fields.Integer(
        string="Matching Now", compute="_compute_match_count",
        help="Customers the rule matches today, before the exclusive group is applied.")
    rule_error = fields.Char(
        compute="_compute_match_count",
        help="Why the rule cannot count its customers now (it matches nobody meanwhile).")
    last_recompute = fields.Datetime(string="Last Computed", readonly=True, copy=False)
    last_error = fields.Text(
        readonly=True, copy=False,
        help="Why the last recompute skipped the segment: its customers keep the segment "
        "they had. Cleared when the segment is recomputed or its rule changes.")
    last_error_date = fields.Datetime(string="Failing Since", readonly=True, copy=False)

    _tag_unique = models.Constraint("UNIQUE(tag_id)", "Each segment has its own tag.")
    _age_range = models.Constraint(
        "CHECK(age_from >= 0 AND (age_to = 0 OR age_to > age_from))",
        "The age range must start at 0 or later and end after it starts.")
    _sales_range = models.Constraint(
        "CHECK(sales_days >= 0 AND (sales_max = 0 OR sales_max > sales_min))",
        "The sales range must end above its start, over 0 days or more.")
    _purchase_range = models.Constraint(
        "CHECK(purchase_days >= 0 AND purchase_min >= 0 "
        "AND (purchase_max = 0 OR purchase_max > purchase_min))",
        "The number of purchases must start at 0 or more and end above its start.")
    _recency_range = models.Constraint(
        "CHECK(recency_min >= 0 AND (recency_max = 0 OR recency_max > recency_min))",
        "The days since the last purchase must start at 0 or more and end above its start.")
    _debt_range = models.Constraint(
        "CHECK(debt_max = 0 OR debt_max > debt_min)", "The debt range must end above its start.")
    _points_range = models.Constraint(
        "CHECK(points_min >= 0 AND (points_max = 0 OR points_max > points_min))",
        "The points range must start at 0 or more and end above its start.")

    # ------------------------------------------------------------------
    # CRUD: the backing tag
    # ------------------------------------------------------------------

    @api.model
    def _selection_group(self):
        """The shipped exclusive groups, with translated names, then the groups a shop
        named itself (through import or the API: any name is a group), as named."""
        shipped = [
            ("age", self.env._("Age")),
            ("value", self.env._("Customer Value")),
            ("rfm", self.env._("Customer Type (RFM)")),
            ("lifecycle", self.env._("Lifecycle")),
            ("payment", self.env._("Payment Status")),
        ]
        self.env.cr.execute(SQL(
            'SELECT DISTINCT "group" FROM retail_segment WHERE "group" IS NOT NULL'))
        known = dict(shipped)
        others = sorted(key for key, in self.env.cr.fetchall() if key not in known)
        return shipped + [(key, key) for key in others]

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_values(vals)
        needing = [vals for vals in vals_list if not vals.get("tag_id")]
        tags = self.env["res.partner.category"].sudo().create([
            {"name": vals.get("name") or "", "color": vals.get("color", 0)}
            for vals in needing])
        for vals, tag in zip(needing, tags, strict=True):
            vals["tag_id"] = tag.id
        return super().create(vals_list)

    def write(self, vals):
        self._check_values(vals)
        if not vals.keys().isdisjoint(RULE_FIELDS):
            # The error was the old rule's: the new one runs at the next recompute.
            vals = {**vals, "last_error": False, "last_error_date": False}
        stopping = self.browse()
        if vals.get("active") is False or vals.get("match") == "manual":
            stopping = self.filtered(lambda s: s.active and s.match != "manual")
        result = super().write(vals)
        if "name" in vals or "color" in vals:
            for segment in self:
                segment.tag_id.sudo().write({"name": segment.name, "color": segment.color})
        # A rule that no longer runs matches nobody: its tags go, the ones set by hand stay.
        stopping._clear_members()
        return result

    def unlink(self):
        tags = self.tag_id
        self._clear_members()
        result = super().unlink()
        # A tag that customers still hold (set by hand) stays as a plain tag.
        held = self.env["res.partner"].sudo().with_context(active_test=False)._read_group(
            [("category_id", "in", tags.ids)], ["category_id"], ["__count"])
        tags.sudo().browse(set(tags.ids) - {tag.id for tag, _count in held}).unlink()
        return result

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        if "name" not in (default or {}):
            for segment, vals in zip(self, vals_list, strict=True):
                vals["name"] = self.env._("%(name)s (copy)", name=segment.name)
        return vals_list

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------

    @api.model
    def _check_values(self, vals):
        """Values of the wrong type or beyond what the database stores (sent over the
        API) get a clear error rather than a traceback, before anything is written."""
        # Any name is an exclusive group: the selection only lists the known ones.
        check_field_values(self, vals, vals.keys() - {"group"})
        if vals.get("group") and not isinstance(vals["group"], str):
            raise ValidationError(self.env._(
                "The exclusive group of a customer segment is a name, not %(value)s.",
                value=vals["group"]))
        for name in vals.keys() & RULE_BOUNDS.keys():
            low, high = RULE_BOUNDS[name]
            field, value = self._fields[name], vals[name]
            if not low <= field.convert_to_cache(value, self.browse()) <= high:
                raise ValidationError(self.env._(
                    "The field %(field)s of a customer segment must be between %(low)s and "
                    "%(high)s, not %(value)s.",
                    field=field._description_string(self.env), low=low, high=high,
                    value=value))

    @api.constrains(*RULE_FIELDS)
    def _check_rule(self):
        today = fields.Date.context_today(self)
        for segment in self:
            if segment.match == "manual":
                continue
            # Raises on a domain that does not evaluate or names unknown fields.
            conditions = segment._rule_conditions(today)
            if not conditions:
                raise ValidationError(self.env._(
                    "The segment %(segment)s has no condition: check at least one, or "
                    "choose “Set by hand”.", segment=segment.display_name))
            segment._check_rule_runs(today)

    def _check_rule_runs(self, today):
        """Run the rule as the recompute will, without reading a row (LIMIT 0: the
        query is parsed and planned): a rule the database refuses (a value of the wrong
        type in the other conditions...) is not saved, rather than failing every
        recompute."""
        self.ensure_one()
        # No row is read: nothing to flush.
        facts = self._facts_query(
            self.company_id, today, self._facts_windows(self), rfm=bool(self.rfm_type))
        condition = self._rule_condition(today)
        _rows, complaint = self._execute_guarded(SQL(
            "WITH facts AS (%s) SELECT 1 FROM facts f WHERE %s LIMIT 0", facts, condition))
        if complaint:
            raise ValidationError(self.env._(
                "The rule of the segment %(segment)s cannot run, the database refuses it: "
                "“%(error)s”. Check its other conditions.",
                segment=self.display_name, error=complaint))

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------

    def _compute_member_count(self):
        counts = dict(self.env["res.partner"]._read_group(
            [("category_id", "in", self.tag_id.ids)], ["category_id"], ["__count"]))
        for segment in self:
            segment.member_count = counts.get(segment.tag_id, 0)

    @api.depends(*RULE_FIELDS)
    def _compute_match_count(self):
        """One query per company for all the segments: each rule is a filtered count over
        the company's customer facts. A rule that fails counts nobody and says why; the
        others still count."""
        today = fields.Date.context_today(self)
        self.match_count = 0
        self.rule_error = False
        for company, segments in self.grouped("company_id").items():
            conditions, failures = segments.filtered(
                lambda s: s.match != "manual")._build_rules(today)
            for segment, message in failures.items():
                segment.rule_error = message
            if not company or not conditions:
                continue
            self._flush_for_facts()
            counts, _error = self._count_matches(company, today, conditions)
            if counts is None:
                counts = []
                for segment, condition in conditions.items():
                    count, complaint = self._count_matches(company, today, {segment: condition})
                    counts.append(count[0] if count else 0)
                    segment.rule_error = complaint
            for segment, count in zip(conditions, counts, strict=True):
                segment.match_count = count

    # ------------------------------------------------------------------
    # Running rules without letting them fail the transaction
    # ------------------------------------------------------------------

    def _build_rules(self, today):
        """The SQL condition of each of these segments' rules, and why each rule that no
        longer builds fails (a field of its domain gone since it was saved...):
        ``({segment: condition}, {segment: message})``. The fields the conditions read
        are flushed now, not under the savepoint that runs them (a rollback would lose the
        flush)."""
        conditions, failures = {}, {}
        for segment in self:
            try:
                condition = segment._rule_condition(today)
            except (ValidationError, ValueError, OverflowError) as error:
                failures[segment] = str(error.args[0] if error.args else error)
                continue
            if condition is not None:
                self.env.flush_query(condition)
                conditions[segment] = condition
        return conditions, failures

    @api.model
    def _execute_guarded(self, query):
        """Run ``query`` under a savepoint: ``(rows, None)``, or ``(None, complaint)``
        with what the database said when it fails. Concurrency errors belong to the
        transaction, not to the query: they go up, for it to be retried."""
        cr = self.env.cr
        try:
            with cr.savepoint(flush=False):
                cr.execute(query, log_exceptions=False)
                return cr.fetchall(), None
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:  # pylint: disable=catching-non-exception
            raise
        except psycopg2.Error as error:
            return None, _complaint(error)

    @api.model
    def _count_matches(self, company, today, conditions, partner_ids=None):
        """The customers of ``company`` each rule of ``conditions`` ({segment: condition})
        matches, one query: ``([count, ...], None)``, or ``(None, complaint)``."""
        facts = self._facts_query(
            company, today, self._facts_windows(conditions),
            rfm=any(s.rfm_type for s in conditions), partner_ids=partner_ids)
        rows, complaint = self._execute_guarded(SQL(
            "WITH facts AS (%s) SELECT %s FROM facts f",
            facts,
            SQL(", ").join(SQL("COUNT(*) FILTER (WHERE %s)", c) for c in conditions.values()),
        ))
        return (list(rows[0]) if rows else None), complaint

    # ------------------------------------------------------------------
    # The rule, as SQL over the facts of a customer (alias ``f``)
    # ------------------------------------------------------------------

    def _rule_domain(self):
        """The extra Odoo domain, evaluated; None when empty."""
        self.ensure_one()
        try:
            domain = Domain(safe_eval(self.domain or "[]", {
                "datetime": datetime, "dateutil": dateutil, "time": time,
                "relativedelta": relativedelta, "uid": self.env.uid,
                "context_today": lambda: fields.Date.context_today(self),
            }))
            if domain.is_true():
                return None
            # Evaluated against the customers of the segment's company, as the rule runs.
            self.env["res.partner"].sudo().with_company(self.company_id)._search(domain)
        except (ValueError, SyntaxError, TypeError, KeyError, NameError,
                ZeroDivisionError) as error:  # safe_eval lets a 1/0 through unwrapped
            raise ValidationError(self.env._(
                "The other conditions of the segment %(segment)s are not a valid filter on "
                "contacts: %(error)s", segment=self.display_name or self.name, error=error,
            )) from error
        return domain

    @staticmethod
    def _range(column, low, high):
        """``low <= column < high``; a high bound of 0 means none."""
        condition = SQL("%s >= %s", column, low)
        if high:
            condition = SQL("%s AND %s < %s", condition, column, high)
        return condition

    def _rule_conditions(self, today):
        """The checked conditions of the rule, each an SQL condition on the facts."""
        self.ensure_one()
        conditions = []
        if self.use_age:
            # Age in whole years today: born on or before today's date that many years ago
            # (PostgreSQL and dateutil agree: a 29 February birthday counts from 1 March in
            # other years).
            condition = SQL("f.birthday <= %s", today - relativedelta(years=self.age_from))
            if self.age_to:
                condition = SQL("%s AND f.birthday > %s", condition,
                                today - relativedelta(years=self.age_to))
            conditions.append(condition)
        if self.gender:
            conditions.append(SQL("f.gender = %s", self.gender))
        if self.state_ids:
            conditions.append(SQL("f.state_id = ANY(%s)", self.state_ids.ids))
        if self.use_sales:
            conditions.append(self._range(
                self._window_column("sales", self.sales_days), self.sales_min, self.sales_max))
        if self.use_purchases:
            conditions.append(self._range(
                self._window_column("purchases", self.purchase_days),
                self.purchase_min, self.purchase_max))
        if self.use_recency:
            # Days since the last purchase: at least min, fewer than max.
            condition = SQL("f.last_purchase <= %s",
                            today - relativedelta(days=self.recency_min))
            if self.recency_max:
                condition = SQL("%s AND f.last_purchase > %s", condition,
                                today - relativedelta(days=self.recency_max))
            conditions.append(condition)
        if self.never_bought:
            conditions.append(SQL("f.purchases = 0"))
        if self.rfm_type:
            conditions.append(SQL("f.rfm_type = %s", self.rfm_type))
        if self.use_debt:
            conditions.append(self._range(SQL("f.debt"), self.debt_min, self.debt_max))
        if self.debt_status == "in_debt":
            conditions.append(SQL("f.debt_status IN ('owes', 'overdue')"))
        elif self.debt_status:
            conditions.append(SQL("f.debt_status = %s", self.debt_status))
        if self.use_points:
            conditions.append(self._range(SQL("f.points"), self.points_min, self.points_max))
        if self.tier_ids:
            conditions.append(SQL("f.tier_id = ANY(%s)", self.tier_ids.ids))
        domain = self._rule_domain()
        if domain is not None:
            partners = self.env["res.partner"].sudo().with_company(self.company_id)
            conditions.append(SQL("f.partner_id IN %s", partners._search(domain).subselect()))
        return conditions

    def _rule_condition(self, today):
        """The whole rule as one SQL condition; None for a segment without a rule."""
        self.ensure_one()
        conditions = self._rule_conditions(today) if self.match != "manual" else []
        if not conditions:
            return None
        joiner = SQL(" OR ") if self.match == "any" else SQL(" AND ")
        return SQL("(%s)", joiner.join(SQL("(%s)", c) for c in conditions))

    @staticmethod
    def _window_column(name, days):
        return SQL.identifier("f", f"{name}_{days}d" if days else name)

    @api.model
    def _facts_windows(self, segments):
        """The day counts the sales and purchase conditions of these segments look back."""
        return sorted(
            {s.sales_days for s in segments if s.use_sales and s.sales_days}
            | {s.purchase_days for s in segments if s.use_purchases and s.purchase_days})

    # ------------------------------------------------------------------
    # The facts: one row per customer of a company
    # ------------------------------------------------------------------

    @api.model
    def _flush_for_facts(self):
        self.env["account.move"].flush_model([
            "state", "move_type", "payment_state", "company_id", "commercial_partner_id",
            "partner_id", "invoice_date", "amount_total_signed"])
        self.env["res.partner"].flush_model([
            "active", "commercial_partner_id", "company_id", "customer_rank", "birthday",
            "gender", "state_id", "debt_amount", "debt_status", "loyalty_points",
            "loyalty_tier_id", "category_id"])
        self.env["sale.order"].flush_model(["partner_id", "company_id"])
        self.env["crm.lead"].flush_model(["partner_id", "company_id", "active", "type"])

    @api.model
    def _customer_condition(self, company):
        """Whether the contact ``p`` (with its sales ``s``) is a customer of ``company``,
        as Odoo counts them: marked customer (``customer_rank``: created as one, or
        invoiced), or with a posted invoice or credit note, a quotation or order, or a
        pipeline card in the company. A prospect with a quotation or a card is a customer
        who has not bought yet; a contact that is only a contact (a vendor, a user) is not.
        The documents are looked up only for the contacts not marked customer, through
        indexes."""
        return SQL(
            """(p.customer_rank > 0 OR s.partner_id IS NOT NULL
                OR EXISTS (SELECT 1 FROM res_partner c JOIN sale_order so ON so.partner_id = c.id
                            WHERE c.commercial_partner_id = p.id
                              AND so.company_id = %(company)s)
                OR EXISTS (SELECT 1 FROM res_partner c JOIN crm_lead lead ON lead.partner_id = c.id
                            WHERE c.commercial_partner_id = p.id
                              AND lead.active AND lead.type = 'opportunity'
                              AND (lead.company_id IS NULL OR lead.company_id = %(company)s)))""",
            company=company.id,
        )

    @api.model
    def _facts_query(self, company, today, windows=(), rfm=False, partner_ids=None):
        """SELECT one row per customer of ``company`` (optionally only ``partner_ids``,
        commercial partners) with what the rules read.

        Customers are the commercial contacts of the company or shared between companies
        that are customers (``_customer_condition``). Sales are posted invoices less credit
        notes in company currency; a purchase is a posted invoice not fully reversed by a
        credit note. ``windows`` adds ``sales_<N>d`` and ``purchases_<N>d`` over the last
        N days, today included.

        With ``rfm``, ``rfm_type`` is the customer type from the R, F and M scores (1 to
        5) of the customers who bought: each is the quintile of the customer's mid-rank
        among the ``n`` buyers, ``1 + floor(5 * (below + ties / 2) / n)``, where
        ``below`` counts the buyers with a worse value and ``ties`` those with the same
        value (the customer included). Tied customers get the same score; alone, or all tied, a
        buyer scores 3. R ranks the last purchase date, F the number of purchases, M the
        net sales."""
        purchase = SQL("m.move_type = 'out_invoice' AND m.payment_state != 'reversed'")
        window_columns = []
        for days in windows:
            since = today - relativedelta(days=days)
            window_columns += [
                SQL("SUM(m.amount_total_signed) FILTER (WHERE m.invoice_date > %s) AS %s",
                    since, SQL.identifier(f"sales_{days}d")),
                SQL("COUNT(*) FILTER (WHERE %s AND m.invoice_date > %s) AS %s",
                    purchase, since, SQL.identifier(f"purchases_{days}d")),
            ]
        if partner_ids is not None:
            # Through the indexed partner column: a few customers read a few invoices.
            move_filter = SQL(
                "AND m.partner_id IN (SELECT id FROM res_partner "
                "WHERE commercial_partner_id = ANY(%s))", partner_ids)
            partner_filter = SQL("AND p.id = ANY(%s)", partner_ids)
        else:
            move_filter = partner_filter = SQL()
        company_key = str(company.id)
        facts = SQL(
            """
            WITH sales AS (
                SELECT m.commercial_partner_id AS partner_id,
                       SUM(m.amount_total_signed) AS sales,
                       COUNT(*) FILTER (WHERE %(purchase)s) AS purchases,
                       MAX(m.invoice_date) FILTER (WHERE %(purchase)s) AS last_purchase
                       %(window_columns)s
                  FROM account_move m
                 WHERE m.state = 'posted' AND m.move_type IN ('out_invoice', 'out_refund')
                   AND m.company_id = %(company)s %(move_filter)s
                 GROUP BY m.commercial_partner_id
            )
            SELECT p.id AS partner_id, p.birthday, p.gender, p.state_id,
                   COALESCE((p.loyalty_points ->> %(company_key)s)::int, 0) AS points,
                   (p.loyalty_tier_id ->> %(company_key)s)::int AS tier_id,
                   COALESCE((p.debt_amount ->> %(company_key)s)::numeric, 0) AS debt,
                   COALESCE(p.debt_status ->> %(company_key)s, 'none') AS debt_status,
                   COALESCE(s.sales, 0) AS sales, COALESCE(s.purchases, 0) AS purchases,
                   s.last_purchase %(window_values)s
              FROM res_partner p
              LEFT JOIN sales s ON s.partner_id = p.id
             WHERE p.active AND p.id = p.commercial_partner_id
               AND (p.company_id IS NULL OR p.company_id = %(company)s)
               AND %(customer)s %(partner_filter)s
            """,
            purchase=purchase,
            customer=self._customer_condition(company),
            window_columns=SQL("").join(SQL(", %s", c) for c in window_columns),
            company=company.id,
            company_key=company_key,
            move_filter=move_filter,
            partner_filter=partner_filter,
            window_values=SQL("").join(
                SQL(", COALESCE(s.%s, 0) AS %s", SQL.identifier(name), SQL.identifier(name))
                for days in windows for name in (f"sales_{days}d", f"purchases_{days}d")),
        )
        if not rfm:
            return facts

        def scores(column):
            # Per distinct value among the buyers: its ties and, cumulated, the buyers
            # at or below it; a few hundred rows to sort, not one per customer.
            return SQL(
                """
                SELECT value,
                       1 + 5 * (2 * (SUM(ties) OVER (ORDER BY value ROWS UNBOUNDED PRECEDING))
                                    ::bigint - ties)
                           / (2 * (SUM(ties) OVER ())::bigint) AS score
                  FROM (SELECT %s AS value, COUNT(*) AS ties FROM base
                         WHERE purchases > 0 GROUP BY 1) per_value
                """,
                SQL.identifier(column),
            )

        return SQL(
            """
            WITH base AS MATERIALIZED (%(facts)s),
                 r AS (%(r)s), f AS (%(f)s), m AS (%(m)s)
            SELECT base.*, r.score AS r_score, f.score AS f_score, m.score AS m_score,
                   CASE WHEN base.purchases = 0 THEN NULL
                        WHEN r.score >= 3 AND f.score + m.score >= 8 THEN 'loyal'
                        WHEN r.score >= 3 THEN 'high_potential'
                        WHEN f.score + m.score >= 6 THEN 'at_risk'
                        ELSE 'low_value' END AS rfm_type
              FROM base
              LEFT JOIN r ON base.purchases > 0 AND r.value = base.last_purchase
              LEFT JOIN f ON base.purchases > 0 AND f.value = base.purchases
              LEFT JOIN m ON base.purchases > 0 AND m.value = base.sales
            """,
            facts=facts, r=scores("last_purchase"), f=scores("purchases"), m=scores("sales"),
        )

    # ------------------------------------------------------------------
    # Recompute
    # ------------------------------------------------------------------

    def _rule_groups(self):
        """The rule segments in exclusive groups (a segment without group is alone),
        each group ordered by sequence: the first that matches wins."""
        groups = {}
        for segment in self.filtered(lambda s: s.match != "manual").sorted(
                lambda s: (s.sequence, s.id)):
            key = (segment.company_id.id, segment.group or f"segment-{segment.id}")
            groups[key] = groups.get(key, self.browse()) | segment
        return list(groups.values())

    def _recompute(self, partner_ids=None):
        """Recompute every active rule segment of these segments' companies (exclusive
        groups decide together), for all the customers or only ``partner_ids``. Returns
        the number of memberships added and removed.

        A rule that fails is skipped with its exclusive group, and the error kept on the
        segment for the manager (:meth:`_recompute_company_guarded`): it never fails the
        posting or the cron that runs the recompute."""
        segments = self.sudo().search([
            ("match", "!=", "manual"), ("company_id", "in", self.company_id.ids)])
        if partner_ids is not None:
            # RFM quintiles are relative to all the customers, and a rule that failed is
            # retried by the full recompute only (not at every posting): those groups
            # wait for it (nightly or "Recompute now").
            segments = segments.browse(
                s.id for group in segments._rule_groups()
                if not any(group.mapped("rfm_type")) and not any(group.mapped("last_error"))
                for s in group)
            partner_ids = list(partner_ids)
        if not segments or partner_ids == []:
            return 0, 0
        segments._flush_for_facts()
        segments.flush_model()
        self.env["retail.segment.member"].flush_model()
        if partner_ids is not None:
            self.env.cr.execute(SQL(
                "SELECT DISTINCT commercial_partner_id FROM res_partner WHERE id = ANY(%s)",
                partner_ids))
            partner_ids = [row[0] for row in self.env.cr.fetchall()]
        today = fields.Date.context_today(self)
        added = removed = 0
        recomputed = segments.browse()
        failures = {}
        for company, company_segments in segments.grouped("company_id").items():
            (company_added, company_removed), done, failed = (
                company_segments._recompute_company_guarded(company, today, partner_ids))
            added += company_added
            removed += company_removed
            recomputed |= done
            failures.update(failed)
        segments._record_failures(failures)
        if partner_ids is None:
            segments._sync_tags()
            recomputed.write({
                "last_recompute": fields.Datetime.now(),
                "last_error": False,
                "last_error_date": False,
            })
        if added or removed:
            self._invalidate_members()
        return added, removed

    def _recompute_company_guarded(self, company, today, partner_ids):
        """:meth:`_recompute_company` under a savepoint. When it fails, each rule is run
        alone to find those that fail; their exclusive groups are skipped (the customers
        keep the segments they had: a group decides together) and the others are
        recomputed. Returns the counts, the segments recomputed and
        ``{segment: why it was skipped}``."""
        conditions, failures = self._build_rules(today)
        segments = self._without_groups_of(failures)
        counts = (0, 0)
        while segments:
            try:
                with self.env.cr.savepoint(flush=False):
                    counts = segments._recompute_company(
                        company, today, partner_ids, conditions, self - segments)
                break
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:  # pylint: disable=catching-non-exception
                raise
            except psycopg2.Error as error:
                failing = {}
                for segment in segments.filtered(lambda s: s in conditions):
                    _counts, complaint = self._count_matches(
                        company, today, {segment: conditions[segment]}, partner_ids)
                    if complaint:
                        failing[segment] = complaint
                # Not one rule of its own: the segments cannot be recomputed together.
                failures.update(failing or dict.fromkeys(segments, _complaint(error)))
                segments = self._without_groups_of(failures)
        for group in self._rule_groups():
            if failed := group.filtered(lambda s: s in failures):
                for segment in group - failed:
                    failures[segment] = self.env._(
                        "Not recomputed: the segment %(segment)s of the same exclusive "
                        "group fails.", segment=failed[0].display_name)
        return counts, segments, failures

    def _without_groups_of(self, failures):
        return self.browse(
            s.id for group in self._rule_groups()
            if not any(s in failures for s in group) for s in group)

    def _record_failures(self, failures):
        """Log the segments skipped and keep why on each for the manager; rewritten
        only when the reason changes (each posting would otherwise write the segment)."""
        now = fields.Datetime.now()
        for segment, message in failures.items():
            _logger.warning("Segment %r (id %s) of %s skipped: %s",
                            segment.name, segment.id, segment.company_id.name, message)
            if segment.last_error != message:
                segment.sudo().write({"last_error": message, "last_error_date": now})

    def _recompute_company(self, company, today, partner_ids, conditions, skipped):
        """The memberships of these segments (one company), in a constant number of
        statements, with the rule ``conditions`` ({segment: SQL}); the segments
        ``skipped`` keep their members. The facts are computed once, each exclusive
        group is one ``CASE``, and each customer's segment ids are compared with those
        stored (a hash full join): only the customers whose segments changed are written.

        The full recompute goes through temporary tables with fresh statistics, which
        keep the plans right whatever the number of changes; the recompute of a few
        customers (after a posting) is one statement, without any table to create."""
        cr = self.env.cr
        cases = SQL(", ").join(
            SQL("CASE %s END", SQL(" ").join(
                SQL("WHEN %s THEN %s", conditions.get(segment, SQL("FALSE")), segment.id)
                for segment in group))
            for group in self._rule_groups())
        facts = self._facts_query(
            company, today, self._facts_windows(self), rfm=any(self.mapped("rfm_type")),
            partner_ids=partner_ids)
        stored = SQL("SELECT * FROM retail_segment_member WHERE company_id = %s", company.id)
        kept = SQL("'{}'::int[]")
        if partner_ids is not None:
            stored = SQL("%s AND partner_id = ANY(%s)", stored, partner_ids)
            # The segments not recomputed (RFM types, failing rules) stay as they are.
            kept = SQL("ARRAY(SELECT x FROM unnest(o.segment_ids) x WHERE x <> ALL(%s))",
                       self.ids)
        elif skipped:
            kept = SQL("ARRAY(SELECT x FROM unnest(o.segment_ids) x WHERE x = ANY(%s))",
                       skipped.ids)
        # The customers whose segments change, with their old and new segment ids.
        diff = SQL(
            """
            WITH facts AS (%(facts)s),
            matched AS (
                SELECT f.partner_id, array_remove(ARRAY[%(cases)s]::int[], NULL) AS ids
                  FROM facts f
            ),
            compared AS (
                SELECT COALESCE(n.partner_id, o.partner_id) AS partner_id,
                       COALESCE(o.segment_ids, '{}') AS old_ids,
                       COALESCE(%(kept)s, '{}') || COALESCE(n.ids, '{}') AS new_ids,
                       COALESCE(o.manual_ids, '{}') AS manual_ids
                  FROM matched n FULL JOIN (%(stored)s) o ON o.partner_id = n.partner_id
            )
            SELECT * FROM compared WHERE NOT (old_ids @> new_ids AND old_ids <@ new_ids)
            """,
            facts=facts, cases=cases, kept=kept, stored=stored,
        )
        # Memberships added: whether the customer already had the tag (set by hand)
        # decides whether the rule may take it away later.
        added = SQL(
            """
            SELECT d.partner_id, s.tag_id, a.segment_id, rel.partner_id IS NOT NULL AS manual
              FROM retail_segment_diff d
             CROSS JOIN LATERAL unnest(d.new_ids) AS a(segment_id)
              JOIN retail_segment s ON s.id = a.segment_id
              LEFT JOIN res_partner_res_partner_category_rel rel
                     ON rel.category_id = s.tag_id AND rel.partner_id = d.partner_id
             WHERE a.segment_id <> ALL(d.old_ids)
            """
        )
        # Memberships removed: the tag goes unless it was set by hand.
        gone = SQL(
            """
            SELECT d.partner_id, s.tag_id, g.segment_id = ANY(d.manual_ids) AS manual
              FROM retail_segment_diff d
             CROSS JOIN LATERAL unnest(d.old_ids) AS g(segment_id)
              LEFT JOIN retail_segment s ON s.id = g.segment_id
             WHERE g.segment_id <> ALL(d.new_ids)
            """
        )
        writes = [
            SQL(
                """
                DELETE FROM res_partner_res_partner_category_rel rel
                 USING retail_segment_gone g
                 WHERE NOT g.manual
                   AND rel.category_id = g.tag_id AND rel.partner_id = g.partner_id
                """
            ),
            SQL(
                """
                INSERT INTO res_partner_res_partner_category_rel (category_id, partner_id)
                SELECT tag_id, partner_id FROM retail_segment_added WHERE NOT manual
                 ORDER BY tag_id, partner_id
                ON CONFLICT DO NOTHING
                """
            ),
            SQL(
                """
                DELETE FROM retail_segment_member mem
                 USING retail_segment_diff d
                 WHERE mem.company_id = %s AND mem.partner_id = d.partner_id
                   AND d.new_ids = '{}'
                """,
                company.id,
            ),
            SQL(
                """
                INSERT INTO retail_segment_member
                       (partner_id, company_id, segment_ids, manual_ids)
                SELECT d.partner_id, %s, d.new_ids,
                       ARRAY(SELECT x FROM unnest(d.manual_ids) x WHERE x = ANY(d.new_ids))
                       || COALESCE(m.ids, '{}')
                  FROM retail_segment_diff d
                  LEFT JOIN (SELECT partner_id, array_agg(segment_id) AS ids
                               FROM retail_segment_added WHERE manual
                              GROUP BY partner_id) m ON m.partner_id = d.partner_id
                 WHERE d.new_ids != '{}'
                 ORDER BY d.partner_id
                ON CONFLICT (partner_id, company_id) DO UPDATE
                   SET segment_ids = EXCLUDED.segment_ids, manual_ids = EXCLUDED.manual_ids
                """,
                company.id,
            ),
        ]
        counts = SQL("""SELECT (SELECT COUNT(*) FROM retail_segment_added),
                               (SELECT COUNT(*) FROM retail_segment_gone)""")
        if partner_ids is not None:
            cr.execute(SQL(
                """
                WITH retail_segment_diff AS MATERIALIZED (%s),
                     retail_segment_added AS MATERIALIZED (%s),
                     retail_segment_gone AS MATERIALIZED (%s),
                     %s
                %s
                """,
                diff, added, gone,
                SQL(", ").join(SQL("%s AS (%s)", SQL.identifier(f"write_{i}"), w)
                              for i, w in enumerate(writes)),
                counts,
            ), log_exceptions=False)  # a failing rule is logged by the caller, once
            return cr.fetchone()
        cr.execute(SQL("CREATE TEMPORARY TABLE retail_segment_diff ON COMMIT DROP AS %s", diff),
                   log_exceptions=False)
        if not cr.rowcount:
            cr.execute(SQL("DROP TABLE retail_segment_diff"))
            return 0, 0
        cr.execute(SQL(
            """
            ANALYZE retail_segment_diff;
            CREATE TEMPORARY TABLE retail_segment_added ON COMMIT DROP AS %s;
            CREATE TEMPORARY TABLE retail_segment_gone ON COMMIT DROP AS %s;
            ANALYZE retail_segment_added;
            ANALYZE retail_segment_gone;
            %s
            """,
            added, gone, counts,
        ))
        added_count, removed_count = cr.fetchone()
        cr.execute(SQL(";").join([*writes, SQL(
            "DROP TABLE retail_segment_diff, retail_segment_added, retail_segment_gone")]))
        if added_count + removed_count > BULK_CHANGES:
            self._analyze_members()
        return added_count, removed_count

    @api.model
    def _analyze_members(self):
        """Fresh statistics after a bulk change (the first run writes every membership):
        the planner then sizes the next runs' joins right."""
        self.env.cr.execute(SQL(
            "ANALYZE retail_segment_member, res_partner_res_partner_category_rel"))

    @api.model
    def _invalidate_members(self):
        self.env["res.partner"].invalidate_model(["category_id"])
        self.env["res.partner.category"].invalidate_model(["partner_ids"])
        self.env["retail.segment.member"].invalidate_model()

    def _clear_members(self):
        """Take these segments' customers out (the segments stop matching anyone): the tags
        their rules added go, those set by hand stay."""
        if not self:
            return
        self.env["res.partner"].flush_model(["category_id"])
        self.env.cr.execute(SQL(
            """
            CREATE TEMPORARY TABLE retail_segment_gone ON COMMIT DROP AS
            SELECT m.partner_id, s.tag_id, g.segment_id = ANY(m.manual_ids) AS manual
              FROM retail_segment_member m
             CROSS JOIN LATERAL unnest(m.segment_ids) AS g(segment_id)
              JOIN retail_segment s ON s.id = g.segment_id
             WHERE m.segment_ids && %(ids)s AND g.segment_id = ANY(%(ids)s);
            ANALYZE retail_segment_gone;
            DELETE FROM res_partner_res_partner_category_rel rel
             USING retail_segment_gone g
             WHERE NOT g.manual AND rel.category_id = g.tag_id AND rel.partner_id = g.partner_id;
            UPDATE retail_segment_member
               SET segment_ids = ARRAY(SELECT x FROM unnest(segment_ids) x WHERE x != ALL(%(ids)s)),
                   manual_ids = ARRAY(SELECT x FROM unnest(manual_ids) x WHERE x != ALL(%(ids)s))
             WHERE segment_ids && %(ids)s;
            DELETE FROM retail_segment_member WHERE segment_ids = '{}';
            SELECT COUNT(*) FROM retail_segment_gone;
            """,
            ids=self.ids,
        ))
        removed = self.env.cr.fetchone()[0]
        self.env.cr.execute(SQL("DROP TABLE retail_segment_gone"))
        if removed > BULK_CHANGES:
            self._analyze_members()
        if removed:
            self._invalidate_members()

    def _sync_tags(self):
        """Tags carry the segment's name in every language (translations loaded after
        the segment was created included) and its colour."""
        self.env["res.partner.category"].flush_model(["name", "color"])
        self.env.cr.execute(SQL(
            """
            UPDATE res_partner_category tag
               SET name = s.name, color = s.color
              FROM retail_segment s
             WHERE s.tag_id = tag.id AND s.id = ANY(%s)
               AND (tag.name IS DISTINCT FROM s.name OR tag.color IS DISTINCT FROM s.color)
            """,
            self.ids,
        ))
        if self.env.cr.rowcount:
            self.env["res.partner.category"].invalidate_model(["name", "color"])

    @api.model
    def _recompute_partners(self, partner_ids):
        """Recompute the segments of these customers only (after one of their invoices
        was posted or reversed), in every company; RFM types follow at the next full
        recompute."""
        segments = self.sudo().search([("match", "!=", "manual")])
        return segments._recompute(partner_ids=list(partner_ids))

    @api.model
    def _cron_recompute(self):
        """Nightly: every active segment of every company, one company per commit, the
        companies least recently computed first (a run cut short resumes with them)."""
        segments = self.sudo().search([("match", "!=", "manual")])

        def staleness(item):
            dates = item[1].mapped("last_recompute")
            return (1, min(dates), item[0].id) if all(dates) else (0, item[0].id)

        by_company = sorted(segments.grouped("company_id").items(), key=staleness)
        ir_cron = self.env["ir.cron"]
        ir_cron._commit_progress(remaining=len(segments))
        for company, company_segments in by_company:
            added, removed = company_segments._recompute()
            _logger.info("Segments of %s recomputed: %s memberships added, %s removed",
                         company.name, added, removed)
            if not ir_cron._commit_progress(len(company_segments)):
                break

    def action_recompute(self):
        """The "Recompute now" button: every segment of these segments' companies, as the
        exclusive groups decide together."""
        if not self.env.user.has_group("crm_retail.group_crm_retail_manager"):
            raise AccessError(self.env._("Only Retail CRM managers can recompute segments."))
        self._recompute()
        return True

    def action_view_customers(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("contacts.action_contacts")
        action["domain"] = [("category_id", "in", self.tag_id.ids)]
        action["display_name"] = self.name
        return action
