from datetime import date, datetime

from markupsafe import Markup

from odoo.exceptions import UserError, ValidationError
from odoo.tests import TransactionCase, new_test_user, tagged

from ..models.retail_input_check import INT_MAX, INT_MIN, check_field_values


@tagged("post_install", "-at_install")
class TestInputCheck(TransactionCase):
    """Values sent over the API are checked against their field's type before the ORM
    converts them: a clear error naming the field, and nothing saved."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Partner = cls.env["res.partner"].with_context(tracking_disable=True)
        cls.Tier = cls.env["retail.tier"]
        cls.customer = cls.Partner.create(
            {"name": "Trần Thị Bình", "retail_birthday": "1990-12-31", "retail_gender": "female"})

    def assertChecks(self, model, fname, good, bad):
        label = model._fields[fname]._description_string(self.env)
        for value in good:
            with self.subTest(field=fname, value=value):
                check_field_values(model, {fname: value})
        for value in bad:
            with self.subTest(field=fname, value=value):
                with self.assertRaises(ValidationError) as caught:
                    check_field_values(model, {fname: value})
                self.assertIn(label, str(caught.exception))

    def test_each_type(self):
        nan, inf = float("nan"), float("inf")
        self.assertChecks(
            self.Partner, "retail_birthday",
            [False, None, "", "1990-12-31", date(1990, 12, 31), datetime(1990, 12, 31, 8)],
            ["31/12/1990", "1990-02-30", "19900101", 19900101, "yesterday", True,
             ["1990-12-31"]])
        self.assertChecks(
            self.env["retail.segment"], "last_recompute",
            ["2026-01-31 14:30:00", "2026-01-31", datetime(2026, 1, 31, 14, 30),
             date(2026, 1, 31)],
            ["2026-01-31 25:00:00", "now", 1769869800, date.today])
        self.assertChecks(
            self.Partner, "retail_gender", ["male", "other", ""],
            ["unknown", "Nam", "Male", 1, True, ["male"]])
        self.assertChecks(
            self.Tier, "sequence", [0, -3, 7.0, INT_MAX, INT_MIN],
            [INT_MAX + 1, INT_MIN - 1, 10**40, "10", True, nan, inf, [1]])
        self.assertChecks(
            self.Tier, "threshold", [0, 1.5, 10**20], ["many", "1.5", True, nan, -inf, {}])
        self.assertChecks(
            self.env["res.company"], "retail_point_value", [1000, 1000.5], ["1000", True])
        self.assertChecks(
            self.Tier, "company_id", [self.env.company.id, self.env.company],
            ["1", 0, -1, True, INT_MAX + 1, 1.0, [1], self.env.user,
             self.env["res.company"].browse([1, 2])])
        self.assertChecks(self.Tier, "name", ["Vàng", ""], [12, ["Vàng"], True])
        self.assertChecks(
            self.env["retail.debt.reminder.level"], "activity_note",
            ["<p>Gọi khách</p>", Markup("<p>Gọi khách</p>")], [5, {"vi_VN": "x"}])
        self.assertChecks(self.Tier, "active", [True, 0, 1], ["false", "yes", 2, 1.0])

    def test_only_the_fields_asked(self):
        check_field_values(self.Partner, {"retail_gender": "robot", "no_such_field": object()},
                           field_names=("retail_birthday",))
        with self.assertRaisesRegex(ValidationError, "male, female, other"):
            check_field_values(self.Partner, {"retail_gender": "robot"},
                               field_names=("retail_gender",))

    def test_refused_and_nothing_saved(self):
        count = self.Partner.search_count([])
        for vals in ({"retail_birthday": "31/12/1990"}, {"retail_gender": "unknown"},
                     {"retail_referrer_id": "KH000001"}, {"retail_no_reminder": "no"}):
            with self.subTest(vals=vals), self.assertRaises(ValidationError):
                self.Partner.create({"name": "Khách sai", **vals})
            with self.subTest(vals=vals, write=True), self.assertRaises(ValidationError):
                self.customer.write(vals)
        self.assertEqual(self.Partner.search_count([]), count)
        self.assertRecordValues(self.customer, [{
            "retail_birthday": date(1990, 12,
                                    31), "retail_gender": "female", "retail_referrer_id": False,
            "retail_no_reminder": False}])

        with self.assertRaisesRegex(ValidationError, "YYYY-MM-DD"):
            self.env["retail.debt.aging.wizard"].create({"date": "yesterday"})
        with self.assertRaisesRegex(ValidationError, "YYYY-MM-DD"):
            self.env["retail.debt.statement"].create({
                "partner_id": self.customer.id, "date_from": "last month",
                "date_to": "2026-03-31"})
        with self.assertRaisesRegex(ValidationError, "whole number"):
            self.env["retail.debt.reminder.level"].create({
                "name": "Sai", "days_overdue": "thirty",
                "mail_template_id": self.env.ref(
                    "crm_retail.mail_template_debt_reminder_first").id})
        with self.assertRaisesRegex(ValidationError, "enter a number"):
            self.Tier.create({"name": "Sai", "threshold": "many"})
        with self.assertRaisesRegex(ValidationError, "not a valid filter"):
            self.env["retail.segment"].create({"name": "Sai", "domain": "[('id', '=', 1/0)]"})
        company = self.env.company
        base = company.retail_points_base
        with self.assertRaisesRegex(ValidationError, "total, untaxed"):
            company.write({"retail_points_base": "bogus"})
        self.assertEqual(company.retail_points_base, base)
        # Odoo's own company fields keep Odoo's conversion.
        company.write({"sequence": "7"})
        self.assertEqual(company.sequence, 7)

    def test_adjust_points_archived_customer(self):
        manager = new_test_user(
            self.env, login="input_check_manager", groups="sales_team.group_sale_manager")
        customer = self.customer.with_user(manager)
        customer.retail_adjust_points(10, "Số dư đầu kỳ")
        lines = self.env["retail.points.line"].search_count([("partner_id", "=", customer.id)])
        self.customer.action_archive()
        with self.assertRaisesRegex(UserError, "archived"):
            customer.retail_adjust_points(5, "Quà")
        self.assertEqual(
            self.env["retail.points.line"].search_count([("partner_id", "=", customer.id)]),
            lines)
