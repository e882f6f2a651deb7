import base64
import io
from unittest.mock import patch

import openpyxl

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import freeze_time, tagged
from odoo.tools.translate import code_translations

from .common import RetailCommon

TODAY = "2026-03-31"
FEBRUARY = ("2026-02-01", "2026-02-28")


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDebtStatement(RetailCommon):
    """A customer's receivable items, hand-computed (company currency, USD here):

    before February: invoice 1,000 (01-10), payment 400 (01-20)     -> opening 600
    February:  02-03 invoice of a contact   2,000   running 2,600
               02-10 partial payment          500   running 2,100
               02-12 credit note              300   running 1,800
               02-15 payment 250, reset to draft and cancelled: not on the statement
               02-18 invoice EUR 100 @ 0.5    200   running 2,000
               02-20 unapplied payment        100   running 1,900
               02-22 that payment reversed    100   running 2,000   -> closing 2,000
    excluded:  02-05 invoice 9,999 in another company, 02-25 draft invoice 777
    after:     03-05 invoice 500                                     -> today 2,500
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.customer.email = "an.nguyen@example.com"
        cls.contact = cls.Partner.create({"name": "Trần Thị Bình", "parent_id": cls.customer.id})
        cls.eur = cls.setup_other_currency("EUR", rates=[("2026-01-01", 0.5)])
        cls.company_2 = cls.setup_other_company(name="Cửa hàng Hai")["company"]

        cls.invoice_1 = cls._sell(cls.customer, 1000, "2026-01-10", due="2026-01-10")
        cls._pay(cls.invoice_1, 400, "2026-01-20")
        cls.invoice_2 = cls._sell(cls.contact, 2000, "2026-02-03", due="2026-03-05")
        cls.payment_2 = cls._pay(cls.invoice_2, 500, "2026-02-10")
        cls.credit_note = cls._sell(cls.customer, 300, "2026-02-12", due="2026-02-12",
                                    move_type="out_refund")
        cancelled = cls._pay(cls.invoice_1, 250, "2026-02-15")
        cancelled.action_draft()
        cancelled.action_cancel()
        cls.invoice_eur = cls._sell(cls.customer, 100, "2026-02-18", due="2026-02-18",
                                    currency=cls.eur)
        cls.unapplied = cls.env["account.payment"].create({
            "amount": 100, "date": "2026-02-20", "payment_type": "inbound",
            "partner_type": "customer", "partner_id": cls.customer.id,
        })
        cls.unapplied.action_post()
        cls.reversal = cls.unapplied.move_id._reverse_moves(
            [{"date": "2026-02-22"}], cancel=True)
        cls._sell(cls.customer, 9999, "2026-02-05", due="2026-02-05", company=cls.company_2)
        cls._sell(cls.customer, 777, "2026-02-25", due="2026-02-25", post=False)
        cls._sell(cls.customer, 500, "2026-03-05", due="2026-03-05")

    @classmethod
    def _pay(cls, invoice, amount, date):
        return cls.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids,
        ).create({"amount": amount, "payment_date": date})._create_payments()

    def _statement(self, date_from, date_to, partner=None, company=None, user=None):
        Statement = self.env["retail.debt.statement"]
        if user:
            Statement = Statement.with_user(user)
        return Statement.create({
            "partner_id": (partner or self.customer).id,
            "company_id": (company or self.company).id,
            "date_from": date_from,
            "date_to": date_to,
        })

    def _open_receivable_residual(self, company):
        return sum(self.env["account.move.line"].search([
            ("partner_id.commercial_partner_id", "=", self.customer.id),
            ("account_id.account_type", "=", "asset_receivable"),
            ("parent_state", "=", "posted"),
            ("company_id", "=", company.id),
        ]).mapped("amount_residual"))

    # ------------------------------------------------------------------
    # Figures
    # ------------------------------------------------------------------

    def test_february_statement(self):
        statement = self._statement(*FEBRUARY)
        self.assertRecordValues(statement, [{
            "opening_balance": 600.0,
            "total_debit": 2300.0,
            "total_credit": 900.0,
            "closing_balance": 2000.0,
            "has_foreign_currency": True,
        }])
        no_currency = self.env["res.currency"]
        self.assertRecordValues(statement.line_ids, [
            {"date": fields.Date.to_date("2026-02-03"), "kind": "invoice",
             "move_id": self.invoice_2.id, "debit": 2000.0, "credit": 0.0, "balance": 2600.0,
             "date_maturity": fields.Date.to_date("2026-03-05"),
             "line_currency_id": no_currency.id, "amount_currency": 0.0},
            {"date": fields.Date.to_date("2026-02-10"), "kind": "payment",
             "move_id": self.payment_2.move_id.id, "debit": 0.0, "credit": 500.0,
             "balance": 2100.0, "date_maturity": fields.Date.to_date("2026-02-10"),
             "line_currency_id": no_currency.id, "amount_currency": 0.0},
            {"date": fields.Date.to_date("2026-02-12"), "kind": "refund",
             "move_id": self.credit_note.id, "debit": 0.0, "credit": 300.0, "balance": 1800.0,
             "date_maturity": fields.Date.to_date("2026-02-12"),
             "line_currency_id": no_currency.id, "amount_currency": 0.0},
            {"date": fields.Date.to_date("2026-02-18"), "kind": "invoice",
             "move_id": self.invoice_eur.id, "debit": 200.0, "credit": 0.0, "balance": 2000.0,
             "date_maturity": fields.Date.to_date("2026-02-18"),
             "line_currency_id": self.eur.id, "amount_currency": 100.0},
            {"date": fields.Date.to_date("2026-02-20"), "kind": "payment",
             "move_id": self.unapplied.move_id.id, "debit": 0.0, "credit": 100.0,
             "balance": 1900.0, "date_maturity": fields.Date.to_date("2026-02-20"),
             "line_currency_id": no_currency.id, "amount_currency": 0.0},
            {"date": fields.Date.to_date("2026-02-22"), "kind": "adjustment",
             "move_id": self.reversal.id, "debit": 100.0, "credit": 0.0, "balance": 2000.0,
             "date_maturity": fields.Date.to_date("2026-02-20"),  # the reversed item's
             "line_currency_id": no_currency.id, "amount_currency": 0.0},
        ])
        self.assertEqual(statement.line_ids[0].reference, self.invoice_2.name)
        # a payment: its entry's number, then its memo
        self.assertTrue(statement.line_ids[1].reference.startswith(self.payment_2.move_id.name))

    def test_closing_balance_is_the_debt(self):
        statement = self._statement("2026-03-01", TODAY)
        self.assertEqual(statement.opening_balance, 2000.0)
        self.assertEqual(statement.closing_balance, 2500.0)
        self.assertEqual(statement.closing_balance,
                         self._open_receivable_residual(self.company))
        self.env.cr.flush()  # the debt figures are refreshed when the transaction flushes
        self.customer.invalidate_recordset()
        self.assertEqual(statement.closing_balance,
                         self.customer.with_company(self.company).retail_debt_amount)

        # the other company's statement holds only its own invoice
        other = self._statement(*FEBRUARY, company=self.company_2)
        self.assertRecordValues(other, [{
            "opening_balance": 0.0, "total_debit": 9999.0, "closing_balance": 9999.0}])
        self.assertEqual(other.closing_balance,
                         self.customer.with_company(self.company_2).retail_debt_amount)

    def test_consecutive_periods_join_up(self):
        january = self._statement("2026-01-01", "2026-01-31")
        february = self._statement(*FEBRUARY)
        march = self._statement("2026-03-01", TODAY)
        self.assertEqual(january.opening_balance, 0.0)
        self.assertEqual(january.closing_balance, february.opening_balance)
        self.assertEqual(february.closing_balance, march.opening_balance)
        for statement in january + february + march:
            self.assertAlmostEqual(
                statement.closing_balance,
                statement.opening_balance + statement.total_debit - statement.total_credit)

    def test_defaults_contact_and_empty_statement(self):
        statement = self.env["retail.debt.statement"].with_context(
            default_partner_id=self.contact.id).create({})
        self.assertRecordValues(statement, [{
            "partner_id": self.customer.id,
            "company_id": self.company.id,
            "date_from": fields.Date.to_date("2026-03-01"),
            "date_to": fields.Date.to_date(TODAY),
            "closing_balance": 2500.0,
        }])
        stranger = self.Partner.create({"name": "Khách lạ"})
        empty = self._statement(*FEBRUARY, partner=stranger)
        self.assertRecordValues(empty, [{
            "opening_balance": 0.0, "closing_balance": 0.0, "line_ids": []}])
        with self.assertRaises(ValidationError):
            self._statement("2026-03-01", "2026-02-01")

    def test_one_query_for_many_customers(self):
        other = self.Partner.create({"name": "Khách thứ hai"})
        self._sell(other, 50, "2026-01-15", due="2026-01-15")
        self._sell(other, 70, "2026-02-15", due="2026-02-15")
        partners = self.contact + other + self.Partner.create({"name": "Khách lạ"})
        report = self.env["report.crm_retail.report_debt_statement"]
        self.env.flush_all()
        with self._record_queries() as queries:
            statements = report._retail_statements_data(
                partners, self.company, *map(fields.Date.to_date, FEBRUARY))
        self.assertEqual(len([q for q in queries if "account_move_line" in q]), 1)
        self.assertEqual(set(statements), set(partners.commercial_partner_id.ids))
        # running balances do not run across customers
        self.assertEqual([line["balance"] for line in statements[other.id]["lines"]], [120.0])
        self.assertEqual(statements[other.id]["opening_balance"], 50.0)
        self.assertEqual(statements[self.customer.id]["closing_balance"], 2000.0)

    # ------------------------------------------------------------------
    # PDF, spreadsheet
    # ------------------------------------------------------------------

    def test_xlsx(self):
        statement = self._statement(*FEBRUARY)
        action = statement.action_export_xlsx()
        self.assertIn(f"/web/content/retail.debt.statement/{statement.id}/xlsx_file/",
                      action["url"])
        self.assertTrue(statement.xlsx_filename.endswith(".xlsx"))
        book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(statement.xlsx_file)))
        rows = list(book.active.iter_rows(values_only=True))
        by_label = {row[2]: row for row in rows if row[2]}
        self.assertEqual(by_label["Opening Balance"][6], 600)
        self.assertEqual(by_label["Total"][4:6], (2300, 900))
        self.assertEqual(by_label["Closing Balance"][6], 2000)
        items = rows[rows.index(by_label["Opening Balance"]) + 1:rows.index(by_label["Total"])]
        self.assertEqual([row[6] for row in items], [2600, 2100, 1800, 2000, 1900, 2000])
        self.assertEqual(sum(row[4] or 0 for row in items), 2300)
        self.assertEqual(sum(row[5] or 0 for row in items), 900)
        self.assertEqual(items[3][7:9], (100, "EUR"))
        self.assertEqual(items[0][0].date(), fields.Date.to_date("2026-02-03"))
        self.assertEqual(items[5][2], f"Adjustment: {self.reversal.line_ids[0].name}")

    def test_report_html_in_customer_language(self):
        data = {"company_id": self.company.id, "date_from": FEBRUARY[0], "date_to": FEBRUARY[1]}
        report = self.env["ir.actions.report"]
        html = report._render_qweb_html(
            "crm_retail.action_report_debt_statement", self.customer.ids, data=data)[0]
        html = html.decode()
        for text in ("Debt Statement", "Opening Balance", "Closing Balance", self.invoice_2.name,
                     "Customer confirmation", "02/01/2026", "Credit Note"):
            self.assertIn(text, html)
        self.assertNotIn("9,999", html)
        # dates follow the customer's language, not the user's
        self.env["res.lang"]._activate_lang("vi_VN")
        self.customer.lang = "vi_VN"
        html = report._render_qweb_html(
            "crm_retail.action_report_debt_statement", self.customer.ids, data=data)[0]
        self.assertIn("01/02/2026", html.decode())

    def test_report_place_date_and_signature_hints(self):
        """Above the signatures "<city>, <date>" in the statement's language ("Hà Nội, ngày
        31 tháng 03 năm 2026" in Vietnamese); under them what each side writes."""
        self.company.city = "Hà Nội"
        data = {"company_id": self.company.id, "date_from": FEBRUARY[0], "date_to": FEBRUARY[1]}
        report = self.env["ir.actions.report"]

        def render():
            return report._render_qweb_html(
                "crm_retail.action_report_debt_statement", self.customer.ids, data=data,
            )[0].decode()

        html = render()
        self.assertIn("Hà Nội, 03/31/2026", html)
        # a person signs, the shop signs and stamps
        self.assertIn("(Sign and write full name)", html)
        self.assertIn("(Sign, write full name and stamp)", html)
        self.assertLess(html.index("Hà Nội, 03/31/2026"), html.index("Customer confirmation"))
        self.customer.is_company = True
        self.assertEqual(render().count("(Sign, write full name and stamp)"), 2)

        # Vietnamese words the line with the day, month and year (the vi.po translation)
        self.env["res.lang"]._activate_lang("vi_VN")
        self.customer.lang = "vi_VN"
        vietnamese = {
            "%(city)s, %(date)s": "%(city)s, ngày %(day)s tháng %(month)s năm %(year)s",
            "Date: %(date)s": "Ngày %(day)s tháng %(month)s năm %(year)s",
        }
        get_translations = code_translations.get_python_translations

        def python_translations(module, lang):
            translations = get_translations(module, lang)
            return {**translations, **vietnamese} if lang == "vi_VN" else translations

        with patch.object(code_translations, "get_python_translations", python_translations):
            self.assertIn("Hà Nội, ngày 31 tháng 03 năm 2026", render())
            self.company.city = False
            self.assertIn("Ngày 31 tháng 03 năm 2026", render())

    def test_report_pdf(self):
        pdf, report_type = self.env["ir.actions.report"].with_context(
            force_report_rendering=True,
            retail_statement_date_from=FEBRUARY[0], retail_statement_date_to=FEBRUARY[1],
        )._render_qweb_pdf("crm_retail.action_report_debt_statement", self.customer.ids)
        self.assertEqual(report_type, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))

    # ------------------------------------------------------------------
    # Email
    # ------------------------------------------------------------------

    def _comments(self, partner):
        return self.env["mail.message"].search([
            ("model", "=", "res.partner"), ("res_id", "=", partner.id),
            ("message_type", "=", "comment"),
        ])

    def test_send_from_wizard_through_composer(self):
        # the statement goes to the customer alone, not to its salesperson too
        self.customer.user_id = self.salesman
        action = self._statement(*FEBRUARY).action_send_email()
        self.assertEqual(action["res_model"], "mail.compose.message")
        composer = self.env["mail.compose.message"].with_context(**action["context"]).create({})
        self.assertEqual(composer.template_id,
                         self.env.ref("crm_retail.mail_template_debt_statement"))
        self.assertEqual(composer.partner_ids, self.customer)
        # (an HTML file while tests run: Odoo renders PDFs only when forced)
        self.assertEqual(len(composer.attachment_ids), 1)
        self.assertTrue(composer.attachment_ids.name.startswith(
            f"Debt Statement - {self.customer.name}."))
        composer.action_send_mail()
        message = self._comments(self.customer)
        self.assertEqual(len(message), 1)
        self.assertIn("Debt Statement", message.subject)
        self.assertIn("02/01/2026", message.body)
        self.assertEqual(len(message.attachment_ids), 1)
        self.assertTrue(self.env["mail.mail"].search([("mail_message_id", "=", message.id)]))

    def test_send_in_bulk(self):
        no_email = self.Partner.create({"name": "Không email"})
        opted_out = self.Partner.create({
            "name": "Không nhận", "email": "khong@example.com", "retail_no_statement": True})
        quiet = self.Partner.create({"name": "Không nợ", "email": "quiet@example.com"})
        for partner in no_email + opted_out + quiet:
            invoice = self._sell(partner, 100, "2026-01-05", due="2026-01-05")
        self._pay(invoice, 100, "2026-01-06")  # the quiet one owes nothing
        selected = self.customer + self.contact + no_email + opted_out + quiet
        wizard = self.env["retail.debt.statement.send"].with_context(
            active_model="res.partner", active_ids=selected.ids,
        ).create({"date_from": FEBRUARY[0], "date_to": FEBRUARY[1]})
        # the contact stands for its company
        self.assertEqual(wizard.partner_ids, self.customer + no_email + opted_out + quiet)
        self.assertEqual(wizard.send_partner_ids, self.customer)
        self.assertEqual(wizard.no_email_partner_ids, no_email)
        self.assertEqual(wizard.opted_out_partner_ids, opted_out)
        self.assertEqual(wizard.inactive_count, 1)
        result = wizard.action_send()
        self.assertEqual(result["params"]["type"], "success")
        message = self._comments(self.customer)
        self.assertEqual(len(message), 1)
        self.assertEqual(message.partner_ids, self.customer)
        self.assertEqual(len(message.attachment_ids), 1)
        for partner in no_email + opted_out + quiet:
            self.assertFalse(self._comments(partner))
        # with everything: the quiet customer too
        wizard.only_active = False
        self.assertEqual(wizard.send_partner_ids, self.customer + quiet)

    # ------------------------------------------------------------------
    # Access
    # ------------------------------------------------------------------

    def test_access(self):
        # the cashier is an invoicing user: statements allowed
        statement = self._statement(*FEBRUARY, user=self.cashier)
        self.assertEqual(statement.closing_balance, 2000.0)
        # not in the other company
        with self.assertRaises(AccessError):
            self._statement(
                *FEBRUARY, company=self.company_2, user=self.cashier).flush_recordset()
        # salespeople without accounting rights: no wizard, no PDF, no composer, no bulk
        with self.assertRaises(AccessError):
            self._statement(*FEBRUARY, user=self.salesman)
        with self.assertRaises(AccessError):
            self.env["ir.actions.report"].with_user(self.salesman)._render_qweb_html(
                "crm_retail.action_report_debt_statement", self.customer.ids)
        with self.assertRaises(AccessError):
            self.env["retail.debt.statement"].with_user(
                self.salesman)._retail_mail_composer_action(self.customer)
        with self.assertRaises(AccessError):
            self.env["retail.debt.statement.send"].with_user(self.salesman).create({
                "partner_ids": self.customer.ids})
        # nor do they see the statement actions on customers
        names = {"Debt Statement", "Send Debt Statement", "Send Debt Statements"}
        for user, visible in ((self.salesman, set()), (self.cashier, names)):
            bindings = self.env["ir.actions.actions"].with_user(user).get_bindings(
                "res.partner")
            found = {action["name"] for actions in bindings.values() for action in actions}
            self.assertEqual(found & names, visible)
