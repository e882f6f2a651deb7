from odoo import Command
from odoo.tests import tagged

from .common import RetailCommon


@tagged("post_install", "-at_install")
class TestPurchaseStatistics(RetailCommon):
    def test_posting_counts_and_draft_does_not(self):
        draft = self._sell(self.customer, 200000, "2026-03-01", post=False)
        self.assertStats(self.customer, 0, 0, False)
        draft.action_post()
        self.assertStats(self.customer, 200000, 1, "2026-03-01")
        self._sell(self.customer, 50000, "2026-02-01")
        self.assertStats(self.customer, 250000, 2, "2026-03-01")

    def test_refund_lowers_total_not_count(self):
        invoice = self._sell(self.customer, 300000, "2026-03-01")
        self._sell(self.customer, 100000, "2026-03-05", move_type="out_refund")
        self.assertStats(self.customer, 200000, 1, "2026-03-01")
        invoice.button_draft()
        self.assertStats(self.customer, -100000, 0, False)

    def test_reset_cancel_and_repost(self):
        invoice = self._sell(self.customer, 120000, "2026-04-01")
        invoice.button_draft()
        self.assertStats(self.customer, 0, 0, False)
        invoice.action_post()
        self.assertStats(self.customer, 120000, 1, "2026-04-01")
        invoice.button_draft()
        invoice.button_cancel()
        self.assertStats(self.customer, 0, 0, False)

    def test_reversal_with_credit_note(self):
        invoice = self._sell(self.customer, 500000, "2026-04-01")
        self._sell(self.customer, 80000, "2026-03-01")
        credit_note = invoice._reverse_moves(cancel=True)
        self.assertEqual(invoice.payment_state, "reversed")
        # A fully reversed invoice is no purchase: the earlier one is the last.
        self.assertStats(self.customer, 80000, 1, "2026-03-01")
        credit_note.button_draft()
        self.env.cr.flush()
        self.assertEqual(self.customer.retail_total_sales, 580000)

    def test_contact_invoices_count_on_the_company(self):
        company = self.Partner.create({"name": "Cửa hàng Hoa Mai", "is_company": True})
        buyer = self.Partner.create({"name": "Chị Mai", "parent_id": company.id})
        self._sell(buyer, 70000, "2026-05-01")
        self.assertStats(company, 70000, 1, "2026-05-01")

    def test_vendor_bills_and_other_partners_untouched(self):
        self._sell(self.customer, 90000, "2026-05-01", move_type="in_invoice")
        self.assertStats(self.customer, 0, 0, False)

    def test_purchase_history_lists_posted_sales_only(self):
        posted = self._sell(self.customer, 10000)
        self._sell(self.customer, 20000, post=False)
        self.assertEqual(self.customer.retail_invoice_ids, posted)
        self.assertTrue(self.customer.sale_order_ids._name, "sale.order")

    def test_stored_values_match_the_install_backfill_query(self):
        """The SQL that fills the columns on install agrees with the ORM compute."""
        for amount in (10000, 20000, 30000):
            self._sell(self.customer, amount)
        self.env.flush_all()
        self.env.cr.execute(self.Partner._retail_stats_query([self.customer.id]))
        (_pid, total, purchases, last_date), = self.env.cr.fetchall()
        self.assertStats(self.customer, float(total), purchases, last_date)

    def test_bulk_posting_is_set_based(self):
        """Posting for many partners at once: statistics and points cost the same few
        queries whether 20 or 40 partners are concerned."""
        def retail_queries_when_posting(count):
            partners = self.Partner.create([{"name": f"Khách {i}"} for i in range(count)])
            moves = self.env["account.move"].create([{
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": "2026-06-01",
                "invoice_line_ids": [Command.create({
                    "name": "x", "price_unit": 1000, "tax_ids": [Command.clear()],
                })],
            } for partner in partners])
            self.env.flush_all()
            with self._record_queries() as queries:
                moves.action_post()
                self.env.cr.flush()
            self.assertEqual(sum(partners.mapped("retail_purchase_count")), count)
            return [query for query in queries
                    if "retail_" in query or "FOR NO KEY UPDATE" in query]

        retail_queries_when_posting(5)  # caches warm
        small, large = retail_queries_when_posting(20), retail_queries_when_posting(40)
        self.assertEqual(len(small), len(large), large)
        # statistics: aggregate + update; points: history read, partner lock, line insert,
        # balance update, tiers; funnel: purchases, opportunities, stages, opportunity insert and
        # update
        self.assertLessEqual(len(large), 16, large)
