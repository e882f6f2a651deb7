import base64
from urllib.parse import quote

from odoo import Command, api, fields, models
from odoo.exceptions import ValidationError

# The statement engine: its data, PDF and spreadsheet (this wizard is its screen).
STATEMENT_REPORT = "report.crm_retail.report_debt_statement"


class RetailDebtStatement(models.TransientModel):
    """Sổ chi tiết công nợ on screen: a customer's receivable journal items over a period,
    with the opening balance, a running balance and the closing balance, in company
    currency, as the statement report computes them; printed, exported or mailed from
    here."""

    _name = "retail.debt.statement"
    _inherit = ["retail.checked.values.mixin"]
    _description = "Debt Statement"

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True,
        domain="['|', ('is_company', '=', True), ('parent_id', '=', False)]",
        help="The statement covers this customer and all its contacts.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.user.company_ids.ids)],
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    date_from = fields.Date(
        string="From", required=True,
        default=lambda self: self.env[STATEMENT_REPORT]._retail_default_period()[0])
    date_to = fields.Date(
        string="To", required=True,
        default=lambda self: self.env[STATEMENT_REPORT]._retail_default_period()[1])
    # Computed as the user (not sudo, the default for stored fields): the statement reads
    # journal items in SQL and checks the user's rights and companies first.
    opening_balance = fields.Monetary(
        compute="_compute_statement", store=True, compute_sudo=False)
    total_debit = fields.Monetary(compute="_compute_statement", store=True, compute_sudo=False)
    total_credit = fields.Monetary(compute="_compute_statement", store=True, compute_sudo=False)
    closing_balance = fields.Monetary(
        compute="_compute_statement", store=True, compute_sudo=False,
        help="What the customer owes at the end of the period: the opening balance plus "
        "debits minus credits.",
    )
    has_foreign_currency = fields.Boolean(
        compute="_compute_statement", store=True, compute_sudo=False)
    line_ids = fields.One2many(
        "retail.debt.statement.line", "statement_id", string="Items",
        compute="_compute_statement", store=True, compute_sudo=False,
    )
    xlsx_file = fields.Binary(string="Spreadsheet", readonly=True, attachment=False)
    xlsx_filename = fields.Char(string="Spreadsheet Name", readonly=True)

    @api.model
    def default_get(self, fields):  # pylint: disable=redefined-outer-name
        values = super().default_get(fields)
        if values.get("partner_id"):
            # Opened from a contact: the statement is its company's.
            partner = self.env["res.partner"].browse(values["partner_id"])
            values["partner_id"] = partner.commercial_partner_id.id
        return values

    @api.constrains("date_from", "date_to")
    def _check_period(self):
        for statement in self:
            if statement.date_from > statement.date_to:
                raise ValidationError(self.env._("The period must start before it ends."))

    @api.depends("partner_id", "company_id", "date_from", "date_to")
    def _compute_statement(self):
        for statement in self:
            if not (statement.partner_id and statement.company_id and statement.date_from
                    and statement.date_to) or statement.date_from > statement.date_to:
                statement.update({
                    "opening_balance": 0.0, "total_debit": 0.0, "total_credit": 0.0,
                    "closing_balance": 0.0, "has_foreign_currency": False,
                    "line_ids": [Command.clear()],
                })
                continue
            data = self.env[STATEMENT_REPORT]._retail_statement_data(
                statement.partner_id, statement.company_id,
                statement.date_from, statement.date_to)
            statement.update({
                "opening_balance": data["opening_balance"],
                "total_debit": data["total_debit"],
                "total_credit": data["total_credit"],
                "closing_balance": data["closing_balance"],
                "has_foreign_currency": data["has_foreign_currency"],
                "line_ids": [Command.clear()] + [Command.create({
                    "sequence": sequence,
                    "date": line["date"],
                    "move_id": line["move_id"],
                    "reference": line["reference"],
                    "kind": line["kind"],
                    "label": line["label"],
                    "date_maturity": line["date_maturity"],
                    "debit": line["debit"],
                    "credit": line["credit"],
                    "balance": line["balance"],
                    "amount_currency": line["amount_currency"],
                    "line_currency_id": line["currency"].id,
                }) for sequence, line in enumerate(data["lines"])],
            })

    # ------------------------------------------------------------------
    # Buttons: PDF, spreadsheet, email
    # ------------------------------------------------------------------

    def _retail_report_data(self):
        return {
            "company_id": self.company_id.id,
            "date_from": fields.Date.to_string(self.date_from),
            "date_to": fields.Date.to_string(self.date_to),
        }

    def action_print_pdf(self):
        self.ensure_one()
        # With data, the web client asks for the report by name and options only: the
        # customers travel in the options too.
        return self.env.ref("crm_retail.action_report_debt_statement").report_action(
            self.partner_id,
            data={**self._retail_report_data(), "partner_ids": self.partner_id.ids})

    def action_send_email(self):
        self.ensure_one()
        return self._retail_mail_composer_action(
            self.partner_id, self.company_id, self.date_from, self.date_to)

    @api.model
    def _retail_mail_composer_action(self, partner, company=None, date_from=None,
                                     date_to=None):
        """Odoo's mail composer on the customer with the statement template; the message
        is posted in the customer's chatter. The period travels in the context to the
        attached PDF."""
        company = company or self.env.company
        report = self.env[STATEMENT_REPORT]
        report._retail_check_access(company, partner)
        default_from, default_to = report._retail_default_period()
        template = self.env.ref(
            "crm_retail.mail_template_debt_statement", raise_if_not_found=False)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Send Debt Statement"),
            "res_model": "mail.compose.message",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {
                "default_model": "res.partner",
                "default_res_ids": partner.commercial_partner_id.ids,
                "default_composition_mode": "comment",
                "default_template_id": template.id if template else False,
                "force_email": True,
                # the template names env.company: the statement's company first
                "allowed_company_ids": company.ids + (self.env.companies - company).ids,
                "retail_statement_company_id": company.id,
                "retail_statement_date_from": fields.Date.to_string(date_from or default_from),
                "retail_statement_date_to": fields.Date.to_string(date_to or default_to),
            },
        }

    def action_export_xlsx(self):
        self.ensure_one()
        partner = self.partner_id.commercial_partner_id
        name = self.with_context(lang=partner.lang).env._(
            "Debt Statement %(customer)s %(date_from)s %(date_to)s",
            customer=partner.ref or partner.name,
            date_from=fields.Date.to_string(self.date_from),
            date_to=fields.Date.to_string(self.date_to),
        )
        self.write({
            "xlsx_file": base64.b64encode(self.env[STATEMENT_REPORT]._retail_statement_xlsx(
                partner, self.company_id, self.date_from, self.date_to)),
            "xlsx_filename": f"{name.replace('/', '-')}.xlsx",
        })
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/xlsx_file/"
                   f"{quote(self.xlsx_filename)}?download=true",
            "target": "download",
        }
