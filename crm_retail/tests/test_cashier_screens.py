from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import Form, HttpCase, new_test_user, tagged

from .common import POINTS_SETTINGS, RetailCommon


@tagged("post_install", "-at_install")
class TestCashierSeesTheCustomer(RetailCommon):
    """What the counter shows of the customer on a new invoice or quotation."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.write({**POINTS_SETTINGS, "account_use_credit_limit": True})
        cls.customer.credit_limit = 2000000
        cls.customer.retail_adjust_points(300, "Số dư đầu kỳ")
        cls._sell(cls.customer, 500000)  # owes 500,000, earns 50 points
        cls.retail_cashier = new_test_user(
            cls.env, login="counter_cashier",
            groups="sales_team.group_sale_salesman,account.group_account_invoice,"
                   "crm_retail.group_crm_retail_user")

    def _draft_invoice(self, amount):
        return self.env["account.move"].with_user(self.retail_cashier).create({
            "move_type": "out_invoice",
            "partner_id": self.customer.id,
            "invoice_line_ids": [Command.create({
                "name": "Hàng hóa", "quantity": 1, "price_unit": amount,
                "tax_ids": [Command.clear()]})],
        })

    def test_invoice_shows_points_tier_debt_and_limit(self):
        invoice = self._draft_invoice(120000)
        self.assertRecordValues(invoice, [{
            "retail_customer_points": 350,
            "retail_customer_tier_id": self.customer.retail_loyalty_tier_id.id,
            "retail_redeemable_points": 120,  # what pays the whole 120,000, less than 350
            "retail_customer_debt": 500000,
            "retail_customer_credit_limit": 2000000,
        }])
        self.assertTrue(invoice.retail_customer_tier_id)

    def test_redeemable_points_are_the_balance_when_it_pays_less_than_due(self):
        invoice = self._draft_invoice(900000)
        self.assertEqual(invoice.retail_redeemable_points, 350)

    def test_redeem_proposes_the_most_usable_and_one_click_redeems_it(self):
        invoice = self._draft_invoice(120000)
        action = invoice.with_user(self.retail_cashier).action_retail_redeem_points()
        self.assertEqual(action["context"]["default_points"], 120)
        wizard = Form(self.env["retail.points.redeem"].with_user(self.retail_cashier)
                      .with_context(**action["context"]))
        self.assertEqual(wizard.points, 120)
        self.assertEqual(wizard.points_redeemable, 120)
        wizard.save().action_redeem()
        self.assertEqual(invoice.amount_total, 0)
        self.assertEqual(invoice.retail_customer_points, 230)
        self.assertEqual(invoice.retail_redeemable_points, 0, "nothing left to pay")

    def test_nothing_to_redeem_on_a_posted_invoice_nor_a_credit_note(self):
        invoice = self._draft_invoice(120000)
        invoice.action_post()
        self.assertEqual(invoice.retail_redeemable_points, 0)
        refund = self._sell(self.customer, 100000, move_type="out_refund", post=False)
        self.assertEqual(refund.retail_redeemable_points, 0)
        self.assertEqual(refund.retail_customer_debt, invoice.retail_customer_debt)

    def test_no_figures_on_a_vendor_bill(self):
        bill = self.env["account.move"].create({
            "move_type": "in_invoice", "partner_id": self.customer.id,
            "invoice_date": "2026-01-15",
            "invoice_line_ids": [Command.create({"name": "x", "price_unit": 10})],
        })
        self.assertRecordValues(bill, [{
            "retail_customer_points": 0, "retail_customer_debt": 0,
            "retail_customer_credit_limit": 0}])

    def test_quotation_shows_the_same_figures(self):
        order = self.env["sale.order"].with_user(self.retail_cashier).create({
            "partner_id": self.customer.id,
            "order_line": [Command.create({
                "product_id": self.product_a.id, "product_uom_qty": 1, "price_unit": 80000,
                "tax_ids": [Command.clear()]})],
        })
        self.assertRecordValues(order, [{
            "retail_customer_points": 350, "retail_redeemable_points": 80,
            "retail_customer_debt": 500000, "retail_customer_credit_limit": 2000000}])

    def test_no_limit_shown_when_the_company_uses_none(self):
        self.env.company.account_use_credit_limit = False
        self.assertEqual(self._draft_invoice(1000).retail_customer_credit_limit, 0)

    def test_a_salesperson_without_invoicing_opens_a_quotation(self):
        # Debt, yes (as on the customer form); the credit limit is Odoo's, for accounting.
        order = self.env["sale.order"].with_user(self.salesman).create(
            {"partner_id": self.customer.id})
        with Form(order) as form:
            self.assertEqual(form.retail_customer_debt, 500000)
        arch = self.env["sale.order"].with_user(self.salesman).get_views(
            [(False, "form")])["views"]["form"]["arch"]
        self.assertNotIn("retail_customer_credit_limit", arch)
        with self.assertRaises(AccessError):
            order.with_user(self.salesman).read(["retail_customer_credit_limit"])

    def test_each_role_sees_what_the_customer_form_shows_them(self):
        # A read-only accountant reads debts, not points (as on the customer form).
        auditor = new_test_user(
            self.env, login="counter_auditor", groups="account.group_account_readonly")
        invoice = self._draft_invoice(120000)
        arch = self.env["account.move"].with_user(auditor).get_views(
            [(False, "form")])["views"]["form"]["arch"]
        self.assertNotIn("retail_customer_points", arch)
        self.assertIn("retail_customer_debt", arch)
        self.assertEqual(invoice.with_user(auditor).retail_customer_debt, 500000)
        with self.assertRaises(AccessError):
            invoice.with_user(auditor).read(["retail_customer_points"])
        arch = self.env["account.move"].with_user(self.retail_cashier).get_views(
            [(False, "form")])["views"]["form"]["arch"]
        for fname in ("retail_customer_points", "retail_customer_tier_id",
                      "action_retail_redeem_points", "retail_customer_debt"):
            self.assertIn(fname, arch)


@tagged("post_install", "-at_install")
class TestDebtHistory(RetailCommon):
    """The customer's "Nợ cần thu" tab: every receivable item with the debt after it."""

    def test_running_balance_ends_on_the_debt(self):
        first = self._sell(self.customer, 500000, date="2026-01-10")
        self._sell(self.customer, 300000, date="2026-02-10")
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=first.ids,
        ).create({"amount": 200000, "payment_date": "2026-03-01"})._create_payments()
        self._sell(self.customer, 50000, date="2026-03-05", move_type="out_refund")
        history = self.customer.retail_debt_history_ids
        self.assertEqual(history.mapped("kind"),
                         ["credit_note", "payment", "invoice", "invoice"], "newest first")
        self.assertEqual(history.mapped("amount"), [-50000, -200000, 300000, 500000])
        self.assertEqual(history.mapped("balance_after"), [550000, 600000, 800000, 500000])
        self.env.cr.flush()  # the debt is refreshed with the transaction, as every request
        self.assertEqual(history[0].balance_after, self.customer.retail_debt_amount)

    def test_only_who_reads_debts_reads_the_history(self):
        self._sell(self.customer, 500000)
        employee = new_test_user(self.env, login="plain_employee", groups="base.group_user")
        with self.assertRaises(AccessError):
            self.env["retail.debt.history"].with_user(employee).search([])
        self.assertEqual(
            len(self.env["retail.debt.history"].with_user(self.salesman).search(
                [("partner_id", "=", self.customer.id)])), 1)

    def test_another_companys_items_stay_in_their_company(self):
        self._sell(self.customer, 500000)
        other = self.setup_other_company()["company"]
        accountant = new_test_user(
            self.env, login="two_company_accountant", groups="account.group_account_invoice",
            company_id=other.id, company_ids=[Command.set((self.env.company + other).ids)])
        History = self.env["retail.debt.history"].with_user(accountant)
        domain = [("partner_id", "=", self.customer.id)]
        self.assertFalse(History.with_context(allowed_company_ids=other.ids).search(domain))
        self.assertEqual(
            History.with_context(allowed_company_ids=self.env.company.ids).search(domain)
            .balance_after, 500000)


