from odoo import api, fields, models

from .retail_fields import check_derived_fields, without_derived

# Opportunity fields that decide which stage its customer is in.
FUNNEL_STAGE_FIELDS = {"stage_id", "active", "partner_id", "type"}
# The customers whose opportunities the funnel engine is moving (a transaction's data).
FUNNEL_MOVED = "crm_retail.funnel_moved"
# Facts only the funnel engine writes, as superuser (the step is its stage's).
DERIVED_FIELDS = {"retail_fact_step": "funnel", "retail_funnel_step": "funnel"}


class CrmLead(models.Model):
    _inherit = "crm.lead"

    retail_referrer_id = fields.Many2one(
        "res.partner", string="Referred By (Customer)", index="btree_not_null", copy=False,
        help="The customer who brought this one: their opportunity becomes an Advocate when this "
        "customer buys for the first time.",
    )
    retail_fact_step = fields.Integer(
        string="Funnel Step Reached by Facts", readonly=True, copy=False,
        help="The highest funnel step sales and invoicing facts moved this opportunity to. An "
        "opportunity a person moved back is not pushed forward again by the same fact.",
    )
    retail_funnel_step = fields.Selection(
        related="stage_id.retail_funnel_step", store=True, string="Funnel Step")

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            check_derived_fields(self, vals, DERIVED_FIELDS)
        # A new opportunity for a customer who has bought already starts at Opportunity.
        stage = self.env.ref("crm_retail.stage_opportunity", raise_if_not_found=False)
        partner_ids = {vals["partner_id"] for vals in vals_list
                       if vals.get("partner_id") and not vals.get("stage_id")}
        if stage and partner_ids:
            # Whoever creates the opportunity may not be allowed to read the statistics.
            buyers = self.env["res.partner"].sudo().browse(partner_ids).filtered(
                lambda partner: partner.commercial_partner_id.retail_purchase_count)
            for vals in vals_list:
                if vals.get("partner_id") in buyers.ids and not vals.get("stage_id"):
                    vals["stage_id"] = stage.id
        leads = super().create(vals_list)
        leads._retail_mark_customers()
        return leads

    @api.model
    def default_get(self, fields):  # pylint: disable=redefined-outer-name
        # Facts have no default to give (a pipeline grouped by funnel step quick-creates
        # with the step as default).
        return without_derived(super().default_get(fields), DERIVED_FIELDS)

    def write(self, vals):
        check_derived_fields(self, vals, DERIVED_FIELDS)
        # The customer's funnel stage follows its opportunity.
        follows = FUNNEL_STAGE_FIELDS.intersection(vals)
        if follows:
            self._retail_mark_customers()
        result = super().write(vals)
        if follows:
            self._retail_mark_customers()
        return result

    def unlink(self):
        self._retail_mark_customers()
        return super().unlink()

    def _retail_mark_customers(self):
        """Refresh the facts of these opportunities' customers with the transaction: their
        stage, and their segments (an opportunity makes a contact a customer). The funnel
        engine collects the customers it moves and refreshes only what it changed."""
        if self.env.context.get("retail_funnel_engine"):
            self.env.cr.precommit.data.setdefault(FUNNEL_MOVED, set()).update(
                self.partner_id.commercial_partner_id.ids)
        else:
            self.env["retail.customer.facts"]._mark(self.partner_id.ids)

    def _retail_advance(self, step, reasons, stage=None):
        """Move these opportunities forward to funnel ``step``, never backward and once per fact,
        logging ``reasons[lead.id]`` in each opportunity's chatter. Set-based."""
        if stage is None:
            stage = self.env["crm.stage"]._retail_funnel_stages().get(step)
        new_fact = self.filtered(lambda lead: lead.retail_fact_step < step)
        if not stage or not new_fact:
            return
        to_move = new_fact.filtered(
            lambda lead: int(lead.stage_id.retail_funnel_step or 0) < step)
        # Odoo would track each opportunity's move in a message of its own (and notify its
        # followers): one batch note per opportunity instead, carrying the stage's tracking value
        # (the funnel report reads the stage history from them), all in a few statements.
        new_fact = new_fact.with_context(mail_notrack=True)
        # One write per group (each costs crm its own bookkeeping).
        staying = new_fact - to_move
        if staying:
            staying.write({"retail_fact_step": step})
        if to_move:
            old_stages = {lead.id: lead.stage_id for lead in to_move}
            to_move.with_context(mail_notrack=True).write(
                {"retail_fact_step": step, "stage_id": stage.id})
            notes = to_move._message_log_batch(bodies={
                lead.id: self.env._("Moved to %(stage)s: %(reason)s",
                                    stage=stage.name, reason=reasons.get(lead.id, ""))
                for lead in to_move
            })
            if self.env.context.get("tracking_disable"):
                return  # as Odoo's tracking: nothing tracked in that context
            Tracking = self.env["mail.tracking.value"].sudo()
            stage_info = self.fields_get(["stage_id"])["stage_id"]
            Tracking.create([{
                **Tracking._create_tracking_values(
                    old_stages[note.res_id], stage, "stage_id", stage_info,
                    to_move.browse(note.res_id)),
                "mail_message_id": note.id,
            } for note in notes])
