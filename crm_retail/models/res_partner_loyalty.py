"""The customer's loyalty: points balance, lifetime points and tier, per company,
from the points history; manual adjustments."""

from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, formatLang, split_every

from .retail_customer_facts import LedgerFactUpdate
from .retail_fields import LOYALTY_READERS, SALE_MOVE_TYPES

# Points one adjustment or redemption may move: far beyond any shop's need, and far
# enough below the database's integer limit that no balance can overflow it.
MAX_POINTS = 1_000_000_000
# Customers per transaction of the nightly tier update.
TIER_BATCH_SIZE = 200
POINTS_AGGREGATES = SQL("""
    jsonb_object_agg(company_id::text, balance) AS balance,
    jsonb_object_agg(company_id::text, earned) AS earned,
    array_agg(company_id) AS companies""")


class ResPartner(models.Model):
    _inherit = "res.partner"

    retail_loyalty_points = fields.Integer(
        string="Current Points",
        company_dependent=True,
        readonly=True,
        copy=False,
        groups=LOYALTY_READERS,
        help="The points balance: the sum of the points history.",
    )
    retail_loyalty_points_total = fields.Integer(
        string="Lifetime Points",
        company_dependent=True,
        readonly=True,
        copy=False,
        groups=LOYALTY_READERS,
        help="All points earned, less those taken back by credit notes and reversals.",
    )
    retail_loyalty_tier_id = fields.Many2one(
        "retail.tier", string="Tier", company_dependent=True, readonly=True, copy=False,
        groups=LOYALTY_READERS,
        # Not tracked: the points engine moves it, and the points history is the record
        # of points (a chatter message per customer and purchase would cost a query each).
    )
    retail_loyalty_points_line_ids = fields.One2many(
        "retail.points.line", "partner_id", string="Points History", readonly=True,
    )

    _loyalty_points_positive = models.Constraint(
        "CHECK(retail_loyalty_points IS NULL"
        " OR NOT jsonb_path_exists(retail_loyalty_points, '$.* ? (@ < 0)'))",
        "A customer's points balance cannot go negative.",
    )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_retail_adjust_points(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_retail.action_retail_points_adjust")
        action["context"] = {"default_partner_id": self.commercial_partner_id.id}
        return action

    def action_retail_view_points_history(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_retail.action_retail_points_line"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"default_partner_id": self.commercial_partner_id.id}
        return action

    # ------------------------------------------------------------------
    # Business methods: balances, tiers and adjustments
    # ------------------------------------------------------------------

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

    @api.model
    def _retail_points_update(self, partner_ids):
        """The points balances and lifetime points of these customers, per company, from
        their history, as written by the customer facts refresh; the tiers of those whose
        balance changed move after."""
        self.env["retail.points.line"].flush_model(
            ["partner_id", "company_id", "points_earned", "points_used"])
        return LedgerFactUpdate(
            figures=SQL("SELECT partner_id, %s FROM (%s) points GROUP BY partner_id",
                        POINTS_AGGREGATES, self._retail_points_query(partner_ids)),
            columns={"retail_loyalty_points": "balance", "retail_loyalty_points_total": "earned"},
            returning=("companies",),
            on_written=self._retail_points_written,
        )

    @api.model
    def _retail_points_refresh(self, partner_ids):
        """Rewrite the points balances of these customers, per company, from their history
        in one statement, then move the tiers of those whose balance changed."""
        self.env["retail.customer.facts"]._write_ledger_facts(
            partner_ids, {"points": self._retail_points_update(partner_ids)})

    @api.model
    def _retail_points_written(self, changed):
        """Move the tiers of these customers ({id: (their companies,)}), whose points
        changed, in each company they have points in."""
        partner_ids_by_company = defaultdict(list)
        for partner_id, (company_ids,) in changed.items():
            for company_id in company_ids or ():
                partner_ids_by_company[company_id].append(partner_id)
        for company_id, ids in partner_ids_by_company.items():
            self.browse(ids).with_company(company_id)._retail_update_tiers()

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
        # One write per move (old tier -> new tier), not one per customer; ids gathered in
        # lists (a recordset union per customer would be quadratic).
        moves = defaultdict(list)
        # The engine's figures are not tracked: no chatter message per customer.
        partners = partners.sudo().with_company(company).with_context(mail_notrack=True)
        for partner in partners:
            tier = next((t for t in tiers if metric[partner.id] >= t.threshold), tiers.browse())
            if partner.retail_loyalty_tier_id != tier:
                moves[partner.retail_loyalty_tier_id, tier].append(partner.id)
        for (old_tier, tier), moving_ids in moves.items():
            moving = partners.browse(moving_ids)
            moving.write({"retail_loyalty_tier_id": tier.id})
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
        return {partner.id: partner.retail_loyalty_points_total for partner in self}

    @api.model
    def _retail_tier_customers_by_company(self):
        """{company: its customers whose tier it sets}: its own customers and the shared
        ones that buy from it."""
        customers = {}
        # A handful of companies.
        # pylint: disable-next=no-search-all
        for company in self.env["res.company"].sudo().search([]):
            customers[company] = self.with_company(company).sudo().search([
                ("parent_id", "=", False),
                "|", ("company_id", "=", company.id),
                "&", ("company_id", "=", False),
                "|", "|", ("customer_rank", ">", 0),
                ("retail_loyalty_points_line_ids.company_id", "=", company.id),
                ("retail_invoice_ids.company_id", "=", company.id),
            ])
        return customers

    @api.model
    def _retail_update_all_tiers(self):
        """Every company's customers in their tier, in the caller's transaction (the
        install hook, an upgrade)."""
        for customers in self._retail_tier_customers_by_company().values():
            customers._retail_update_tiers()

    @api.model
    def _cron_retail_update_tiers(self):
        """Nightly: tiers on spend move with time even when nothing is posted. In batches
        committed with the cron's progress, each locking its customers first
        (:meth:`~.retail_customer_facts.RetailCustomerFacts._run_in_locked_batches`)."""
        def update_tiers(customers):
            return lambda locked: customers.browse(locked)._retail_update_tiers()

        batches = [
            (batch, update_tiers(customers))
            for customers in self._retail_tier_customers_by_company().values()
            for batch in split_every(TIER_BATCH_SIZE, customers.ids)
        ]
        self.env["retail.customer.facts"]._run_in_locked_batches(batches, resumable=False)

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
