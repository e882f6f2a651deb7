import unicodedata
from unittest.mock import patch

from freezegun import freeze_time
from psycopg2.errors import CheckViolation

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import RetailCommon

BIRTHDAY = "Happy birthday"
THANK_YOU = "Thank you for your purchase"


class CustomerCareCommon(RetailCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.write({
            "email": "shop@example.com",
            "retail_birthday_greeting": True,
            "retail_birthday_points": 0,
            "retail_thank_you_mail": False,
            "retail_followup_days": 0,
        })
        cls.Care = cls.env["retail.customer.care"]

    @classmethod
    def _customer(cls, name, birthday=False, email=True, **vals):
        if email is True:
            ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
            email = f"{ascii_name.replace(' ', '.').lower()}@example.com"
        return cls.Partner.create({"name": name, "retail_birthday": birthday, "email": email,
                                   **vals})

    def _run(self, cron, day):
        # Noon UTC: the same day in Vietnam, the company's country.
        with freeze_time(f"{day} 12:00:00"), self._cron_progress() as progress:
            getattr(self.Care, cron)()
        return progress

    def _mails(self, partners, subject=""):
        """Mails queued to these customers whose subject starts so."""
        return self.env["mail.mail"].search([
            ("model", "=", "res.partner"), ("res_id", "in", partners.ids),
            ("subject", "=like", f"{subject}%"),
        ])

    def assertMailed(self, partner, subject, count):
        mails = self._mails(partner, subject)
        self.assertEqual(len(mails), count, f"{count} mail(s) to {partner.name}")
        return mails


@tagged("post_install", "-at_install")
class TestBirthdayGreetings(CustomerCareCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.born_today = cls._customer("Trần Thị Bình", "1990-05-20")
        cls.born_tomorrow = cls._customer("Lê Văn Cường", "1990-05-21")
        cls.born_leap_day = cls._customer("Phạm Thị Dung", "2000-02-29")

    def _greet(self, day):
        return self._run("_cron_birthday_greetings", day)

    def test_birthday_today_greeted_once_a_year(self):
        progress = self._greet("2025-05-20")
        mail = self.assertMailed(self.born_today, BIRTHDAY, 1)
        self.assertMailed(self.born_tomorrow, BIRTHDAY, 0)
        self.assertEqual(mail.subject, "Happy birthday, Trần Thị Bình!")
        self.assertIn("Everyone at", str(mail.body_html))
        self.assertIn(self.company.name, str(mail.body_html))
        self.assertEqual(mail.email_from, self.company.email_formatted)
        self.assertEqual(mail.recipient_ids, self.born_today)
        self.assertEqual(mail.state, "outgoing", "queued, not sent inside the cron")
        # Kept in the customer's chatter.
        self.assertIn(mail.mail_message_id, self.born_today.message_ids)
        self.assertEqual(mail.author_id, self.company.partner_id)
        self.assertEqual(self.born_today.retail_birthday_greeted_year, 2025)
        self.assertFalse(self.born_tomorrow.retail_birthday_greeted_year)
        # Progress: the day's count, then the batch done.
        self.assertEqual(progress.call_args_list[0].kwargs, {"remaining": 1})
        self.assertEqual(progress.call_args_list[1].args, (1,))

        # A second run the same day, or later that year, sends nothing.
        self._greet("2025-05-20")
        self.born_today.retail_birthday = "1990-05-22"
        self._greet("2025-05-22")
        self.assertMailed(self.born_today, BIRTHDAY, 1)
        # Next year, again.
        self.born_today.retail_birthday = "1990-05-20"
        self._greet("2026-05-20")
        self.assertMailed(self.born_today, BIRTHDAY, 2)
        self.assertEqual(self.born_today.retail_birthday_greeted_year, 2026)

    def test_day_of_the_shop_timezone(self):
        self.company.partner_id.tz = False
        self.env.user.tz = "UTC"
        # 01:00 on 20 May in Vietnam, the company's country, is still 19 May in UTC.
        with freeze_time("2025-05-19 18:00:00"), self._cron_progress():
            self.Care._cron_birthday_greetings()
        self.assertMailed(self.born_today, BIRTHDAY, 1)
        self.assertMailed(self.born_tomorrow, BIRTHDAY, 0)

    def test_leap_day_birthday(self):
        # Not a leap year: greeted on 28 February, and not again on 1 March.
        self._greet("2023-02-28")
        self.assertMailed(self.born_leap_day, BIRTHDAY, 1)
        self._greet("2023-03-01")
        self.assertMailed(self.born_leap_day, BIRTHDAY, 1)
        # A leap year: on the day itself, not the day before.
        self._greet("2024-02-28")
        self.assertMailed(self.born_leap_day, BIRTHDAY, 1)
        self._greet("2024-02-29")
        self.assertMailed(self.born_leap_day, BIRTHDAY, 2)
        # Born on 28 February: greeted on the 28th in both kinds of year, once.
        self.born_today.retail_birthday = "1990-02-28"
        self._greet("2025-02-28")
        self.assertMailed(self.born_today, BIRTHDAY, 1)
        self.assertMailed(self.born_leap_day, BIRTHDAY, 3)

    def test_toggle_off_sends_nothing(self):
        self.company.retail_birthday_greeting = False
        self._greet("2025-05-20")
        self.assertMailed(self.born_today, BIRTHDAY, 0)
        self.assertFalse(self.born_today.retail_birthday_greeted_year)

    def test_bonus_points_recorded_once(self):
        self.company.retail_birthday_points = 50
        self._greet("2025-05-20")
        self._greet("2025-05-20")
        lines = self.env["retail.points.line"].search([("partner_id", "=", self.born_today.id)])
        self.assertRecordValues(lines, [{
            "points_earned": 50, "company_id": self.company.id, "balance_after": 50,
            "earned_on": fields.Date.to_date("2025-05-20"),
        }])
        self.assertEqual(self.born_today.retail_loyalty_points, 50)
        self.assertIn("added 50 points", str(self._mails(self.born_today, BIRTHDAY).body_html))
        self.assertFalse(self.born_tomorrow.retail_loyalty_points_line_ids)

    def test_no_points_without_setting(self):
        self._greet("2025-05-20")
        self.assertFalse(self.born_today.retail_loyalty_points_line_ids)
        self.assertNotIn("points", str(self._mails(self.born_today, BIRTHDAY).body_html))

    def test_customers_not_greeted(self):
        no_email = self._customer("Không Email", "1985-05-20", email=False)
        bad_email = self._customer("Sai Email", "1985-05-20", email="not an email")
        archived = self._customer("Đã Lưu Trữ", "1985-05-20", active=False)
        contact = self._customer("Người Liên Hệ", "1985-05-20", parent_id=self.customer.id)
        blacklisted = self._customer("Từ Chối", "1985-05-20")
        self.env["mail.blacklist"].create({"email": blacklisted.email})
        with freeze_time("2025-05-20 12:00:00"):
            newborn = self._customer("Mới Sinh", "2025-05-20")
        self._greet("2025-05-20")
        for partner in (no_email, bad_email, archived, contact, blacklisted, newborn):
            self.assertMailed(partner, BIRTHDAY, 0)
            self.assertFalse(partner.retail_birthday_greeted_year, partner.name)
        self.assertMailed(self.born_today, BIRTHDAY, 1)

    def test_other_company_customers(self):
        other = self.env["res.company"].create({"name": "Cửa hàng khác"})
        theirs = self._customer("Khách Công Ty Khác", "1990-05-20", company_id=other.id)
        shared = self._customer("Khách Chung", "1990-05-20", company_id=False)
        self._greet("2025-05-20")
        # The other company has greetings off: its customers get nothing from this one.
        self.assertMailed(theirs, BIRTHDAY, 0)
        self.assertMailed(shared, BIRTHDAY, 1)
        # Once it turns them on, its own customer is greeted; the shared one not twice.
        other.retail_birthday_greeting = True
        self._greet("2025-05-20")
        mail = self.assertMailed(theirs, BIRTHDAY, 1)
        self.assertIn("Cửa hàng khác", str(mail.body_html))
        self.assertMailed(shared, BIRTHDAY, 1)

    def test_greeting_in_customer_language(self):
        self.env["res.lang"]._activate_lang("vi_VN")
        template = self.env.ref("crm_retail.mail_template_birthday")
        template.with_context(lang="vi_VN").subject = "Chúc mừng sinh nhật {{ object.name }}!"
        self.born_today.lang = "vi_VN"
        english = self._customer("John Smith", "1990-05-20", lang="en_US")
        self._greet("2025-05-20")
        self.assertEqual(self._mails(self.born_today).subject,
                         "Chúc mừng sinh nhật Trần Thị Bình!")
        self.assertEqual(self._mails(english).subject, "Happy birthday, John Smith!")

    def test_stops_when_time_is_up_and_resumes(self):
        other = self._customer("Đỗ Văn Giang", "1990-05-20")
        with (
            patch("odoo.addons.crm_retail.models.retail_customer_care.BATCH_SIZE", 1),
            freeze_time("2025-05-20 12:00:00"),
        ):
            with self._cron_progress() as progress:
                progress.return_value = 0  # no time left after the first batch
                self.Care._cron_birthday_greetings()
            self.assertEqual(len(self._mails(self.born_today | other, BIRTHDAY)), 1)
            with self._cron_progress():
                self.Care._cron_birthday_greetings()
        self.assertMailed(self.born_today, BIRTHDAY, 1)
        self.assertMailed(other, BIRTHDAY, 1)

    def test_query_count_does_not_grow_with_customers(self):
        self.company.retail_birthday_points = 10

        def queries(day, count):
            self.Partner.create([{
                "name": f"Khách {day} {index}", "email": f"k{index}.{day}@example.com",
                "retail_birthday": f"1990-{day}",
            } for index in range(count)])
            self.env.flush_all()
            self.env.invalidate_all()
            with (freeze_time(f"2025-{day} 12:00:00"), self._cron_progress(),
                  self._record_queries() as recorded):
                self.Care._cron_birthday_greetings()
                self.env.flush_all()
            return len(recorded)

        queries("07-01", 2)  # warms the caches
        self.assertEqual(queries("07-02", 2), queries("07-03", 12))

    def test_settings_by_role(self):
        care_settings = {
            "retail_birthday_greeting": False, "retail_birthday_points": 1000,
            "retail_thank_you_mail": True, "retail_followup_days": 5,
        }
        for user in (self.salesman, self.sales_manager):
            with self.assertRaises(AccessError):
                self.env["res.config.settings"].with_user(user).create(care_settings)
            with self.assertRaises(AccessError):
                self.company.with_user(user).write(care_settings)
        self.assertRecordValues(self.company, [{
            "retail_birthday_greeting": True, "retail_birthday_points": 0,
            "retail_thank_you_mail": False, "retail_followup_days": 0,
        }])
        # The administrator sets them in Settings, for the current company.
        self.env["res.config.settings"].create(care_settings).execute()
        self.assertRecordValues(self.company, [care_settings])
        for negative in ({"retail_birthday_points": -1}, {"retail_followup_days": -1}):
            with mute_logger("odoo.sql_db"), self.assertRaises(CheckViolation), \
                    self.env.cr.savepoint():
                self.company.write(negative)
                self.env.flush_all()


@tagged("post_install", "-at_install")
class TestFirstPurchaseCare(CustomerCareCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"retail_thank_you_mail": True, "retail_followup_days": 3})
        cls.buyer = cls._customer("Hoàng Văn Em", user_id=cls.salesman.id)

    def _care(self, day):
        return self._run("_cron_first_purchase_care", day)

    def _activities(self, partner):
        return self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", partner.id)])

    def test_thank_you_once(self):
        with freeze_time("2025-06-10 12:00:00"):
            self._sell(self.buyer, 500000, date="2025-06-10")
        self._care("2025-06-10")
        mail = self.assertMailed(self.buyer, THANK_YOU, 1)
        self.assertEqual(mail.subject, "Thank you for your purchase, Hoàng Văn Em")
        self.assertIn(mail.mail_message_id, self.buyer.message_ids)
        self.assertEqual(self.buyer.retail_thank_you_date, fields.Date.to_date("2025-06-10"))
        # Again the same day, the next day, or after a second purchase: nothing more.
        self._care("2025-06-10")
        with freeze_time("2025-06-11 12:00:00"):
            self._sell(self.buyer, 100000, date="2025-06-11")
        self._care("2025-06-11")
        self.assertMailed(self.buyer, THANK_YOU, 1)

    def test_thank_you_for_yesterday_purchase(self):
        with freeze_time("2025-06-10 20:00:00"):
            self._sell(self.buyer, 500000, date="2025-06-10")
        self._care("2025-06-11")
        self.assertMailed(self.buyer, THANK_YOU, 1)

    def test_no_thank_you(self):
        old_customer = self._customer("Khách Cũ")
        no_email = self._customer("Không Email", email=False)
        with freeze_time("2025-06-10 12:00:00"):
            self._sell(old_customer, 100000, date="2025-03-01")
            self._sell(old_customer, 100000, date="2025-06-10")
            self._sell(no_email, 100000, date="2025-06-10")
            # Posted late: a first purchase more than a day old is not thanked.
            late = self._customer("Hóa Đơn Muộn")
            self._sell(late, 100000, date="2025-06-01")
            draft = self._customer("Nháp")
            self._sell(draft, 100000, date="2025-06-10", post=False)
        self._care("2025-06-10")
        for partner in (old_customer, no_email, late, draft):
            self.assertMailed(partner, THANK_YOU, 0)
            self.assertFalse(partner.retail_thank_you_date)

    def test_thank_you_off(self):
        self.company.retail_thank_you_mail = False
        with freeze_time("2025-06-10 12:00:00"):
            self._sell(self.buyer, 500000, date="2025-06-10")
        self._care("2025-06-10")
        self.assertMailed(self.buyer, THANK_YOU, 0)

    def test_reversed_invoice_is_no_first_purchase(self):
        with freeze_time("2025-06-10 12:00:00"):
            invoice = self._sell(self.buyer, 500000, date="2025-06-01")
            invoice._reverse_moves(cancel=True)
            self._sell(self.buyer, 200000, date="2025-06-10")
        self._care("2025-06-10")
        self.assertMailed(self.buyer, THANK_YOU, 1)

    def test_follow_up_activity_for_salesperson(self):
        self.company.retail_thank_you_mail = False
        walk_in = self._customer("Khách Vãng Lai")
        with freeze_time("2025-06-10 12:00:00"):
            self._sell(self.buyer, 500000, date="2025-06-10")
            invoice = self._sell(walk_in, 300000, date="2025-06-10", post=False)
            invoice.invoice_user_id = self.cashier
            invoice.action_post()
        self._care("2025-06-12")
        self.assertFalse(self._activities(self.buyer), "not due yet")
        self._care("2025-06-13")
        activity = self._activities(self.buyer)
        self.assertRecordValues(activity, [{
            "user_id": self.salesman.id,
            "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
            "date_deadline": fields.Date.to_date("2025-06-13"),
            "summary": "Follow up after the first purchase",
        }])
        # No salesperson on the customer: the invoice's.
        self.assertEqual(self._activities(walk_in).user_id, self.cashier)
        self.assertEqual(self.buyer.retail_followup_date, fields.Date.to_date("2025-06-13"))
        # Once only, even run again or the day after.
        self._care("2025-06-13")
        self._care("2025-06-14")
        self.assertEqual(len(self._activities(self.buyer)), 1)
        self.assertMailed(self.buyer, THANK_YOU, 0)

    def test_follow_up_catches_up_a_missed_day(self):
        with freeze_time("2025-06-10 12:00:00"):
            self._sell(self.buyer, 500000, date="2025-06-10")
        self._care("2025-06-14")
        self.assertEqual(len(self._activities(self.buyer)), 1)

    def test_follow_up_off(self):
        self.company.retail_followup_days = 0
        with freeze_time("2025-06-10 12:00:00"):
            self._sell(self.buyer, 500000, date="2025-06-10")
        self._care("2025-06-13")
        self.assertFalse(self._activities(self.buyer))
