import random

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import freeze_time, tagged
from odoo.tools import SQL

from .common import RetailCommon

TODAY = "2026-03-31"


class DebtCommon(RetailCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.receivable = cls.company_data["default_account_receivable"]

    def _pay(self, invoice, amount, date=TODAY):
        return self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids,
        ).create({"amount": amount, "payment_date": date})._create_payments()

    def _unapplied_payment(self, partner, amount, date=TODAY, company=None):
        payment = self.env["account.payment"].with_company(company or self.company).create({
            "amount": amount, "date": date, "payment_type": "inbound",
            "partner_type": "customer", "partner_id": partner.id,
        })
        payment.action_post()
        return payment

    def assertDebt(self, partner, amount, overdue, days, status, company=None):
        self.env.cr.flush()
        partner = partner.with_company(company or self.company)
        partner.invalidate_recordset()
        self.assertRecordValues(partner, [{
            "retail_debt_amount": amount,
            "retail_debt_overdue_amount": overdue,
            "retail_debt_overdue_days": days,
            "retail_debt_status": status,
        }])

    def _receivable_balance(self, company=None, date=None):
        self.env.cr.flush()
        self.env.cr.execute(SQL(
            """
            SELECT COALESCE(SUM(aml.balance), 0) FROM account_move_line aml
              JOIN account_account a ON a.id = aml.account_id
             WHERE aml.parent_state = 'posted' AND a.account_type = 'asset_receivable'
               AND aml.company_id = %s AND aml.date <= %s
            """, (company or self.company).id, date or TODAY))
        return self.env.cr.fetchone()[0]