@tagged("post_install", "-at_install")
class TestVietnameseAddress(RetailCommon):
    def test_address_is_ward_and_province(self):
        arch = self.env["res.partner"].get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('placeholder="Ward / Commune"', arch)
        self.assertIn('placeholder="Province"', arch)


@tagged("post_install", "-at_install")
class TestCashierTour(HttpCase):
    def test_cashier_finds_by_phone_redeems_and_posts(self):
        self.env.company.write(POINTS_SETTINGS)
        new_test_user(
            self.env, login="tour_cashier", password="tour_cashier", lang="vi_VN",
            groups="sales_team.group_sale_salesman,account.group_account_invoice")
        Partner = self.env["res.partner"]
        customer = Partner.create(
            {"name": "Nguyễn Văn An", "phone": "0901234567", "customer_rank": 1})
        # A namesake: only the code and the phone tell them apart.
        Partner.create({"name": "Nguyễn Văn An", "phone": "0987654321", "customer_rank": 1})
        customer.retail_adjust_points(250, "Số dư đầu kỳ")
        old = self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": customer.id,
            "invoice_date": fields.Date.subtract(fields.Date.today(), days=3),
            "invoice_line_ids": [Command.create({
                "name": "Hàng hóa", "price_unit": 500000, "tax_ids": [Command.clear()]})],
        })
        old.action_post()  # owes 500,000 and earns 50 points: 300
        self.env["product.product"].create({
            "name": "Cà phê tour", "list_price": 120000, "taxes_id": [Command.clear()]})

        self.start_tour("/odoo/action-account.action_move_out_invoice_type/new",
                        "crm_retail_cashier_tour", login="tour_cashier")

        invoice = self.env["account.move"].search(
            [("partner_id", "=", customer.id), ("id", "!=", old.id)])
        self.assertRecordValues(invoice, [{"state": "posted", "amount_total": 0}])
        self.assertEqual(invoice.invoice_line_ids.mapped("retail_points_redeemed"), [0, 120])
        self.assertEqual(customer.retail_loyalty_points, 180)
