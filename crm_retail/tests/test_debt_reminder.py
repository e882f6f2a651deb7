import json
import logging
from datetime import timedelta
from unittest.mock import patch

from psycopg2.errors import CheckViolation, UniqueViolation

from odoo import fields
from odoo.exceptions import AccessError, LockError, UserError, ValidationError
from odoo.tests import freeze_time, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.crm_retail.models.retail_debt_reminder import (
    LOCK_RETRIES,
    LOCK_RETRY_WAIT,
    LOCK_STALLED_RUNS,
    RUN_PARAM,
)

from .common import RetailCommon

TODAY = fields.Date.to_date("2026-03-31")
REMINDER_MODULE = "odoo.addons.crm_retail.models.retail_debt_reminder"


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDebtReminder(RetailCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Level = cls.env["retail.debt.reminder.level"]
        cls.Reminder = cls.env["retail.debt.reminder"]
        cls.accountant = new_test_user(
            cls.env, login="retail_accountant", groups="account.group_account_invoice",
        )
        cls.account_manager = new_test_user(
            cls.env, login="retail_account_manager", groups="account.group_account_manager",
        )
        cls.template_first = cls.env.ref("crm_retail.mail_template_debt_reminder_first")
        cls.template_second = cls.env.ref("crm_retail.mail_template_debt_reminder_second")
        cls.template_final = cls.env.ref("crm_retail.mail_template_debt_reminder_final")
        cls.level_7, cls.level_30, cls.level_60 = cls.Level.create([{
            "name": "First reminder", "days_overdue": 7,
            "mail_template_id": cls.template_first.id,
        }, {
            "name": "Second reminder", "days_overdue": 30,
            "mail_template_id": cls.template_second.id, "activity_salesperson": True,
        }, {
            "name": "Final notice", "days_overdue": 60,
            "mail_template_id": cls.template_final.id, "activity_salesperson": True,
            "activity_accountant": True, "accountant_id": cls.accountant.id,
            "activity_note": "<p>Agree on a payment plan.</p>",
        }])
        cls.customer.write({"email": "an.nguyen@example.com", "user_id": cls.salesman.id})
        cls.other = cls.Partner.create({"name": "Trần Thị Bình", "email": "binh@example.com"})

    def _overdue(self, partner, days_overdue, amount=1000000, company=None):
        """A posted invoice due that many days before today (negative: after)."""
        today = fields.Date.context_today(self.Level)
        due = today - timedelta(days=days_overdue)
        return self._sell(partner, amount, min(due, today), due=due, company=company)

    def _run_cron(self):
        """The cron as the scheduler runs it, its commits made no-ops."""
        with patch.object(type(self.env["ir.cron"]), "_commit_progress",
                          return_value=float("inf")) as progress:
            self.Reminder._cron_send_reminders()
        self.env.flush_all()
        return progress

    def _hold(self, partner, tries=None):
        """Another transaction holds the customer's row: its lock fails (the first
        ``tries`` times, None: always). Returns the patch and the customers tried, in
        order."""
        partner_class = type(self.env["res.partner"])
        lock = partner_class.lock_for_update
        tried = []

        def lock_or_fail(records, **kwargs):
            tried.append(records.id)
            if records.id == partner.id and (tries is None or tried.count(partner.id) <= tries):
                raise LockError("Cannot grab a lock on records")
            return lock(records, **kwargs)

        return patch.object(partner_class, "lock_for_update", lock_or_fail), tried

    def _break(self, template):
        """A template that no longer renders (edited in the database: the form would
        refuse it)."""
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE mail_template SET subject = %s WHERE id = %s",
            ['{"en_US": "{{ object.no_such_field }}"}', template.id])
        template.invalidate_recordset(["subject"])

    def _reminders(self, partner):
        return self.Reminder.search([("partner_id", "=", partner.id)], order="id")

    def assertReminded(self, partner, expected):
        """``expected``: [(level, invoices)], one log per level in creation order."""
        reminders = self._reminders(partner)
        self.assertEqual(
            [(reminder.level_id, reminder.move_ids) for reminder in reminders], expected)
        return reminders

    # ------------------------------------------------------------------
    # Levels and messages
    # ------------------------------------------------------------------

    def test_one_message_per_customer_at_the_highest_level(self):
        inv_10, inv_35, inv_70 = (self._overdue(self.customer, days) for days in (10, 35, 70))
        below_first_level = self._overdue(self.customer, 3)
        not_due = self._overdue(self.customer, -5)
        inv_other = self._overdue(self.other, 8)
        self._run_cron()

        reminders = self.assertReminded(self.customer, [
            (self.level_7, inv_10), (self.level_30, inv_35), (self.level_60, inv_70)])
        message = reminders.message_id
        self.assertEqual(len(message), 1, "one message lists all the invoices")
        self.assertTrue(all(reminders.mapped("emailed")))
        self.assertEqual(message.subject,
                         f"Final notice: overdue invoices at {self.env.company.name}")
        self.assertEqual(message.message_type, "comment")
        self.assertEqual(message.subtype_id, self.env.ref("mail.mt_comment"))
        self.assertEqual(message.model, "res.partner")
        self.assertEqual(message.res_id, self.customer.id)
        self.assertIn(self.customer, message.partner_ids)
        for invoice in inv_10 | inv_35 | inv_70 | below_first_level:
            self.assertIn(invoice.name, message.body, "every overdue invoice is listed")
        self.assertNotIn(not_due.name, message.body, "an invoice not yet due is not listed")
        for days in ("3", "10", "35", "70"):
            self.assertIn(f">{days}</td>", message.body)
        mails = self.env["mail.mail"].search([("mail_message_id", "=", message.id)])
        self.assertIn(self.customer, mails.recipient_ids)

        other = self.assertReminded(self.other, [(self.level_7, inv_other)])
        self.assertEqual(other.message_id.subject,
                         f"Reminder: overdue invoices at {self.env.company.name}")
        self.assertIn(inv_other.name, other.message_id.body)

    def test_due_reminders_are_found_set_based(self):
        self._overdue(self.customer, 10)
        self.env.flush_all()
        with self._record_queries() as one_customer:
            self.assertEqual(len(self.Reminder._reminders_due()), 1)
        for partner in self.Partner.create([{"name": f"Khách {i}"} for i in range(3)]):
            self._overdue(partner, 35)
        self.env.flush_all()
        with self._record_queries() as four_customers:
            self.assertEqual(len(self.Reminder._reminders_due()), 4)
        self.assertEqual(len(four_customers), len(one_customer))

    def test_overdue_invoices_listed_with_residual(self):
        inv_10 = self._overdue(self.customer, 10, amount=500000)
        inv_40 = self._overdue(self.customer, 40, amount=1200000)
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=inv_40.ids,
        ).create({"amount": 200000, "payment_date": TODAY})._create_payments()
        invoices = self.customer._retail_overdue_invoices()
        self.assertEqual([(i["move"], i["days_overdue"], i["residual"]) for i in invoices],
                         [(inv_40, 40, 1000000), (inv_10, 10, 500000)])
        self.assertEqual(invoices[0]["date_due"], TODAY - timedelta(days=40))

    def test_running_twice_sends_nothing_twice(self):
        self._overdue(self.customer, 10)
        self._overdue(self.customer, 70)
        self._run_cron()
        messages = self.customer.message_ids
        reminders = self._reminders(self.customer)
        self.assertEqual(len(reminders), 2)
        self._run_cron()
        with freeze_time(TODAY + timedelta(days=1)):
            self._run_cron()
        self.assertEqual(self._reminders(self.customer), reminders)
        self.assertEqual(self.customer.message_ids, messages)

    def test_next_level_and_new_invoice_later(self):
        first = self._overdue(self.customer, 10)
        self._run_cron()
        self.assertReminded(self.customer, [(self.level_7, first)])

        with freeze_time(TODAY + timedelta(days=5)):
            # A new invoice 8 days overdue: reminded at the first level, alone; the
            # message still lists every overdue invoice.
            second = self._overdue(self.customer, 8)
            self._run_cron()
        reminders = self.assertReminded(
            self.customer, [(self.level_7, first), (self.level_7, second)])
        self.assertIn(first.name, reminders[1].message_id.body)
        self.assertIn(second.name, reminders[1].message_id.body)

        with freeze_time(TODAY + timedelta(days=21)):
            # The first invoice is now 31 days overdue: the second level, for it only.
            self._run_cron()
        reminders = self.assertReminded(self.customer, [
            (self.level_7, first), (self.level_7, second), (self.level_30, first)])
        self.assertEqual(reminders[2].message_id.subject,
                         f"Second reminder: overdue invoices at {self.env.company.name}")

    def test_invoice_first_seen_at_a_high_level_skips_the_lower_ones(self):
        invoice = self._overdue(self.customer, 65)
        self._run_cron()
        self.assertReminded(self.customer, [(self.level_60, invoice)])
        with freeze_time(TODAY + timedelta(days=40)):
            self._run_cron()
        self.assertReminded(self.customer, [(self.level_60, invoice)])

    def test_paid_invoice_not_reminded(self):
        paid = self._overdue(self.customer, 10)
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=paid.ids,
        ).create({"payment_date": TODAY})._create_payments()
        credited = self._overdue(self.other, 20)
        credited._reverse_moves(cancel=True)
        self._run_cron()
        self.assertFalse(self._reminders(self.customer))
        self.assertFalse(self._reminders(self.other))

    def test_do_not_remind(self):
        invoice = self._overdue(self.customer, 10)
        self.customer.retail_no_reminder = True
        self._run_cron()
        self.assertFalse(self._reminders(self.customer))
        self.customer.retail_no_reminder = False
        self._run_cron()
        self.assertReminded(self.customer, [(self.level_7, invoice)])

    def test_contact_invoiced_reminds_the_company(self):
        company = self.Partner.create({"name": "Công ty Hoa Sen", "is_company": True,
                                       "email": "ketoan@hoasen.example.com"})
        contact = self.Partner.create({"name": "Lê Văn Cường", "parent_id": company.id})
        invoice = self._overdue(contact, 10)
        self._run_cron()
        self.assertReminded(company, [(self.level_7, invoice)])
        self.assertFalse(self._reminders(contact))

    def test_archived_level_not_sent(self):
        invoice = self._overdue(self.customer, 35)
        self.level_30.active = False
        self._run_cron()
        self.assertReminded(self.customer, [(self.level_7, invoice)])

    def test_customer_without_email(self):
        self.customer.email = False
        self.other.email = "not an address"
        invoice = self._overdue(self.customer, 35)
        invoice_other = self._overdue(self.other, 8)
        self._run_cron()
        for partner, level, move in ((self.customer, self.level_30, invoice),
                                     (self.other, self.level_7, invoice_other)):
            reminder = self.assertReminded(partner, [(level, move)])
            self.assertFalse(reminder.emailed)
            self.assertEqual(reminder.message_id.subtype_id, self.env.ref("mail.mt_note"))
            self.assertIn(move.name, reminder.message_id.body)
            self.assertFalse(reminder.message_id.partner_ids)
            self.assertFalse(self.env["mail.mail"].search(
                [("mail_message_id", "=", reminder.message_id.id)]))
        self.assertEqual(self.customer.activity_ids.user_id, self.salesman,
                         "the activity is scheduled even without an email")

    # ------------------------------------------------------------------
    # Failures do not stop the run nor resend the others
    # ------------------------------------------------------------------

    def test_failing_customer_does_not_stop_the_others(self):
        failing = self._overdue(self.customer, 35)
        fine = self._overdue(self.other, 35)
        partner_class = type(self.env["res.partner"])
        post = partner_class.message_post_with_source
        customer = self.customer

        def post_or_fail(partner, *args, **kwargs):
            if partner == customer:
                raise ValueError("invalid address")
            return post(partner, *args, **kwargs)

        with patch.object(partner_class, "message_post_with_source", post_or_fail), \
                mute_logger(REMINDER_MODULE):
            self._run_cron()
        self.assertFalse(self._reminders(self.customer))
        self.assertFalse(self.customer.activity_ids, "nothing half done")
        self.assertIn("invalid address", self.customer.message_ids[0].body)
        self.assertReminded(self.other, [(self.level_30, fine)])

        # Retried on the next run; the other customer gets nothing again.
        self._run_cron()
        self.assertReminded(self.customer, [(self.level_30, failing)])
        self.assertReminded(self.other, [(self.level_30, fine)])
        self.assertEqual(len(self.customer.activity_ids), 1)

    def test_broken_template_fails_its_customers_only(self):
        self._break(self.template_first)
        first = self._overdue(self.customer, 10)
        second = self._overdue(self.other, 35)
        with mute_logger(REMINDER_MODULE):
            progress = self._run_cron()
        self.assertFalse(self._reminders(self.customer))
        self.assertReminded(self.other, [(self.level_30, second)])
        # Every customer counts as processed: the run is not retried at once forever.
        self.assertEqual(progress.call_args_list[0].kwargs, {"remaining": 2})
        self.assertEqual(progress.call_count, 3)

        self.template_first.subject = "Reminder"
        self._run_cron()
        self.assertReminded(self.customer, [(self.level_7, first)])

    def test_cron_stops_when_out_of_time(self):
        self._overdue(self.customer, 10)
        self._overdue(self.other, 10)
        with patch.object(type(self.env["ir.cron"]), "_commit_progress", return_value=0.0):
            self.Reminder._cron_send_reminders()
        self.assertEqual(len(self.Reminder.search([])), 1, "the rest waits for the next run")
        self._run_cron()
        self.assertEqual(len(self.Reminder.search([])), 2)

    # ------------------------------------------------------------------
    # Customers held by another transaction (an invoice being posted)
    # ------------------------------------------------------------------

    def test_held_customer_tried_again_after_the_others(self):
        held_invoice = self._overdue(self.customer, 10)
        other_invoice = self._overdue(self.other, 35)
        hold, tried = self._hold(self.customer, tries=1)
        with hold, patch(f"{REMINDER_MODULE}.time") as clock:
            progress = self._run_cron()
        self.assertEqual(tried.count(self.customer.id), 2)
        self.assertGreater(len(tried) - 1 - tried[::-1].index(self.customer.id),
                           tried.index(self.other.id), "tried again after the others")
        clock.sleep.assert_called_once_with(LOCK_RETRY_WAIT)
        self.assertReminded(self.customer, [(self.level_7, held_invoice)])
        self.assertReminded(self.other, [(self.level_30, other_invoice)])
        # Both done: no work left for another call.
        self.assertEqual(progress.call_args_list[0].kwargs, {"remaining": 2})
        self.assertEqual(sorted(c.args for c in progress.call_args_list[1:]), [(), (1,), (1,)])
        self.assertFalse(self.env["ir.config_parameter"].get_param(RUN_PARAM))

    def test_customer_held_throughout_is_left_for_the_next_call(self):
        held_invoice = self._overdue(self.customer, 10)
        failing = self.Partner.create({"name": "Lê Thị Hỏng", "email": "hong@example.com"})
        self._overdue(failing, 10)
        self._overdue(self.other, 35)
        self._break(self.template_first)
        ICP = self.env["ir.config_parameter"]

        hold, tried = self._hold(self.customer)
        with hold, patch(f"{REMINDER_MODULE}.time") as clock, \
                self.assertLogs(REMINDER_MODULE, logging.INFO) as logs:
            progress = self._run_cron()
        self.assertEqual(tried.count(self.customer.id), 1 + LOCK_RETRIES)
        self.assertEqual(clock.sleep.call_count, LOCK_RETRIES)
        self.assertEqual(progress.call_args_list[-1].kwargs, {"remaining": 1},
                         "the scheduler calls the cron again for the customer left")
        self.assertIn("1 customers left for the next call (1 held", logs.output[-1])
        self.assertFalse(self._reminders(self.customer))
        self.assertFalse(self._reminders(failing))
        failure_notes = failing.message_ids
        self.assertEqual(len(self._reminders(self.other)), 1)

        # The next calls of the day go on with the held customer only: the failed one
        # is not tried (nor noted) again, the one reminded is no longer due.
        for stalled in range(1, LOCK_STALLED_RUNS + 1):
            tried.clear()
            with hold, patch(f"{REMINDER_MODULE}.time"), mute_logger(REMINDER_MODULE):
                progress = self._run_cron()
            self.assertEqual(set(tried), {self.customer.id})
            self.assertEqual(progress.call_args_list[-1].kwargs, {"remaining": 1})
            self.assertEqual(json.loads(ICP.get_param(RUN_PARAM))["stalled"], stalled)
        self.assertEqual(failing.message_ids, failure_notes)
        self.assertEqual(len(self._reminders(self.other)), 1)

        # Held through that many calls sending nothing: left for tomorrow's run.
        with hold, patch(f"{REMINDER_MODULE}.time"), \
                self.assertLogs(REMINDER_MODULE, "WARNING") as logs:
            progress = self._run_cron()
        self.assertEqual(progress.call_args_list[-1].kwargs, {"remaining": 0})
        self.assertIn("1 customers still held by another transaction", logs.output[0])
        self.assertFalse(ICP.get_param(RUN_PARAM))

        # Tomorrow: a run of its own, the customer free again and the failed one retried.
        self.template_first.subject = "Reminder"
        with freeze_time(TODAY + timedelta(days=1)):
            self._run_cron()
        self.assertReminded(self.customer, [(self.level_7, held_invoice)])
        self.assertEqual(len(self._reminders(failing)), 1)

    def test_send_now_on_a_held_customer(self):
        self._overdue(self.customer, 10)
        hold, _tried = self._hold(self.customer)
        with hold:
            result = self.Reminder.with_user(self.accountant)._action_send_now(self.customer)
        self.assertEqual(result["params"]["type"], "warning")
        self.assertIn("another operation is updating them", result["params"]["message"])
        self.assertFalse(self._reminders(self.customer))

    # ------------------------------------------------------------------
    # Activities
    # ------------------------------------------------------------------

    def test_activities_for_salesperson_and_accountant(self):
        self._overdue(self.customer, 10)
        self._run_cron()
        self.assertFalse(self.customer.activity_ids, "the first level schedules nothing")

        self._overdue(self.other, 70)
        with freeze_time(TODAY + timedelta(days=25)):
            self._run_cron()
        activity = self.customer.activity_ids
        self.assertRecordValues(activity, [{
            "user_id": self.salesman.id,
            "summary": "Debt reminder: Second reminder",
            "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
        }])
        # No salesperson: only the accountant's activity.
        self.assertRecordValues(self.other.activity_ids, [{
            "user_id": self.accountant.id, "summary": "Debt reminder: Final notice",
        }])
        self.assertIn("payment plan", str(self.other.activity_ids.note))

    def test_same_user_gets_one_activity(self):
        self.customer.user_id = self.accountant
        self._overdue(self.customer, 70)
        self._run_cron()
        self.assertEqual(self.customer.activity_ids.user_id, self.accountant)
        self.assertEqual(len(self.customer.activity_ids), 1)

    # ------------------------------------------------------------------
    # Companies
    # ------------------------------------------------------------------

    def test_other_company_levels_and_invoices(self):
        company_2 = self.setup_other_company()["company"]
        level_15 = self.Level.create({
            "name": "Nhắc nợ", "days_overdue": 15, "company_id": company_2.id,
            "mail_template_id": self.template_second.id,
        })
        here = self._overdue(self.customer, 10, amount=1100000)
        there = self._overdue(self.customer, 20, amount=2200000, company=company_2)
        not_yet_there = self._overdue(self.other, 10, company=company_2)
        self._run_cron()
        reminders = self.assertReminded(self.customer, [(self.level_7, here), (level_15, there)])
        self.assertEqual(reminders.company_id, self.env.company | company_2)
        # Both companies number their invoices alike: the amounts tell them apart.
        self.assertIn("1,100,000", reminders[0].message_id.body)
        self.assertNotIn("2,200,000", reminders[0].message_id.body)
        self.assertIn("2,200,000", reminders[1].message_id.body)
        self.assertNotIn("1,100,000", reminders[1].message_id.body)
        self.assertIn(company_2.name, reminders[1].message_id.subject)
        self.assertFalse(self._reminders(self.other), "company 2 has no 7-day level")
        self.assertTrue(not_yet_there)

        # A user of the first company only sees its levels and reminders.
        self.accountant.company_ids = self.env.company
        self.assertEqual(
            self.Reminder.with_user(self.accountant).search([]), reminders[0])
        self.assertNotIn(level_15, self.Level.with_user(self.accountant).search([]))

    # ------------------------------------------------------------------
    # Sending from the customer
    # ------------------------------------------------------------------

    def test_send_now_button(self):
        invoice = self._overdue(self.customer, 35)
        action = self.env.ref("crm_retail.action_server_retail_send_debt_reminder")
        result = action.with_user(self.accountant).with_context(
            active_model="res.partner", active_id=self.customer.id,
            active_ids=self.customer.ids,
        ).run()
        self.assertEqual(result["params"]["type"], "success")
        reminder = self.assertReminded(self.customer, [(self.level_30, invoice)])
        self.assertEqual(reminder.user_id, self.accountant)
        self.assertEqual(reminder.message_id.author_id, self.accountant.partner_id)

        # Nothing due any more, for the button as for the cron.
        result = self.Reminder.with_user(self.accountant)._action_send_now(self.customer)
        self.assertEqual(result["params"]["type"], "warning")
        self._run_cron()
        self.assertEqual(self._reminders(self.customer), reminder)

    def test_send_now_from_a_contact(self):
        contact = self.Partner.create({"name": "Con", "parent_id": self.customer.id})
        invoice = self._overdue(self.customer, 10)
        self.Reminder.with_user(self.accountant)._action_send_now(contact)
        self.assertReminded(self.customer, [(self.level_7, invoice)])

    def test_send_now_reports_a_failure(self):
        self._break(self.template_first)
        self._overdue(self.customer, 10)
        with mute_logger(REMINDER_MODULE):
            result = self.Reminder.with_user(self.accountant)._action_send_now(self.customer)
        self.assertEqual(result["params"]["type"], "danger")
        self.assertFalse(self._reminders(self.customer))

    # ------------------------------------------------------------------
    # Configuration and roles
    # ------------------------------------------------------------------

    def test_level_constraints(self):
        with self.assertRaises(ValidationError):
            self.Level.create({"name": "No accountant", "days_overdue": 90,
                               "mail_template_id": self.template_final.id,
                               "activity_accountant": True})
        with self.assertRaises(CheckViolation), mute_logger("odoo.sql_db"):
            self.Level.create({"name": "Zero", "days_overdue": 0,
                               "mail_template_id": self.template_first.id})
        with self.assertRaises(UniqueViolation), mute_logger("odoo.sql_db"):
            self.Level.create({"name": "Again", "days_overdue": 7,
                               "mail_template_id": self.template_first.id})

    def test_roles(self):
        # Salespeople neither configure levels nor send reminders.
        with self.assertRaises(AccessError):
            self.level_7.with_user(self.salesman).name = "Renamed"
        with self.assertRaises(AccessError):
            self.Level.with_user(self.salesman).search([])
        with self.assertRaises(AccessError):
            self.Reminder.with_user(self.salesman)._action_send_now(self.customer)
        with self.assertRaises(AccessError):
            self.env.ref("crm_retail.action_server_retail_send_debt_reminder").with_user(
                self.salesman).with_context(active_model="res.partner",
                                            active_ids=self.customer.ids).run()
        # Accounting users read them; accounting managers configure them.
        self.assertEqual(self.Level.with_user(self.accountant).search([]),
                         self.level_7 | self.level_30 | self.level_60)
        with self.assertRaises(AccessError):
            self.level_7.with_user(self.accountant).days_overdue = 5
        self.level_7.with_user(self.account_manager).days_overdue = 5
        self.Level.with_user(self.account_manager).create({
            "name": "Ninety", "days_overdue": 90, "mail_template_id": self.template_final.id})
        # Nobody writes the log by hand.
        self._overdue(self.customer, 10)
        self._run_cron()
        reminder = self._reminders(self.customer)
        with self.assertRaises(AccessError):
            reminder.with_user(self.account_manager).level_days = 1
        with self.assertRaises(AccessError):
            reminder.with_user(self.account_manager).unlink()
        with self.assertRaises(UserError):
            self.Reminder.with_user(self.account_manager).create({
                "partner_id": self.customer.id, "company_id": self.env.company.id,
                "level_days": 7})