@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDebt(DebtCommon):
    """Debt figures against hand-computed cases; the stored figures are refreshed when
    the transaction is flushed, as at the end of every request."""

    def test_no_debt(self):
        self.assertDebt(self.customer, 0, 0, 0, "none")
        self.assertIn(self.customer, self.Partner.search([("retail_debt_status", "=", "none")]))

    def test_partial_payments_credit_notes_and_due_dates(self):
        invoice_a = self._sell(self.customer, 1000, "2026-01-31", due="2026-01-31")
        self._sell(self.customer, 500, "2026-03-15", due="2026-03-15")
        self._sell(self.customer, 300, "2026-04-30", due="2026-04-30")
        self.assertDebt(self.customer, 1800, 1500, 59, "overdue")
        self._pay(invoice_a, 400)
        self.assertDebt(self.customer, 1400, 1100, 59, "overdue")
        # An unapplied credit note pays the oldest overdue items first.
        self._sell(self.customer, 100, "2026-03-01", due="2026-03-01", move_type="out_refund")
        self.assertDebt(self.customer, 1300, 1000, 59, "overdue")
        self._pay(invoice_a, 600)
        self.assertDebt(self.customer, 700, 400, 16, "overdue")
        # Credits covering the oldest invoice make the next one the oldest overdue.
        self._unapplied_payment(self.customer, 300)
        self.assertDebt(self.customer, 400, 100, 16, "overdue")
        self._unapplied_payment(self.customer, 100)
        self.assertDebt(self.customer, 300, 0, 0, "owes")
        self.assertEqual(
            self.Partner.search([("retail_debt_status", "=", "owes"), ("id", "=",
                                                                       self.customer.id)]),
            self.customer)
        self.assertEqual(
            self.Partner.search([("retail_debt_amount", ">", 299), ("id", "=", self.customer.id)]),
            self.customer)
        self.assertFalse(
            self.Partner.search([("retail_debt_amount", ">", 300), ("id", "=", self.customer.id)]))

    def test_reversed_payment_and_unreconcile(self):
        invoice = self._sell(self.customer, 1000, "2026-02-28", due="2026-02-28")
        payment = self._pay(invoice, 1000)
        self.assertDebt(self.customer, 0, 0, 0, "none")
        # Unreconciling leaves the payment unapplied: the total is the same, and the
        # unapplied payment still covers the overdue invoice.
        invoice.line_ids.remove_move_reconcile()
        self.assertDebt(self.customer, 0, 0, 0, "none")
        payment.move_id._reverse_moves(cancel=True)
        self.assertDebt(self.customer, 1000, 1000, 31, "overdue")

    def test_reset_cancel_and_reversal_of_invoice(self):
        invoice = self._sell(self.customer, 1000, "2026-02-28", due="2026-02-28")
        self.assertDebt(self.customer, 1000, 1000, 31, "overdue")
        invoice.button_draft()
        self.assertDebt(self.customer, 0, 0, 0, "none")
        invoice.action_post()
        self.assertDebt(self.customer, 1000, 1000, 31, "overdue")
        invoice._reverse_moves(cancel=True)
        self.assertDebt(self.customer, 0, 0, 0, "none")
        other = self._sell(self.customer, 250, "2026-04-15", due="2026-04-15")
        self.assertDebt(self.customer, 250, 0, 0, "owes")
        other.button_draft()
        other.button_cancel()
        self.assertDebt(self.customer, 0, 0, 0, "none")

    def test_contact_invoices_count_on_the_company(self):
        shop = self.Partner.create({"name": "Cửa hàng Bình Minh", "is_company": True})
        buyer = self.Partner.create({"name": "Lê Thị Hoa", "parent_id": shop.id})
        self._sell(buyer, 700, "2026-03-30", due="2026-03-30")
        self._sell(shop, 300, "2026-04-30", due="2026-04-30")
        self.assertDebt(shop, 1000, 700, 1, "overdue")

    def test_other_company_and_foreign_currency(self):
        company_2 = self.company_data_2["company"] if hasattr(self, "company_data_2") \
            else self.setup_other_company()["company"]
        self.env.user.company_ids |= company_2
        self._sell(self.customer, 800, "2026-03-01", due="2026-03-01", company=company_2)
        self.assertDebt(self.customer, 0, 0, 0, "none")
        self.assertDebt(self.customer, 800, 800, 30, "overdue", company=company_2)
        # 2,000 of a currency at 2 per company unit: 1,000 of company currency.
        currency = self.setup_other_currency("EUR", rates=[("2026-01-01", 2.0)])
        self._sell(self.customer, 2000, "2026-04-30", due="2026-04-30", currency=currency)
        self.assertDebt(self.customer, 1000, 0, 0, "owes")

    def test_time_passes(self):
        self._sell(self.customer, 400, "2026-04-10", due="2026-04-10")
        self.assertDebt(self.customer, 400, 0, 0, "owes")
        with freeze_time("2026-04-20"), self._cron_progress():
            self.Partner._cron_retail_refresh_debt()
            self.assertDebt(self.customer, 400, 400, 10, "overdue")
            # Nothing changed since: a second run writes nothing.
            self.assertEqual(self.Partner._retail_debt_refresh(), [])

    def test_refresh_queries_do_not_grow_with_customers(self):
        def post_for(count):
            customers = self.Partner.create([{"name": f"Khách {i}"} for i in range(count)])
            moves = self.env["account.move"].create([{
                "move_type": "out_invoice", "partner_id": customer.id,
                "invoice_date": TODAY, "invoice_line_ids": [Command.create({
                    "name": "Hàng", "quantity": 1, "price_unit": 10,
                    "tax_ids": [Command.clear()]})],
            } for customer in customers])
            self.env.flush_all()
            # Posting and what runs when the transaction is flushed: the debt is refreshed in
            # one statement, whatever the number of customers (posting's own queries are
            # guarded by TestPostingQueries).
            with self._record_queries() as queries:
                moves.action_post()
                self.env.cr.flush()
            return len([q for q in queries if "jsonb_object_agg" in q
                        and "retail_debt_overdue_days" in q])
        post_for(1)  # caches warm
        self.assertEqual(post_for(3), 1)
        self.assertEqual(post_for(12), 1)

    def test_property_sums_equal_receivable_balance(self):
        rng = random.Random(20261123)
        customers = self.Partner.create([{"name": f"Khách hàng {i}"} for i in range(8)])
        invoices = self.env["account.move"]
        for _i in range(30):
            customer = rng.choice(customers)
            due = fields.Date.to_date(TODAY).replace(day=1, month=rng.randint(1, 5))
            move_type = rng.choice(["out_invoice"] * 4 + ["out_refund"])
            invoices |= self._sell(customer, rng.randint(1, 500) * 10, "2026-01-01", due=due,
                                   move_type=move_type)
        for invoice in invoices.filtered(lambda m: m.move_type == "out_invoice"):
            roll = rng.random()
            if roll < 0.3:
                self._pay(invoice, invoice.amount_residual)
            elif roll < 0.6:
                self._pay(invoice, rng.randint(1, int(invoice.amount_residual)),
                          date=f"2026-0{rng.randint(1, 3)}-15")
        for customer in customers[:3]:
            self._unapplied_payment(customer, rng.randint(1, 50) * 10)
        self.env.cr.flush()
        customers.invalidate_recordset()
        self.assertAlmostEqual(
            sum(customers.mapped("retail_debt_amount")), self._receivable_balance(), places=2)
        for customer in customers:
            open_items = self.env["account.move.line"].search([
                ("partner_id", "=", customer.id), ("parent_state", "=", "posted"),
                ("account_id.account_type", "=", "asset_receivable")])
            self.assertAlmostEqual(customer.retail_debt_amount,
                                   sum(open_items.mapped("amount_residual")), places=2)
        # Incremental refreshes agree with a full one.
        self.assertEqual(self.Partner._retail_debt_refresh(), [])
        # Each customer's statement ends on its debt.
        statements = self.env["retail.debt.statement"].create([{
            "partner_id": customer.id, "company_id": self.company.id,
            "date_from": "2026-02-01", "date_to": TODAY} for customer in customers])
        self.assertEqual(statements.mapped("closing_balance"),
                         customers.mapped("retail_debt_amount"))
        # Aged receivables add up to the receivable balance, today and at past dates.
        Aging = self.env["retail.debt.aging.report"]
        for date in ("2026-01-31", "2026-02-20", "2026-03-10", TODAY):
            # Rows are journal items: their cached figures are those of the last date read.
            Aging.invalidate_model()
            rows = Aging.with_context(retail_aging_date=date).search(
                [("company_id", "=", self.company.id)])
            self.assertAlmostEqual(sum(rows.mapped("amount_residual")),
                                   self._receivable_balance(date=date), places=2, msg=date)
            self.assertAlmostEqual(
                sum(rows.mapped("amount_residual")),
                sum(sum(rows.mapped(f)) for f in ("amount_not_due", "amount_1_30",
                    "amount_31_60", "amount_61_90", "amount_over_90")), places=2)


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDebtAging(DebtCommon):
    """Buckets, as-of dates and filters of the aged receivables."""

    def test_buckets(self):
        for due, amount in [("2026-04-15", 1), ("2026-03-20", 10), ("2026-02-20", 100),
                            ("2026-01-15", 1000), ("2025-12-01", 10000)]:
            self._sell(self.customer, amount, "2025-12-01", due=due)
        self._sell(self.customer, 5, "2026-03-25", due="2026-03-25", move_type="out_refund")
        self.env.cr.flush()
        groups = dict(self.env["retail.debt.aging.report"]._read_group(
            [("partner_id", "=", self.customer.id)], ["bucket"], ["amount_residual:sum"]))
        self.assertEqual(groups, {"not_due": 1, "1_30": 5, "31_60": 100, "61_90": 1000,
                                  "over_90": 10000})

    def test_buckets_read_in_aging_order(self):
        """Pivot columns and list groups run not due, 1-30, 31-60, 61-90, over 90, and
        the bucket stays in its place when it is not the first group-by."""
        for due in ("2025-12-01", "2026-01-15", "2026-04-15", "2026-03-20", "2026-02-20"):
            self._sell(self.customer, 10, "2025-12-01", due=due)
        self.env.cr.flush()
        Aging = self.env["retail.debt.aging.report"]
        domain = [("partner_id", "=", self.customer.id)]
        aging_order = ["not_due", "1_30", "31_60", "61_90", "over_90"]
        groups = Aging.formatted_read_group(domain, ["bucket"], ["__count"])
        self.assertEqual([group["bucket"] for group in groups], aging_order)
        by_partner = Aging._read_group(domain, ["partner_id", "bucket"], ["__count"])
        self.assertEqual([bucket for _partner, bucket, _count in by_partner], aging_order)
        descending = Aging._read_group(domain, ["bucket"], ["__count"], order="bucket desc")
        self.assertEqual([bucket for bucket, _count in descending], aging_order[::-1])

    def test_as_of_date_undoes_later_payments(self):
        invoice = self._sell(self.customer, 1000, "2026-01-01", due="2026-01-31")
        self._pay(invoice, 600, date="2026-03-01")
        Aging = self.env["retail.debt.aging.report"]
        self.env.cr.flush()
        self.assertEqual(sum(Aging.search([("partner_id", "=", self.customer.id)])
                             .mapped("amount_residual")), 400)
        Aging.invalidate_model()
        february = Aging.with_context(retail_aging_date="2026-02-15").search(
            [("partner_id", "=", self.customer.id)])
        self.assertRecordValues(february, [{"amount_residual": 1000, "bucket": "1_30",
                                            "days_overdue": 15}])
        before = Aging.with_context(retail_aging_date="2025-12-31").search(
            [("partner_id", "=", self.customer.id)])
        self.assertFalse(before)

    def test_filters_and_access(self):
        self.customer.write({"user_id": self.salesman.id,
                             "state_id": self.env.ref("base.state_vn_VN-HN").id
                             if self.env.ref("base.state_vn_VN-HN", raise_if_not_found=False)
                             else False})
        self._sell(self.customer, 1000, "2026-01-31", due="2026-01-31")
        self.env.cr.flush()
        Aging = self.env["retail.debt.aging.report"]
        self.assertTrue(Aging.search([("user_id", "=", self.salesman.id)]))
        tag = self.env["res.partner.category"].create({"name": "VIP"})
        self.assertFalse(Aging.search([("partner_id.category_id", "in", tag.ids)]))
        self.customer.category_id = tag
        self.assertTrue(Aging.search([("partner_id.category_id", "in", tag.ids)]))
        # Accountants see the aging; a salesperson sees the figures on the customer only.
        self.assertTrue(Aging.with_user(self.cashier).search([]))
        with self.assertRaises(AccessError):
            Aging.with_user(self.salesman).search([])
        self.assertEqual(self.customer.with_user(self.salesman).retail_debt_amount, 1000)


