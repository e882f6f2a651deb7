"""Customer segments: the segment (fields, constraints, counts, its tag, the buttons).

The recompute of the memberships is in retail_segment_recompute.py, over three engines:
the rule compiler (retail_segment_rule_compiler.py), the customers' facts
(retail_segment_facts.py) and the set-based writes (retail_segment_diff.py)."""

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL

from .retail_input_check import check_field_values

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
    _order = "company_id, exclusive_group, sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(
        default=10, help="Within an exclusive group, the first segment that matches wins.")
    active = fields.Boolean(default=True)
    color = fields.Integer()
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company)
    currency_id = fields.Many2one(related="company_id.currency_id")
    # Named for what it is, not ``group`` (an SQL keyword every query had to quote).
    exclusive_group = fields.Selection(
        selection="_selection_exclusive_group",
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
        help="Among the company's customers who bought, each scores 1 to 5 on recency (R), "
        "frequency (F) and net sales (M), by quintile. Loyal: R ≥ 3 and F + M ≥ 8; High "
        "potential: R ≥ 3 otherwise; At risk: F + M ≥ 6; Low value: the rest.")

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
    # Constraints
    # ------------------------------------------------------------------

    @api.model
    def _check_values(self, vals):
        """Values of the wrong type or beyond what the database stores (sent over the
        API) get a clear error rather than a traceback, before anything is written."""
        # Any name is an exclusive group: the selection only lists the known ones.
        check_field_values(self, vals, vals.keys() - {"exclusive_group"})
        if vals.get("exclusive_group") and not isinstance(vals["exclusive_group"], str):
            raise ValidationError(self.env._(
                "The exclusive group of a customer segment is a name, not %(value)s.",
                value=vals["exclusive_group"]))
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
        query = self._facts_query(
            self.company_id, today, self._facts_windows(self), rfm=bool(self.rfm_type))
        condition = self._rule_condition(today)
        _rows, complaint = self._execute_guarded(SQL(
            "WITH facts AS (%s) SELECT 1 FROM facts f WHERE %s LIMIT 0", query, condition))
        if complaint:
            raise ValidationError(self.env._(
                "The rule of the segment %(segment)s cannot run, the database refuses it: "
                "“%(error)s”. Check its other conditions.",
                segment=self.display_name, error=complaint))

    # ------------------------------------------------------------------
    # Computes and the selection of groups
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

    @api.model
    def _selection_exclusive_group(self):
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
            "SELECT DISTINCT exclusive_group FROM retail_segment "
            "WHERE exclusive_group IS NOT NULL"))
        known = dict(shipped)
        others = sorted(key for key, in self.env.cr.fetchall() if key not in known)
        return shipped + [(key, key) for key in others]

    # ------------------------------------------------------------------
    # CRUD: the backing tag
    # ------------------------------------------------------------------

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
    # Actions
    # ------------------------------------------------------------------

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
