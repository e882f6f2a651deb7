import calendar
from datetime import date, timedelta
from functools import partial

import pytz

from odoo import api, fields, models
from odoo.tools import SQL, format_date, split_every

# Customers per transaction: a batch's mails, points and marks are committed together.
BATCH_SIZE = 500
# A first purchase is thanked the day it is invoiced or the next day: the daily run may
# come before the invoice is posted.
THANK_YOU_DAYS = 1


class RetailCustomerCare(models.AbstractModel):
    """Customer care through Odoo mail (chăm sóc khách hàng): the daily birthday
    greeting, the thank-you and the salesperson's follow-up after a first purchase.

    Each run selects its customers per company in one query, marks them on the partner
    so that nothing is sent twice (running it again the same day sends nothing), and
    commits batch by batch through the cron progress API."""

    _name = "retail.customer.care"
    _description = "Retail Customer Care"

    @api.model
    def _today(self, company):
        """The shop's day, not the server's (00:30 in Hà Nội is still yesterday in UTC):
        in the timezone of the company's address, else of its country (Vietnam has one),
        else of the cron's user."""
        zones = pytz.country_timezones.get(company.country_id.code or "") or [None]
        tz = company.partner_id.tz or zones[0]
        return fields.Date.context_today(self.with_context(tz=tz))

    @api.model
    def _in_batches(self, items, process):
        """Call ``process`` on batches of ``items`` (customer ids, or rows starting with
        one) whose customers it could lock, committing each with the cron's progress
        (:meth:`~.retail_customer_facts.RetailCustomerFacts._run_in_locked_batches`).
        False when some are skipped or the cron's time is up: the scheduler calls the cron
        again, and its query selects what is left."""
        def customer(item):
            return item if isinstance(item, int) else item[0]

        def process_locked(batch):
            def work(locked):
                locked = set(locked)
                process([item for item in batch if customer(item) in locked])
            return work

        return self.env["retail.customer.facts"]._run_in_locked_batches([
            ([customer(item) for item in batch], process_locked(batch))
            for batch in split_every(BATCH_SIZE, items)
        ])

    @api.model
    def _send(self, partners, template_xmlid, company):
        """Mail the template to the customers in one batch, each in its language:
        queued, not sent inside the transaction, and kept in each customer's chatter."""
        template = self.env.ref(template_xmlid)
        partners.message_mail_with_source(
            template,
            # Signed by the shop, not by the cron's user; an author alone would
            # replace the template's sender, so it is given too.
            author_id=company.partner_id.id,
            email_from=template.email_from,
            force_send=False,
        )

    # ------------------------------------------------------------------
    # Birthday greetings
    # ------------------------------------------------------------------

    @api.model
    def _cron_birthday_greetings(self):
        """Daily: greet, in their language, the customers whose birthday it is (those
        born on 29 February on 28 February of other years), once a year, with the
        company's birthday points."""
        care = self.sudo()
        for company in care.env["res.company"].search([("retail_birthday_greeting", "=", True)]):
            care_company = care.with_company(company)
            today = care_company._today(company)
            partner_ids = care_company._birthday_partner_ids(company, today)
            greet = partial(care_company._greet_birthdays, company=company, today=today)
            if not care_company._in_batches(partner_ids, greet):
                return

    @api.model
    def _birthday_partner_ids(self, company, today):
        """Customers of the company (or shared) to greet today, in one query: active
        commercial partners with a usable, not blacklisted email, not greeted this year."""
        days = [today.day]
        if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
            days.append(29)
        self.env["res.partner"].flush_model([
            "active", "commercial_partner_id", "company_id", "email_normalized", "retail_birthday",
            "retail_birthday_greeted_year",
        ])
        self.env["mail.blacklist"].flush_model(["email", "active"])
        self.env.cr.execute(SQL(
            """
            SELECT p.id
              FROM res_partner p
             WHERE p.active
               AND p.id = p.commercial_partner_id
               AND (p.company_id = %(company)s OR p.company_id IS NULL)
               AND p.email_normalized IS NOT NULL
               AND EXTRACT(MONTH FROM p.retail_birthday) = %(month)s
               AND EXTRACT(DAY FROM p.retail_birthday) IN %(days)s
               AND p.retail_birthday < %(year_start)s
               AND (p.retail_birthday_greeted_year IS NULL
                    OR p.retail_birthday_greeted_year < %(year)s)
               AND NOT EXISTS (
                   SELECT 1 FROM mail_blacklist bl
                    WHERE bl.email = p.email_normalized AND bl.active)
             ORDER BY p.id
            """,
            company=company.id,
            month=today.month,
            days=tuple(days),
            # Not on the day they were born.
            year_start=date(today.year, 1, 1),
            year=today.year,
        ))
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _greet_birthdays(self, partner_ids, company, today):
        partners = self.env["res.partner"].browse(partner_ids)
        self._send(partners, "crm_retail.mail_template_birthday", company)
        if company.retail_birthday_points > 0:
            self.env["retail.points.line"]._record([{
                "partner_id": partner.id,
                "company_id": company.id,
                "line_type": "adjustment",
                "points_earned": company.retail_birthday_points,
                "earned_on": today,
                "description": self.env._("Birthday bonus %(year)s", year=today.year),
                "user_id": self.env.user.id,
            } for partner in partners])
        partners.write({"retail_birthday_greeted_year": today.year})

    # ------------------------------------------------------------------
    # After the first purchase: thank-you mail, follow-up activity
    # ------------------------------------------------------------------

    @api.model
    def _cron_first_purchase_care(self):
        """Daily: thank the customers whose first purchase from the company was
        invoiced today or yesterday, and give their salesperson a follow-up activity
        the company's number of days after it. Each at most once per customer."""
        care = self.sudo()
        for company in care.env["res.company"].search(
                ["|", ("retail_thank_you_mail", "=", True), ("retail_followup_days", ">", 0)]):
            care_company = care.with_company(company)
            today = care_company._today(company)
            if company.retail_thank_you_mail:
                rows = care_company._first_purchases(
                    company, today - timedelta(days=THANK_YOU_DAYS), today,
                    "retail_thank_you_date", with_email=True)
                thank = partial(care_company._send_thank_you, company=company, today=today)
                if not care_company._in_batches(rows, thank):
                    return
            if company.retail_followup_days > 0:
                # Due today; yesterday's too, should a daily run have been missed.
                due = today - timedelta(days=company.retail_followup_days)
                rows = care_company._first_purchases(
                    company, due - timedelta(days=1), due, "retail_followup_date")
                follow_up = partial(care_company._schedule_followups, today=today)
                if not care_company._in_batches(rows, follow_up):
                    return

    @api.model
    def _first_purchases(self, company, date_from, date_to, mark_field, with_email=False):
        """Customers whose first purchase from the company (a posted customer invoice
        not cancelled by a credit note) is dated between the two dates and that are
        not marked yet, in one query: rows of (partner id, invoice id, invoice date,
        user), the user being the customer's salesperson, else the invoice's, else the
        invoice's creator."""
        facts = self.env["retail.sql.facts"]
        facts._sales_flush()
        self.env["account.move"].flush_model(["invoice_user_id", "create_uid"])
        self.env["res.partner"].flush_model(
            ["active", "email_normalized", "user_id", mark_field])
        self.env["mail.blacklist"].flush_model(["email", "active"])
        email_filter = SQL(
            """
            AND p.email_normalized IS NOT NULL
            AND NOT EXISTS (
                SELECT 1 FROM mail_blacklist bl
                 WHERE bl.email = p.email_normalized AND bl.active)
            """
        ) if with_email else SQL()
        # The customers who bought in the period; of their purchases, the first.
        buyers = SQL(
            "SELECT partner_id FROM (%s) purchase WHERE purchase.date BETWEEN %s AND %s",
            facts._purchases(company_ids=company.ids), date_from, date_to)
        self.env.cr.execute(SQL(
            """
            SELECT p.id, first.move_id, first.date,
                   COALESCE(p.user_id, m.invoice_user_id, m.create_uid)
              FROM (
                SELECT DISTINCT ON (partner_id) partner_id, move_id, date
                  FROM (%(purchases)s) purchase
                 ORDER BY partner_id, date, move_id
              ) first
              JOIN res_partner p ON p.id = first.partner_id
              LEFT JOIN account_move m ON m.id = first.move_id
             WHERE first.date BETWEEN %(date_from)s AND %(date_to)s
               AND p.active AND p.%(mark)s IS NULL %(email_filter)s
             ORDER BY p.id
            """,
            purchases=facts._purchases(buyers, company.ids),
            date_from=date_from,
            date_to=date_to,
            mark=SQL.identifier(mark_field),
            email_filter=email_filter,
        ))
        return self.env.cr.fetchall()

    @api.model
    def _send_thank_you(self, rows, company, today):
        partners = self.env["res.partner"].browse(row[0] for row in rows)
        self._send(partners, "crm_retail.mail_template_thank_you", company)
        partners.write({"retail_thank_you_date": today})

    @api.model
    def _schedule_followups(self, rows, today):
        # Read together: the notes name each invoice.
        names = {invoice.id: invoice.name
                 for invoice in self.env["account.move"].browse(row[1] for row in rows)}
        model_id = self.env["ir.model"]._get_id("res.partner")
        todo = self.env.ref("mail.mail_activity_data_todo")
        self.env["mail.activity"].create([{
            "res_model_id": model_id,
            "res_id": partner_id,
            "activity_type_id": todo.id,
            "user_id": user_id,
            "date_deadline": today,
            "summary": self.env._("Follow up after the first purchase"),
            "note": self.env._(
                "First purchase on %(date)s (%(invoice)s): ask the customer how it went.",
                date=format_date(self.env, invoice_date),
                invoice=names[invoice_id],
            ),
        } for partner_id, invoice_id, invoice_date, user_id in rows])
        self.env["res.partner"].browse(row[0] for row in rows).write(
            {"retail_followup_date": today})
