from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged
from odoo.tools import SQL

from .common import RetailCommon


@tagged("post_install", "-at_install")
class TestSqlFacts(RetailCommon):
    """The building blocks every fact is made of, each checked once here."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Facts = cls.env["retail.sql.facts"]

    def _rows(self, query):
        self.Facts._sales_flush()
        self.Facts._receivables_flush()
        self.env.cr.execute(query)
        return self.env.cr.dictfetchall()

    def test_a_purchase_is_a_posted_invoice_no_credit_note_cancelled(self):
        kept = self._sell(self.customer, 300000, date="2026-01-10")
        cancelled = self._sell(self.customer, 200000, date="2026-01-11")
        cancelled._reverse_moves(cancel=True)
        self._sell(self.customer, 50000, date="2026-01-12", move_type="out_refund")
        self._sell(self.customer, 70000, date="2026-01-13", post=False)
        sales = self._rows(self.Facts._sales_documents([self.customer.id]))
        self.assertEqual(len(sales), 4, "posted invoices and credit notes, not drafts")
        self.assertEqual(sum(sale["amount"] for sale in sales), 300000 - 50000)
        purchases = self._rows(self.Facts._purchases([self.customer.id]))
        self.assertEqual([purchase["move_id"] for purchase in purchases], kept.ids)

    def test_customer_sales_in_windows(self):
        self._sell(self.customer, 100000, date="2026-01-01")
        self._sell(self.customer, 40000, date="2026-03-20")
        self._sell(self.customer, 10000, date="2026-03-25", move_type="out_refund")
        other = self.Partner.create({"name": "Khách khác"})
        self._sell(other, 999000, date="2026-03-25")
        (row,) = self._rows(self.Facts._customer_sales(
            [self.customer.id], today="2026-03-31", windows=(30,)))
        self.assertEqual(
            (row["total"], row["purchases"], str(row["first_date"]), str(row["last_date"]),
             row["sales_30d"], row["purchases_30d"]),
            (130000, 2, "2026-01-01", "2026-03-20", 30000, 1))

    def test_customer_sales_of_a_customer_through_its_contacts(self):
        """A list of customers reaches their contacts' documents (through the indexed
        partner column); ``today`` may be the database's own, for a view."""
        contact = self.Partner.create({"name": "Kế toán", "parent_id": self.customer.id})
        recent = fields.Date.to_string(fields.Date.today() - timedelta(days=10))
        self._sell(contact, 80000, date=recent)
        self._sell(self.customer, 20000, date="2025-01-01")
        self._sell(self.Partner.create({"name": "Khách khác"}), 999000, date=recent)
        (row,) = self._rows(self.Facts._customer_sales(
            [self.customer.id], [self.env.company.id], today=SQL("CURRENT_DATE"),
            windows=(30,)))
        self.assertEqual(
            (row["partner_id"], row["total"], row["purchases"], row["sales_30d"],
             str(row["last_date"])),
            (self.customer.id, 100000, 2, 80000, recent))
        self.assertFalse(self._rows(self.Facts._customer_sales(
            [contact.id], [self.env.company.id])), "a contact is no customer of its own")

    def test_receivable_items_and_open_ones(self):
        invoice = self._sell(self.customer, 500000)
        paid = self._sell(self.customer, 200000)
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=paid.ids).create({})._create_payments()
        items = self._rows(self.Facts._receivable_items([self.customer.id]))
        self.assertEqual(len(items), 3, "two invoices and the payment")
        open_items = self._rows(self.Facts._receivable_items([self.customer.id], open_only=True))
        self.assertEqual([item["move_id"] for item in open_items], invoice.ids)
        self.assertEqual(open_items[0]["residual"], 500000)

    def test_a_bridge_adds_its_sales_to_every_fact_with_one_override(self):
        """A Point of Sale bridge overrides _sales_documents: statistics follow."""
        self._sell(self.customer, 100000, date="2026-01-01")
        self.env.cr.flush()  # the posting's own refresh, before the bridge is there
        sales_documents = type(self.Facts)._sales_documents

        def with_counter_sales(facts, partner_ids=None, company_ids=None):
            return SQL(
                """%s UNION ALL
                   SELECT %s, %s, DATE '2026-02-01', 25000.0, TRUE, NULL::int""",
                sales_documents(facts, partner_ids, company_ids),
                self.customer.id, self.env.company.id)

        with patch.object(type(self.Facts), "_sales_documents", with_counter_sales):
            self.Partner._retail_stats_refresh([self.customer.id])
        self.assertStats(self.customer, 125000, 2, "2026-02-01")
