from odoo import fields, models
from odoo.tools import format_date


class RetailDebtAgingWizard(models.TransientModel):
    _name = "retail.debt.aging.wizard"
    _inherit = ["retail.checked.values.mixin"]
    _description = "Aged Receivables at a Date"

    date = fields.Date(
        string="As of", required=True, default=fields.Date.context_today,
        help="Items open at this date, aged at this date; payments and reconciliations "
        "made later are left out.")
    # For the multi-company rule: the report itself shows the user's companies.
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda self: self.env.company)

    def action_open(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_retail.action_retail_debt_aging_report")
        action["context"] = {
            "retail_aging_date": fields.Date.to_string(self.date),
            "search_default_group_partner": 1,
        }
        action["display_name"] = self.env._(
            "Aged Receivables at %(date)s",
            date=format_date(self.env, self.date))
        return action
