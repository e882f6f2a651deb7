from odoo import api, fields, models


class CrmLead(models.Model):
    _inherit = "crm.lead"

    retail_referrer_id = fields.Many2one(
        "res.partner", string="Referred By (Customer)", index="btree_not_null", copy=False,
        help="The customer who brought this one: their card becomes an Advocate when this "
        "customer buys for the first time.",
    )
    retail_fact_step = fields.Integer(
        string="Funnel Step Reached by Facts", readonly=True, copy=False,
        help="The highest funnel step sales and invoicing facts moved this card to. A card "
        "a person moved back is not pushed forward again by the same fact.",
    )
    retail_funnel_step = fields.Selection(
        related="stage_id.retail_funnel_step", store=True, string="Funnel Step")

    @api.model_create_multi
    def create(self, vals_list):
        # A new opportunity for a customer who has bought already starts at Opportunity.
        stage = self.env.ref("crm_retail.stage_opportunity", raise_if_not_found=False)
        partner_ids = {vals["partner_id"] for vals in vals_list
                       if vals.get("partner_id") and not vals.get("stage_id")}
        if stage and partner_ids:
            buyers = self.env["res.partner"].browse(partner_ids).filtered(
                lambda partner: partner.commercial_partner_id.retail_purchase_count)
            for vals in vals_list:
                if vals.get("partner_id") in buyers.ids and not vals.get("stage_id"):
                    vals["stage_id"] = stage.id
        return super().create(vals_list)

    def _retail_advance(self, step, reasons, stage=None):
        """Move these cards forward to funnel ``step``, never backward and once per fact,
        logging ``reasons[lead.id]`` in each card's chatter. Set-based."""
        if stage is None:
            stage = self.env["crm.stage"]._retail_funnel_stages().get(step)
        new_fact = self.filtered(lambda lead: lead.retail_fact_step < step)
        if not stage or not new_fact:
            return
        to_move = new_fact.filtered(
            lambda lead: int(lead.stage_id.retail_funnel_step or 0) < step)
        new_fact.write({"retail_fact_step": step})
        if to_move:
            to_move.write({"stage_id": stage.id})
            to_move._message_log_batch(bodies={
                lead.id: self.env._("Moved to %(stage)s: %(reason)s",
                                    stage=stage.name, reason=reasons.get(lead.id, ""))
                for lead in to_move
            })
