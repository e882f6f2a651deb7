from lxml import etree

from odoo import api, fields, models
from odoo.tools import SQL, file_open, ormcache
from odoo.tools.translate import TranslationImporter, get_po_paths

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
        help="The step of the seven-stage customer funnel this stage stands for; opportunities "
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
    def _retail_release_stages(self):
        """Uninstall: leave Odoo's pipeline as crm made it. Opportunities on the funnel's own stages
        (which the uninstall deletes) move to Odoo's Won stage; the adopted stages get back
        crm's names, translations and sequence, unless someone renamed them since."""
        own_stages = self._retail_own_stages()
        self._retail_move_opportunities_off(own_stages)
        funnel_names = dict(FUNNEL_STEPS)
        with file_open("crm/data/crm_stage_data.xml", "rb") as data_file:
            arch = etree.parse(data_file)
        restored = {}
        for odoo_xmlid in ADOPTED_STAGES:
            stage = self.env.ref(odoo_xmlid, raise_if_not_found=False)
            record = arch.find(f".//record[@id='{odoo_xmlid.split('.')[1]}']")
            if (not stage or record is None or stage.with_context(lang="en_US").name
                    != funnel_names.get(stage.retail_funnel_step)):
                continue
            values = {field.get("name"): field.text for field in record.iter("field")}
            # Only crm's English name: the funnel's translations go with it.
            self.env.cr.execute(SQL(
                "UPDATE crm_stage SET name = jsonb_build_object('en_US', %s::text),"
                " sequence = %s WHERE id = %s",
                values["name"], int(values.get("sequence") or stage.sequence), stage.id,
            ))
            restored[odoo_xmlid] = stage
        if restored:
            importer = TranslationImporter(self.env.cr, verbose=False)
            for lang, _name in self.env["res.lang"].get_installed():
                if lang == "en_US":
                    continue
                for po_path in get_po_paths("crm", lang):
                    importer.load_file(po_path, lang, xmlids=set(restored))
            importer.save()
        self.invalidate_model(["name", "sequence"])

    @api.model
    def _retail_own_stages(self):
        """The stages only this addon's data holds (those the uninstall deletes)."""
        self.env.cr.execute(SQL(
            """
            SELECT own.res_id FROM ir_model_data own
             WHERE own.module = 'crm_retail' AND own.model = 'crm.stage'
               AND NOT EXISTS (SELECT 1 FROM ir_model_data other
                                WHERE other.model = 'crm.stage' AND other.res_id = own.res_id
                                  AND other.module != 'crm_retail')
            """
        ))
        return self.browse([res_id for (res_id,) in self.env.cr.fetchall()]).exists()

    @api.model
    def _retail_move_opportunities_off(self, stages):
        """Move every opportunity (archived ones too) off ``stages``: to Odoo's Won stage, else
        another won stage, else the first one left. In SQL: the addon's write hooks, which
        follow opportunities into the funnel, are on their way out. With no stage left at all, the
        stages stay, as ordinary ones."""
        if not stages:
            return
        others = self.with_context(active_test=False).search(
            [("id", "not in", stages.ids)], order="sequence, id")
        won = self.env.ref("crm.stage_lead4", raise_if_not_found=False)
        target = (won if won in others else None) \
            or others.filtered("is_won")[:1] or others[:1]
        if not target:
            self.env["ir.model.data"].search([
                ("module", "=", "crm_retail"), ("model", "=", "crm.stage"),
                ("res_id", "in", stages.ids),
            ]).unlink()
            return
        self.env["crm.lead"].flush_model(["stage_id"])
        self.env.cr.execute(SQL(
            "UPDATE crm_lead SET stage_id = %s, date_last_stage_update = NOW() AT TIME ZONE 'UTC'"
            " WHERE stage_id IN %s",
            target.id, tuple(stages.ids),
        ))
        self.env["crm.lead"].invalidate_model(["stage_id", "date_last_stage_update"])

    @api.model_create_multi
    def create(self, vals_list):
        stages = super().create(vals_list)
        if any(vals.get("retail_funnel_step") for vals in vals_list):
            self.env.registry.clear_cache()
        return stages

    def write(self, vals):
        if {"retail_funnel_step", "sequence"} & vals.keys() and (
                "retail_funnel_step" in vals or any(self.mapped("retail_funnel_step"))):
            self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        if any(self.mapped("retail_funnel_step")):
            self.env.registry.clear_cache()
        return super().unlink()

    @api.model
    def _retail_funnel_stages(self):
        """{step: the first stage standing for it}."""
        return {step: self.browse(stage_id)
                for step, stage_id in self._retail_funnel_stage_ids().items()}

    # Read at every posting; stages change rarely (create, write and unlink clear it).
    @ormcache()
    def _retail_funnel_stage_ids(self):
        stages = self.sudo().search([("retail_funnel_step", "!=", False)], order="sequence, id")
        result = {}
        for stage in stages:
            result.setdefault(int(stage.retail_funnel_step), stage.id)
        return result
