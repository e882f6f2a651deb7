from odoo import api, fields, models
from odoo.tools import format_date


class ReportRetailDebtStatement(models.AbstractModel):
    """The debt statement PDF of customers: the period and company come from the report
    data (the wizard), else from the context (mail templates), else this month."""

    _name = "report.crm_retail.report_debt_statement"
    _description = "Debt Statement Report"

    @api.model
    def _get_report_values(self, docids, data=None):
        Statement = self.env["retail.debt.statement"]
        company, date_from, date_to = Statement._retail_statement_options(data)
        # Printed from the wizard, the customers come in the data (see action_print_pdf).
        docids = docids or (data or {}).get("partner_ids") or []
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
            # in the language each statement is printed in (the template's t-lang)
            "place_and_date": {
                partner.id: self._retail_place_and_date(company, partner.lang or self.env.lang)
                for partner in partners
            },
        }

    @api.model
    def _retail_place_and_date(self, company, lang):
        """The line above the signatures: "Hà Nội, ngày 31 tháng 03 năm 2026" in Vietnamese.
        Each language words it its own way, so the translation picks among the parts: the
        date in the language's format, or its day, month and year."""
        env = self.with_context(lang=lang).env
        today = fields.Date.context_today(self)
        parts = {
            "date": format_date(env, today, lang_code=lang),
            "day": f"{today.day:02d}",
            "month": f"{today.month:02d}",
            "year": today.year,
        }
        if company.city:
            return env._("%(city)s, %(date)s", city=company.city, **parts)
        return env._("Date: %(date)s", **parts)
