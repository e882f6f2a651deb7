from odoo import api, models


class ReportRetailDebtStatement(models.AbstractModel):
    """The debt statement PDF of customers: the period and company come from the report
    data (the wizard), else from the context (mail templates), else this month."""

    _name = "report.crm_retail.report_debt_statement"
    _description = "Debt Statement Report"

    @api.model
    def _get_report_values(self, docids, data=None):
        statements = self.env["retail.debt.statement"]
        company, date_from, date_to = statements._retail_statement_options(data)
        partners = self.env["res.partner"].browse(docids)
        return {
            "doc_ids": docids,
            "doc_model": "res.partner",
            "docs": partners,
            "company": company,
            "statements": {
                partner.id: statements._retail_statement_data(
                    partner, company, date_from, date_to)
                for partner in partners
            },
        }
