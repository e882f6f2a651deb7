from odoo import api, models


class ReportRetailDebtStatement(models.AbstractModel):
    """The debt statement PDF of customers: the period and company come from the report
    data (the wizard), else from the context (mail templates), else this month."""

    _name = "report.crm_retail.report_debt_statement"
    _description = "Debt Statement Report"

    @api.model
    def _get_report_values(self, docids, data=None):
        Statement = self.env["retail.debt.statement"]
        company, date_from, date_to = Statement._retail_statement_options(data)
        partners = self.env["res.partner"].browse(docids).exists()
        statements = Statement._retail_statements_data(partners, company, date_from, date_to)
        return {
            "doc_ids": partners.ids,
            "doc_model": "res.partner",
            "docs": partners,
            "company": company,
            # a contact prints its company's statement
            "statements": {
                partner.id: statements[partner.commercial_partner_id.id] for partner in partners
            },
        }
