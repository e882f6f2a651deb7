from odoo import api, fields, models
from odoo.tools import SQL

from ..models.crm_stage import FUNNEL_STEPS


class CrmRetailFunnelReport(models.Model):
    """One row per time an opportunity entered a funnel stage, rebuilt from Odoo's own stage
    tracking: counts per stage, stage-to-stage conversion (the share of entries that
    later reached a higher step) and days spent in each stage."""

    _name = "crm.retail.funnel.report"
    _description = "Customer Funnel Analysis"
    _auto = False
    _order = "entered_on desc"

    lead_id = fields.Many2one("crm.lead", string="Opportunity", readonly=True)
    stage_id = fields.Many2one("crm.stage", readonly=True)
    funnel_step = fields.Selection(FUNNEL_STEPS, readonly=True)
    entered_on = fields.Datetime(readonly=True)
    left_on = fields.Datetime(readonly=True)
    days_in_stage = fields.Float(
        string="Days in Stage", readonly=True, aggregator="avg", digits=(16, 1))
    converted = fields.Float(
        string="Conversion", readonly=True, aggregator="avg",
        help="1 when the opportunity later reached a higher step: averaged, the stage's "
        "conversion rate to the next ones.")
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    expected_revenue = fields.Monetary(readonly=True, aggregator="sum")
    currency_id = fields.Many2one("res.currency", readonly=True)

    @property
    def _table_query(self):
        return SQL(
            """
            WITH stage_field AS (
                SELECT id FROM ir_model_fields WHERE model = 'crm.lead' AND name = 'stage_id'
            ), moves AS (
                SELECT msg.res_id AS lead_id, val.old_value_integer AS old_stage,
                       val.new_value_integer AS new_stage, msg.date, val.id AS val_id
                  FROM mail_tracking_value val
                  JOIN mail_message msg ON msg.id = val.mail_message_id
                 WHERE msg.model = 'crm.lead' AND val.field_id IN (SELECT id FROM stage_field)
            ), entries AS (
                -- the stage an opportunity was created in, then every stage it was moved to
                SELECT lead.id AS lead_id,
                       COALESCE((SELECT m.old_stage FROM moves m WHERE m.lead_id = lead.id
                                  ORDER BY m.date, m.val_id LIMIT 1), lead.stage_id) AS stage_id,
                       lead.create_date AS entered_on, 0 AS val_id
                  FROM crm_lead lead
                 WHERE lead.type = 'opportunity'
                UNION ALL
                SELECT lead_id, new_stage, date, val_id FROM moves
            ), ordered AS (
                SELECT e.*, stage.retail_funnel_step AS funnel_step,
                       LEAD(e.entered_on) OVER w AS left_on,
                       MAX(stage.retail_funnel_step::int) OVER (
                           PARTITION BY e.lead_id ORDER BY e.entered_on, e.val_id
                           ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS later_step
                  FROM entries e JOIN crm_stage stage ON stage.id = e.stage_id
                WINDOW w AS (PARTITION BY e.lead_id ORDER BY e.entered_on, e.val_id)
            )
            SELECT ROW_NUMBER() OVER (ORDER BY o.lead_id, o.entered_on, o.val_id) AS id,
                   o.lead_id, o.stage_id, o.funnel_step, o.entered_on, o.left_on,
                   GREATEST(0, EXTRACT(EPOCH FROM COALESCE(o.left_on, NOW() AT TIME ZONE 'UTC')
                            - o.entered_on) / 86400.0) AS days_in_stage,
                   CASE WHEN o.later_step > o.funnel_step::int THEN 1.0 ELSE 0.0 END
                       AS converted,
                   lead.user_id, lead.team_id, lead.company_id, lead.expected_revenue,
                   company.currency_id
              FROM ordered o
              JOIN crm_lead lead ON lead.id = o.lead_id
              LEFT JOIN res_company company ON company.id = lead.company_id
             WHERE o.funnel_step IS NOT NULL AND lead.active
            """
        )

    @api.model
    def _search(self, domain, *args, **kwargs):
        # The rows are the opportunities': the opportunities' access rules apply.
        allowed = self.env["crm.lead"]._search([])
        return super()._search([*domain, ("lead_id", "in", allowed)], *args, **kwargs)
