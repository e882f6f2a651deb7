"""The customer in the seven-stage funnel: its stage, the opportunities that follow its
purchases, and referrals."""

from odoo import api, fields, models
from odoo.tools import SQL

from .crm_lead import FUNNEL_MOVED
from .retail_fields import LOYALTY_READERS


def _representative_lead(leads):
    """The opportunity that follows a customer: the most recent won one, else the most recent."""
    leads = leads.filtered("active").sorted(lambda lead: (lead.create_date, lead.id),
                                            reverse=True)
    return next((lead for lead in leads if lead.stage_id.is_won), leads[:1])


class ResPartner(models.Model):
    _inherit = "res.partner"

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
        help="Stage of the opportunity that follows this customer in the pipeline.",
        groups=LOYALTY_READERS,
    )

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------

    def _compute_retail_referral_count(self):
        counts = dict(self.with_context(active_test=False)._read_group(
            [("retail_referrer_id", "in", self.ids)], ["retail_referrer_id"], ["__count"]))
        for partner in self:
            partner.retail_referral_count = counts.get(partner, 0)

    # ------------------------------------------------------------------
    # Business methods: opportunities follow purchases
    # ------------------------------------------------------------------

    @api.model
    def _retail_stage_refresh(self, partner_ids):
        """Set the funnel stage of these customers and their contacts to the stage of the
        opportunity that follows each (the most recent won one, else the most recent), in one
        statement."""
        self.env["crm.lead"].flush_model(
            ["partner_id", "stage_id", "active", "type", "create_date"])
        self.env["crm.stage"].flush_model(["is_won"])
        self.env.cr.execute(SQL(
            """
            UPDATE res_partner p
               SET retail_stage_id = opportunity.stage_id
              FROM res_partner target
              -- Their opportunities read in one pass, not once per customer (a plan on the
              -- fresh statistics of a new database scanned every opportunity per customer).
              LEFT JOIN (
                    SELECT DISTINCT ON (lead.partner_id) lead.partner_id, lead.stage_id
                      FROM crm_lead lead
                      JOIN crm_stage stage ON stage.id = lead.stage_id
                     WHERE lead.partner_id IN (SELECT id FROM res_partner
                                                WHERE commercial_partner_id = ANY(%(ids)s))
                       AND lead.active AND lead.type = 'opportunity'
                     ORDER BY lead.partner_id, stage.is_won DESC, lead.create_date DESC,
                              lead.id DESC) opportunity ON opportunity.partner_id = target.id
             WHERE p.id = target.id
               AND target.commercial_partner_id = ANY(%(ids)s)
               AND p.retail_stage_id IS DISTINCT FROM opportunity.stage_id
            RETURNING p.id
            """,
            ids=list(partner_ids),
        ))
        if self.env.cr.fetchall():
            self.invalidate_model(["retail_stage_id"])

    def _retail_funnel_leads(self, companies, create_missing=False, step=0, reasons=None):
        """{commercial partner id: the opportunity that follows it in the company ``companies``
        maps it to (an opportunity without company follows it everywhere)}, in one search; with
        ``create_missing``, an opportunity of that company is created for customers of
        companies that want one on the first purchase: at the stage of funnel ``step`` the
        purchase takes it to, with ``reasons[partner id]`` in its creation note (as if created
        at the first step and moved there at once, without the move's second write and note),
        else at the first step."""
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
            stage = step and self.env["crm.stage"]._retail_funnel_stages().get(step)
            if not stage:
                step, stage = 0, self.env.ref("crm_retail.stage_target", raise_if_not_found=False)
            # Created in a batch as Odoo logs batches: no creation message, follower or
            # tracking of its own per opportunity (each costs queries per opportunity): one batch
            # note.
            created = self.env["crm.lead"].sudo().with_context(
                mail_create_nolog=True, mail_create_nosubscribe=True, mail_notrack=True,
            ).create([{
                "name": partner.name,
                "partner_id": partner.id,
                "type": "opportunity",
                # The customer's salesperson, if they work for the selling company.
                "user_id": partner.user_id.filtered(
                    lambda user, partner=partner: companies[partner.id] in user.company_ids.ids
                ).id,
                "company_id": companies[partner.id],
                "stage_id": stage.id if stage else False,
                "retail_fact_step": step,
                # What crm sets on an opportunity reaching a won stage, given at once (crm
                # would compute a probability first, then write the closing date).
                **({"date_closed": fields.Datetime.now(), "probability": 100,
                    "automated_probability": 100} if stage and stage.is_won else {}),
                "retail_referrer_id": partner.retail_referrer_id.id,
            } for partner in missing])
            created._message_log_batch(bodies={lead.id: self.env._(
                "Created in %(stage)s: %(reason)s", stage=stage.name,
                reason=reasons.get(lead.partner_id.id, ""),
            ) if step else lead._creation_message() for lead in created})
            result.update({lead.partner_id.id: lead for lead in created})
        return result

    def _retail_funnel_from_purchases(self, documents):
        """Move the opportunities of these customers forward from what they have bought:
        first purchase -> Contract, a purchase on another day -> Repeat, the loyalty
        rule -> Loyal, and the referrer of a first-time buyer -> Advocate. One query
        for the purchases of all the customers."""
        # What the engine does to opportunities is not marked for the transaction's flush
        # (which would refresh every fact of their customers again): it refreshes the stage
        # of those it moved itself, at the end.
        partners = self.commercial_partner_id.with_context(retail_funnel_engine=True)
        if not partners:
            return
        # Only what the purchases query reads, not every pending write of the models.
        self.env["retail.sql.facts"]._sales_flush()
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
                SELECT purchase.partner_id, purchase.company_id, purchase.date
                  FROM (%s) purchase
                 WHERE NOT EXISTS (
                       SELECT 1 FROM account_move_line aml
                         JOIN sale_order_line_invoice_rel rel ON rel.invoice_line_id = aml.id
                        WHERE aml.move_id = purchase.move_id)
              ) purchases
             GROUP BY partner_id, company_id
            """,
            since, tuple(partners.ids), self.env["retail.sql.facts"]._purchases(partners.ids),
        ))
        # Each customer's opportunity, and the purchases that move it, are those of the company
        # selling to it.
        companies = {document.partner_id.commercial_partner_id.id: document.company_id.id
                     for document in documents}
        purchases = {pid: (days, recent) for pid, company_id, days, recent
                     in self.env.cr.fetchall() if companies.get(pid) == company_id}
        buyers = partners.filtered(lambda p: purchases.get(p.id, (0, 0))[0])
        # Each opportunity names its own customer's documents, not the whole batch.
        names_by_partner = {}
        for document in documents:
            names_by_partner.setdefault(
                document.partner_id.commercial_partner_id.id, []).append(document.display_name)
        bought = {pid: ", ".join(names) for pid, names in names_by_partner.items()}
        first_purchase = {partner.id: self.env._(
            "first purchase (%(documents)s)", documents=bought.get(partner.id, ""))
            for partner in buyers}
        leads = buyers._retail_funnel_leads(
            companies, create_missing=True, step=4, reasons=first_purchase)
        # The referrer is on the customer, or on the opportunity that brought it.
        first_timers = buyers.filtered(lambda p: purchases[p.id][0] == 1)
        referrer_companies, referred_names = {}, {}
        for partner in first_timers:
            referrer = partner.retail_referrer_id or (
                partner.id in leads and leads[partner.id].retail_referrer_id)
            if referrer:
                referrer_companies[referrer.commercial_partner_id.id] = companies[partner.id]
                referred_names.setdefault(referrer.commercial_partner_id.id, []).extend(
                    names_by_partner.get(partner.id, []))
        referred = {pid: self.env._("a referred customer made a first purchase (%(documents)s)",
                                    documents=", ".join(names))
                    for pid, names in referred_names.items()}
        referrers = partners.browse(referrer_companies)
        leads.update(referrers._retail_funnel_leads(
            referrer_companies, create_missing=True, step=7, reasons=referred))
        steps = {4: {}, 5: {}, 6: {}, 7: {}}
        for partner in buyers:
            lead = leads.get(partner.id)
            if not lead:
                continue
            days, recent = purchases[partner.id]
            steps[4][lead] = first_purchase[partner.id]
            if days >= 2:
                steps[5][lead] = self.env._("purchase on another day (%(documents)s)",
                                            documents=bought.get(partner.id, ""))
            if partner._retail_is_loyal(recent):
                steps[6][lead] = self.env._("loyalty rule reached")
        for referrer in referrers:
            if lead := leads.get(referrer.id):
                steps[7][lead] = referred[referrer.id]
        stages = self.env["crm.stage"]._retail_funnel_stages()
        for step, reasons in steps.items():
            if reasons and step in stages:
                partners.env["crm.lead"].sudo().browse(
                    lead.id for lead in reasons)._retail_advance(
                    step, {lead.id: text for lead, text in reasons.items()}, stages[step])
        # Referrers too, even in the queue's refresh after a response (which covers only the
        # documents' customers); a referrer may have just become a customer through its new
        # opportunity.
        moved = self.env.cr.precommit.data.pop(FUNNEL_MOVED, set())
        if moved:
            facts = {"stage", "segments"} if referrers else {"stage"}
            self.env["retail.customer.facts"]._refresh_or_queue(moved, facts=facts)

    def _retail_is_loyal(self, recent_purchases):
        company = self.company_id or self.env.company
        if company.retail_loyal_rule == "tier":
            tier = company.sudo().retail_loyal_tier_id
            own_tier = self.sudo().retail_loyalty_tier_id
            return bool(tier) and bool(own_tier) and own_tier.threshold >= tier.threshold
        return recent_purchases >= company.retail_loyal_purchase_count > 0


class RetailCustomerFacts(models.AbstractModel):
    # The funnel subscribes to "these documents became purchases", and its stage to the
    # ledgers' "these customers changed".
    _inherit = "retail.customer.facts"

    @api.model
    def _on_purchases(self, documents):
        result = super()._on_purchases(documents)
        documents.partner_id.commercial_partner_id._retail_funnel_from_purchases(documents)
        return result

    @api.model
    def _on_facts_changed(self, partner_ids, facts):
        result = super()._on_facts_changed(partner_ids, facts)
        if facts is None or "stage" in facts:
            self.env["res.partner"].sudo()._retail_stage_refresh(partner_ids)
        return result
