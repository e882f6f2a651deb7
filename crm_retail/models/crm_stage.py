from odoo import api, fields, models
from odoo.tools import SQL

FUNNEL_STEPS = [
    ("1", "Target customer"),
    ("2", "Opportunity"),
    ("3", "Quotation"),
    ("4", "Contract / first purchase"),
    ("5", "Repeat customer"),
    ("6", "Loyal customer"),
    ("7", "Advocate"),
]
# Odoo's default stages become the first four steps when the addon is installed, so that
# no lead is stranded and Odoo's own xmlids keep pointing at a stage.
ADOPTED_STAGES = {
    "crm.stage_lead1": "stage_target",
    "crm.stage_lead2": "stage_opportunity",
    "crm.stage_lead3": "stage_quotation",
    "crm.stage_lead4": "stage_contract",
}


class CrmStage(models.Model):
    _inherit = "crm.stage"

    retail_funnel_step = fields.Selection(
        FUNNEL_STEPS, string="Funnel Step", index=True,
        help="The step of the seven-stage customer funnel this stage stands for; cards "
        "move forward to it automatically from sales and invoicing facts.",
    )

    @api.model
    def _retail_adopt_default_stages(self):
        """Give Odoo's default stages this addon's xmlids (once, before the stage data
        loads): their leads stay where they are, under the funnel's names. Their old
        translations are dropped so that the funnel's own ones load."""
        IrModelData = self.env["ir.model.data"]
        for odoo_xmlid, own_name in ADOPTED_STAGES.items():
            stage = self.env.ref(odoo_xmlid, raise_if_not_found=False)
            if not stage or self.env.ref(f"crm_retail.{own_name}", raise_if_not_found=False):
                continue
            IrModelData.create({
                "module": "crm_retail", "name": own_name, "model": "crm.stage",
                "res_id": stage.id, "noupdate": True,
            })
            self.env.cr.execute(SQL(
                "UPDATE crm_stage SET name = jsonb_build_object('en_US', name->>'en_US')"
                " WHERE id = %s", stage.id,
            ))
        self.invalidate_model(["name"])

    @api.model
    def _retail_funnel_stages(self):
        """{step: the first stage standing for it}, in one query."""
        stages = self.sudo().search([("retail_funnel_step", "!=", False)], order="sequence, id")
        result = {}
        for stage in stages:
            result.setdefault(int(stage.retail_funnel_step), stage)
        return result
