import io
from collections import defaultdict

import xlsxwriter

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL, format_date


class ReportRetailDebtStatement(models.AbstractModel):
    """Sổ chi tiết công nợ: a customer's posted receivable journal items over a period, with
    the opening balance, a running balance and the closing balance, in company currency.

    The statement engine: the screen (retail.debt.statement), the PDF, the spreadsheet and
    the mails all read it from here. Outside the wizard, the period and company come from
    the report data, else from the context (mail templates), else this month."""

    _name = "report.crm_retail.report_debt_statement"
    _description = "Debt Statement Report"

    @api.model
    def _get_report_values(self, docids, data=None):
        company, date_from, date_to = self._retail_statement_options(data)
        # Printed from the wizard, the customers come in the data (see action_print_pdf).
        docids = docids or (data or {}).get("partner_ids") or []
        partners = self.env["res.partner"].browse(docids).exists()
        statements = self._retail_statements_data(partners, company, date_from, date_to)
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

    # ------------------------------------------------------------------
    # Period, company and rights
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

    # ------------------------------------------------------------------
    # The statement, from Odoo's posted receivable journal items
    # ------------------------------------------------------------------

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
    # Renderings: the PDF's place and date, the spreadsheet
    # ------------------------------------------------------------------

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

    @api.model
    def _retail_statement_xlsx(self, partner, company, date_from, date_to):
        """The statement of a customer as a workbook (bytes), in the customer's language:
        numbers and dates as such, formatted with the company currency's decimals."""
        partner = partner.commercial_partner_id
        data = self._retail_statement_data(partner, company, date_from, date_to)
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