@tagged("post_install", "-at_install")
class TestDebtLimit(RetailCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.account_use_credit_limit = True
        cls.customer.credit_limit = 1000
        cls.customer.use_partner_credit_limit = True
        cls.accounting_manager = cls.env.user  # AccountTestInvoicingCommon's user
        cls.cashier.group_ids += cls.env.ref("sales_team.group_sale_salesman")

    def _order(self, amount):
        return self.env["sale.order"].with_user(self.cashier).create({
            "partner_id": self.customer.id,
            "order_line": [Command.create({
                "product_id": self.product_a.id, "product_uom_qty": 1, "price_unit": amount,
                "tax_ids": [Command.clear()]})],
        })

    def test_warn_lets_it_through(self):
        self.env.company.retail_credit_limit_policy = "warn"
        invoice = self._sell(self.customer, 1500, post=False)
        self.assertTrue(invoice.partner_credit_warning)
        invoice.with_user(self.cashier).action_post()
        self.assertEqual(invoice.state, "posted")

    def test_block_invoice(self):
        self.env.company.retail_credit_limit_policy = "block"
        self._sell(self.customer, 600)
        invoice = self._sell(self.customer, 500, post=False)
        with self.assertRaisesRegex(UserError, "above the debt limit") as error:
            invoice.with_user(self.cashier).action_post()
        message = str(error.exception)
        for figure in ("1,100.00", "1,000.00", "600.00", "500.00"):
            self.assertIn(figure, message)
        self.assertEqual(invoice.state, "draft")
        # Under the limit posts; an accounting administrator may go over it.
        small = self._sell(self.customer, 400, post=False)
        small.with_user(self.cashier).action_post()
        self.assertEqual(small.state, "posted")
        self.assertTrue(self.accounting_manager.has_group("account.group_account_manager"))
        invoice.action_post()
        self.assertEqual(invoice.state, "posted")

    def test_block_counts_documents_together(self):
        self.env.company.retail_credit_limit_policy = "block"
        invoices = self._sell(self.customer, 600, post=False) \
            + self._sell(self.customer, 600, post=False)
        with self.assertRaisesRegex(UserError, "above the debt limit"):
            invoices.with_user(self.cashier).action_post()
        self.assertEqual(set(invoices.mapped("state")), {"draft"})

    def test_block_sale_order(self):
        self.env.company.retail_credit_limit_policy = "block"
        self._sell(self.customer, 300)
        order = self._order(800)
        with self.assertRaisesRegex(UserError, "above the debt limit"):
            order.with_user(self.cashier).action_confirm()
        self.assertEqual(order.state, "draft")
        ok = self._order(700)
        ok.with_user(self.cashier).action_confirm()
        self.assertEqual(ok.state, "sale")
        # The confirmed order now counts: an invoice of more fails.
        with self.assertRaisesRegex(UserError, "above the debt limit"):
            self._order(1).with_user(self.cashier).action_confirm()

    def test_no_limit_no_block(self):
        self.env.company.retail_credit_limit_policy = "block"
        other = self.Partner.create({"name": "Trần Văn Bình"})
        invoice = self._sell(other, 10 ** 9, post=False)
        invoice.with_user(self.cashier).action_post()
        self.assertEqual(invoice.state, "posted")


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDebtReconcile(DebtCommon):
    """Apply unapplied payments and credit notes to the oldest invoices first."""

    def _wizard(self, partner=None, user=None):
        partner = (partner or self.customer).with_user(user or self.cashier)
        action = partner.action_retail_apply_payments()
        return self.env["retail.debt.reconcile"].with_user(user or self.cashier).browse(
            action["res_id"])

    def _plan(self, wizard):
        return [(line.invoice_id, line.credit_move_id, line.amount,
                 line.invoice_residual_after) for line in wizard.line_ids]

    def test_oldest_first_with_partials(self):
        inv_1 = self._sell(self.customer, 100, "2026-01-01", due="2026-01-31")
        inv_3 = self._sell(self.customer, 300, "2026-01-01", due="2026-03-31")
        inv_2 = self._sell(self.customer, 200, "2026-01-01", due="2026-02-28")
        payment = self._unapplied_payment(self.customer, 150, date="2026-02-01")
        refund = self._sell(self.customer, 250, "2026-03-01", due="2026-03-01",
                            move_type="out_refund")
        wizard = self._wizard()
        self.assertEqual(wizard.invoice_item_ids.move_id, inv_1 + inv_2 + inv_3)
        self.assertEqual(wizard.credit_item_ids.move_id, payment.move_id + refund)
        self.assertEqual(self._plan(wizard), [
            (inv_1, payment.move_id, 100, 0), (inv_2, payment.move_id, 50, 150),
            (inv_2, refund, 150, 0), (inv_3, refund, 100, 200)])
        self.assertEqual(wizard.amount_to_apply, 400)
        wizard.action_apply()
        self.assertRecordValues(inv_1 + inv_2 + inv_3, [
            {"amount_residual": 0, "payment_state": "paid"},
            {"amount_residual": 0, "payment_state": "paid"},
            {"amount_residual": 200, "payment_state": "partial"}])
        self.assertEqual(refund.amount_residual, 0)
        self.assertDebt(self.customer, 200, 0, 0, "owes")
        self.assertIn("applied to the oldest invoices", self.customer.message_ids[0].body)
        # Nothing left to apply.
        with self.assertRaisesRegex(UserError, "Nothing to apply"):
            self._wizard().action_apply()

    def test_over_payment_and_exact_match(self):
        invoice = self._sell(self.customer, 100, "2026-02-28", due="2026-02-28")
        self._unapplied_payment(self.customer, 300)
        self._wizard().action_apply()
        self.assertEqual(invoice.payment_state, "paid")
        self.assertDebt(self.customer, -200, 0, 0, "none")
        other = self.Partner.create({"name": "Võ Minh Châu"})
        exact = self._sell(other, 250, "2026-02-28", due="2026-02-28")
        payment = self._unapplied_payment(other, 250)
        self._wizard(other).action_apply()
        self.assertTrue(exact.line_ids.filtered("reconciled"))
        self.assertTrue(payment.move_id.line_ids.filtered(
            lambda line: line.account_id == self.receivable).reconciled)
        self.assertDebt(other, 0, 0, 0, "none")

    def test_foreign_currency_left_alone_and_preview_must_be_current(self):
        currency = self.setup_other_currency("EUR", rates=[("2026-01-01", 2.0)])
        foreign = self._sell(self.customer, 200, "2026-02-28", due="2026-02-28", currency=currency)
        invoice = self._sell(self.customer, 100, "2026-02-28", due="2026-02-28")
        self._unapplied_payment(self.customer, 500)
        wizard = self._wizard()
        self.assertEqual(wizard.skipped_item_ids.move_id, foreign)
        self.assertEqual(self._plan(wizard)[0][:3], (invoice, wizard.credit_item_ids.move_id, 100))
        self.assertEqual(len(wizard.line_ids), 1)
        # Another payment arrives before the accountant confirms: the preview is stale.
        self._unapplied_payment(self.customer, 1)
        self._pay(invoice, 100)
        with self.assertRaisesRegex(UserError, "changed since this preview"):
            wizard.action_apply()
        self.assertEqual(foreign.payment_state, "not_paid")

    def test_only_accountants(self):
        self._sell(self.customer, 100, "2026-02-28", due="2026-02-28")
        with self.assertRaises(AccessError):
            self._wizard(user=self.salesman)
