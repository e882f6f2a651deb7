import base64
import io
from collections import defaultdict
from urllib.parse import quote

import xlsxwriter

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL

# What a receivable journal item is on a statement, from the move it belongs to.
STATEMENT_KINDS = [
    ("invoice", "Invoice"),
    ("payment", "Payment"),
    ("refund", "Credit Note"),
    ("adjustment", "Adjustment"),
]


class RetailDebtStatement(models.TransientModel):
    """Sổ chi tiết công nợ: a customer's receivable journal items over a period, with the
    opening balance, a running balance and the closing balance, in company currency."""

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
        string="From", required=True, default=lambda self: self._retail_default_period()[0])
    date_to = fields.Date(
        string="To", required=True, default=lambda self: self._retail_default_period()[1])
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
            data = self._retail_statement_data(
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
    # The statement, from Odoo's posted receivable journal items
    # ------------------------------------------------------------------

    @api.model
    def _retail_default_period(self):
        """From the first day of this month to today."""
        today = fields.Date.context_today(self)
        return today.replace(day=1), today

    @api.model
    def _retail_statement_options(self, data=None):
        """Company and period of a statement printed or mailed outside the wizard: from the
        report data, else the context, else this month for the current company."""
        data = data or {}
        context = self.env.context
        default_from, default_to = self._retail_default_period()
        company_id = data.get("company_id") or context.get("retail_statement_company_id")
        company = self.env["res.company"].browse(company_id) if company_id else self.env.company
        date_from = fields.Date.to_date(
            data.get("date_from") or context.get("retail_statement_date_from")) or default_from
        date_to = fields.Date.to_date(
            data.get("date_to") or context.get("retail_statement_date_to")) or default_to
        return company, date_from, date_to

    @api.model
    def _retail_check_access(self, company, partners=None):
        """Statements are for accountants (the wizard's access rights), on their companies,
        of customers they may read. The queries below read journal items in SQL, past
        record rules: check first."""
        self.env["retail.debt.statement"].check_access("create")
        if not self.env.su and company not in self.env.user.company_ids:
            raise AccessError(self.env._(
                "You cannot see the statements of %(company)s.", company=company.name))
        if partners:
            # as this user, whatever environment the partners came with
            partners = partners.with_env(self.env)
            partners.check_access("read")
            partners.commercial_partner_id.check_access("read")

    @api.model
    def _retail_receivable_items(self, partner_ids, company, date_to):
        """SQL: the posted receivable journal items of these commercial partners (and their
        contacts) in one company, up to a date."""
        for model, fnames in {
            "account.move.line": ["parent_state", "account_id", "partner_id", "company_id",
                                  "date", "balance", "debit", "credit", "amount_currency",
                                  "currency_id", "date_maturity", "move_id", "name"],
            "account.move": ["name", "ref", "payment_reference", "move_type",
                             "origin_payment_id", "statement_line_id"],
            "account.account": ["account_type"],
            "res.partner": ["commercial_partner_id"],
        }.items():
            self.env[model].flush_model(fnames)
        return SQL(
            """
            SELECT line.id, line.date, line.move_id, line.balance, line.debit, line.credit,
                   line.amount_currency, line.currency_id, line.date_maturity, line.name,
                   partner.commercial_partner_id
              FROM account_move_line line
              JOIN account_account account ON account.id = line.account_id
              JOIN res_partner partner ON partner.id = line.partner_id
             WHERE line.parent_state = 'posted'
               AND account.account_type = 'asset_receivable'
               AND line.company_id = %(company_id)s
               AND partner.commercial_partner_id = ANY(%(partner_ids)s)
               AND line.date <= %(date_to)s
            """,
            company_id=company.id, partner_ids=list(partner_ids), date_to=date_to,
        )

    @api.model
    def _retail_statement_data(self, partner, company, date_from, date_to):
        """The statement of one customer (see _retail_statements_data)."""
        partner = partner.commercial_partner_id
        partner.ensure_one()
        return self._retail_statements_data(partner, company, date_from, date_to)[partner.id]

    @api.model
    def _retail_statements_data(self, partners, company, date_from, date_to):
        """The statements of customers, by commercial partner id, as plain values for the
        screen, the PDF, the spreadsheet: one query for all of them, the running balances
        from a window function."""
        self._retail_check_access(company, partners)
        partners = partners.commercial_partner_id
        currency = company.currency_id
        rows = self.env.execute_query_dict(SQL(
            """
            WITH items AS (%(items)s), statement AS (
                -- the opening balances, first: one row per customer with earlier items
                SELECT commercial_partner_id, 0 AS part, NULL::int AS id, NULL::date AS date,
                       NULL::int AS move_id, SUM(balance) AS balance, 0 AS debit,
                       0 AS credit, 0 AS amount_currency, NULL::int AS currency_id,
                       NULL::date AS date_maturity, NULL::varchar AS name
                  FROM items
                 WHERE date < %(date_from)s
                 GROUP BY commercial_partner_id
                UNION ALL
                SELECT commercial_partner_id, 1, id, date, move_id, balance, debit, credit,
                       amount_currency, currency_id, date_maturity, name
                  FROM items
                 WHERE date >= %(date_from)s
            )
            SELECT s.*, move.name AS move_name, move.ref, move.payment_reference,
                   CASE WHEN move.move_type IN ('out_invoice', 'out_receipt') THEN 'invoice'
                        WHEN move.move_type = 'out_refund' THEN 'refund'
                        WHEN move.origin_payment_id IS NOT NULL
                          OR move.statement_line_id IS NOT NULL THEN 'payment'
                        ELSE 'adjustment'
                   END AS kind,
                   SUM(s.balance) OVER (PARTITION BY s.commercial_partner_id
                                        ORDER BY s.part, s.date, move.name, s.id
                                        ROWS UNBOUNDED PRECEDING) AS running_balance
              FROM statement s
              LEFT JOIN account_move move ON move.id = s.move_id
             ORDER BY s.commercial_partner_id, s.part, s.date, move.name, s.id
            """,
            items=self._retail_receivable_items(partners.ids, company, date_to),
            date_from=date_from,
        ))
        currencies = self.env["res.currency"].browse({row["currency_id"] for row in rows})
        openings = {}
        lines_by_partner = defaultdict(list)
        for row in rows:
            if not row["part"]:
                openings[row["commercial_partner_id"]] = currency.round(float(row["balance"]))
                continue
            line_currency = currencies.browse(row["currency_id"])
            foreign = line_currency if line_currency and line_currency != currency else None
            extra_ref = next((ref for ref in (row["ref"], row["payment_reference"])
                              if ref and ref != row["move_name"]), "")
            lines_by_partner[row["commercial_partner_id"]].append({
                "id": row["id"],
                "date": row["date"],
                "move_id": row["move_id"],
                "move_name": row["move_name"],
                "reference": f"{row['move_name']} ({extra_ref})" if extra_ref else row["move_name"],
                "kind": row["kind"],
                # what an adjustment is can only be told by its label
                "label": row["name"] if row["kind"] == "adjustment" else "",
                "date_maturity": row["date_maturity"],
                "debit": currency.round(float(row["debit"])),
                "credit": currency.round(float(row["credit"])),
                "balance": currency.round(float(row["running_balance"])),
                "amount_currency": float(row["amount_currency"]) if foreign else 0.0,
                "currency": foreign or self.env["res.currency"],
            })
        statements = {}
        for partner in partners:
            opening_balance = openings.get(partner.id, 0.0)
            lines = lines_by_partner[partner.id]
            statements[partner.id] = {
                "partner": partner,
                "company": company,
                "currency": currency,
                "date_from": date_from,
                "date_to": date_to,
                "opening_balance": opening_balance,
                "total_debit": currency.round(sum(line["debit"] for line in lines)),
                "total_credit": currency.round(sum(line["credit"] for line in lines)),
                "closing_balance": lines[-1]["balance"] if lines else opening_balance,
                "has_foreign_currency": any(line["currency"] for line in lines),
                "lines": lines,
            }
        return statements

    @api.model
    def _retail_statement_activity(self, partners, company, date_from, date_to):
        """The commercial partners among these with something to state: items in the
        period or a balance at its end; one query for all of them."""
        self._retail_check_access(company, partners)
        commercial = partners.commercial_partner_id
        if not commercial:
            return commercial
        rows = self.env.execute_query(SQL(
            """
            SELECT items.commercial_partner_id, SUM(items.balance),
                   COUNT(*) FILTER (WHERE items.date >= %(date_from)s)
              FROM (%(items)s) items
             GROUP BY items.commercial_partner_id
            """,
            items=self._retail_receivable_items(commercial.ids, company, date_to),
            date_from=date_from,
        ))
        currency = company.currency_id
        return commercial.browse([
            partner_id for partner_id, balance, moves in rows
            if moves or not currency.is_zero(float(balance))
        ])

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
        self._retail_check_access(company, partner)
        default_from, default_to = self._retail_default_period()
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
            "xlsx_file": base64.b64encode(self._retail_statement_xlsx()),
            "xlsx_filename": f"{name.replace('/', '-')}.xlsx",
        })
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/xlsx_file/"
                   f"{quote(self.xlsx_filename)}?download=true",
            "target": "download",
        }

    def _retail_statement_xlsx(self):
        """The statement as a workbook, in the customer's language: numbers and dates as
        such, formatted with the company currency's decimals."""
        self.ensure_one()
        partner = self.partner_id.commercial_partner_id
        data = self._retail_statement_data(
            partner, self.company_id, self.date_from, self.date_to)
        env = self.with_context(lang=partner.lang or self.env.lang).env
        kinds = dict(env["retail.debt.statement.line"]._fields["kind"]._description_selection(env))
        currency = data["currency"]
        decimals = "." + "0" * currency.decimal_places if currency.decimal_places else ""

        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {"in_memory": True})
        sheet = workbook.add_worksheet(env._("Statement"))
        bold = workbook.add_format({"bold": True})
        title = workbook.add_format({"bold": True, "font_size": 14})
        header = workbook.add_format({"bold": True, "bg_color": "#D9D9D9", "border": 1})
        date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
        money = workbook.add_format({"num_format": f"#,##0{decimals}"})
        money_bold = workbook.add_format({"num_format": f"#,##0{decimals}", "bold": True})
        foreign_money = workbook.add_format({"num_format": "#,##0.00"})

        sheet.write(0, 0, env._("Debt Statement"), title)
        sheet.write(1, 0, data["company"].name, bold)
        for row, (label, value) in enumerate([
            (env._("Customer"), partner.name),
            (env._("Customer Code"), partner.ref or ""),
            (env._("Currency"), currency.name),
        ], start=3):
            sheet.write(row, 0, label, bold)
            sheet.write(row, 1, value)
        sheet.write(6, 0, env._("Period"), bold)
        sheet.write_datetime(6, 1, data["date_from"], date_format)
        sheet.write_datetime(6, 2, data["date_to"], date_format)

        columns = [env._("Date"), env._("Reference"), env._("Description"), env._("Due Date"),
                   env._("Debit"), env._("Credit"), env._("Balance")]
        if data["has_foreign_currency"]:
            columns += [env._("Amount in Currency"), env._("Currency")]
        sheet.write_row(8, 0, columns, header)
        sheet.write(9, 2, env._("Opening Balance"), bold)
        sheet.write_number(9, 6, data["opening_balance"], money_bold)
        row = 10
        for line in data["lines"]:
            sheet.write_datetime(row, 0, line["date"], date_format)
            sheet.write(row, 1, line["reference"])
            description = kinds[line["kind"]]
            sheet.write(row, 2, f"{description}: {line['label']}" if line["label"]
                        else description)
            if line["date_maturity"]:
                sheet.write_datetime(row, 3, line["date_maturity"], date_format)
            sheet.write_number(row, 4, line["debit"], money)
            sheet.write_number(row, 5, line["credit"], money)
            sheet.write_number(row, 6, line["balance"], money)
            if line["currency"]:
                sheet.write_number(row, 7, line["amount_currency"], foreign_money)
                sheet.write(row, 8, line["currency"].name)
            row += 1
        sheet.write(row, 2, env._("Total"), bold)
        sheet.write_number(row, 4, data["total_debit"], money_bold)
        sheet.write_number(row, 5, data["total_credit"], money_bold)
        sheet.write(row + 1, 2, env._("Closing Balance"), bold)
        sheet.write_number(row + 1, 6, data["closing_balance"], money_bold)
        sheet.set_column(0, 0, 12)
        sheet.set_column(1, 2, 32)
        sheet.set_column(3, 3, 12)
        sheet.set_column(4, 7, 16)
        workbook.close()
        return output.getvalue()
