from unittest.mock import patch

from odoo import Command, fields
from odoo.tests import tagged

from .common import RetailCommon

STEPS = ["target", "opportunity", "quotation", "contract", "repeat", "loyal", "advocate"]


@tagged("post_install", "-at_install")
class TestFunnel(RetailCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stage = {name: cls.env.ref(f"crm_retail.stage_{name}") for name in STEPS}
        cls.env.company.write({
            "retail_create_lead_on_purchase": True,
            "retail_loyal_rule": "count",
            "retail_loyal_purchase_count": 3,
        })
        cls.Lead = cls.env["crm.lead"].with_context(tracking_disable=True)
        cls.lead = cls.Lead.create({
            "name": "Cơ hội An", "type": "opportunity", "partner_id": cls.customer.id,
            "stage_id": cls.stage["opportunity"].id,
        })

    def _order(self, partner, opportunity=None, confirm=True):
        order = self.env["sale.order"].create({
            "partner_id": partner.id,
            "opportunity_id": opportunity.id if opportunity else False,
            "order_line": [Command.create({"product_id": self.product_a.id,
                                           "product_uom_qty": 1})],
        })
        if confirm:
            order.action_confirm()
        return order

    def _days_ago(self, days):
        return fields.Date.subtract(fields.Date.today(), days=days)

    def test_seven_stages_in_order_four_to_seven_won(self):
        stages = self.env["crm.stage"].search([("retail_funnel_step", "!=", False)],
                                              order="sequence")
        self.assertEqual(stages.mapped("retail_funnel_step"), [str(i) for i in range(1, 8)])
        self.assertEqual(stages.mapped("is_won"), [False] * 3 + [True] * 4)

    def test_funnel_stages_follow_stage_changes(self):
        """The stage of each step is cached; creating, renumbering, reordering and deleting
        stages is seen at once."""
        Stage = self.env["crm.stage"]
        self.assertEqual(Stage._retail_funnel_stages()[5], self.stage["repeat"])
        early = Stage.create({"name": "Quay lại sớm", "retail_funnel_step": "5",
                              "sequence": self.stage["repeat"].sequence - 1})
        self.assertEqual(Stage._retail_funnel_stages()[5], early)
        early.sequence = self.stage["repeat"].sequence + 1
        self.assertEqual(Stage._retail_funnel_stages()[5], self.stage["repeat"])
        self.stage["repeat"].retail_funnel_step = False
        self.assertEqual(Stage._retail_funnel_stages()[5], early)
        early.unlink()
        self.assertNotIn(5, Stage._retail_funnel_stages())
        self._sell(self.customer, 100000, date=self._days_ago(10))
        self._sell(self.customer, 50000, date=self._days_ago(2))
        self.assertEqual(self.lead.stage_id, self.stage["contract"], "no stage for step 5")

    def test_odoo_default_stages_are_adopted(self):
        """Odoo's New/Qualified/Proposition/Won are the first four steps: their leads
        stay put and their xmlids still resolve."""
        for odoo_xmlid, name in (("crm.stage_lead1", "target"), ("crm.stage_lead2", "opportunity"),
                                 ("crm.stage_lead3", "quotation"), ("crm.stage_lead4", "contract")):
            self.assertEqual(self.env.ref(odoo_xmlid), self.stage[name])
        self.env["crm.stage"]._retail_adopt_default_stages()  # twice is harmless
        self.assertEqual(self.env.ref("crm.stage_lead1"), self.stage["target"])

    def test_quotation_then_confirmation(self):
        order = self._order(self.customer, self.lead, confirm=False)
        self.assertEqual(self.lead.stage_id, self.stage["quotation"])
        self.assertIn(order.name, self.lead.message_ids[0].body)
        order.action_confirm()
        self.assertEqual(self.lead.stage_id, self.stage["contract"])
        self.env.cr.flush()  # as at the end of the request
        self.assertEqual(self.customer.retail_stage_id, self.stage["contract"])

    def test_invoice_without_card_creates_one(self):
        newcomer = self.Partner.create({"name": "Khách mới mua"})
        self._sell(newcomer, 100000)
        opportunity = self.env["crm.lead"].search([("partner_id", "=", newcomer.id)])
        self.assertEqual(opportunity.stage_id, self.stage["contract"])
        self.env.company.retail_create_lead_on_purchase = False
        other = self.Partner.create({"name": "Khách không thẻ"})
        self._sell(other, 100000)
        self.assertFalse(self.env["crm.lead"].search([("partner_id", "=", other.id)]))

    def test_card_of_a_first_purchase_is_created_won(self):
        """The opportunity a first purchase creates starts at Contract, as crm closes a won
        one (probability, closing date, the scoring it learns from won opportunities), with
        one note that says why, and enters the funnel report there."""
        Frequency = self.env["crm.lead.scoring.frequency"]
        won_before = sum(Frequency.search([("variable", "=", "stage_id")]).mapped("won_count"))
        newcomer = self.Partner.create({"name": "Khách mua lần đầu"})
        invoice = self._sell(newcomer, 100000)
        opportunity = self.env["crm.lead"].search([("partner_id", "=", newcomer.id)])
        self.assertEqual(opportunity.stage_id, self.stage["contract"])
        self.assertEqual(opportunity.retail_fact_step, 4)
        self.assertEqual(opportunity.won_status, "won")
        self.assertEqual(opportunity.probability, 100)
        self.assertTrue(opportunity.date_closed)
        won_after = sum(Frequency.search([("variable", "=", "stage_id")]).mapped("won_count"))
        self.assertGreater(won_after, won_before)
        self.assertEqual(len(opportunity.message_ids), 1)
        self.assertIn(self.stage["contract"].name, opportunity.message_ids.body)
        self.assertIn(invoice.name, opportunity.message_ids.body)
        rows = self.env["crm.retail.funnel.report"].search([("lead_id", "=", opportunity.id)])
        self.assertEqual(rows.stage_id, self.stage["contract"])

    def test_first_purchase_refreshes_its_customer_once(self):
        """The opportunity the first purchase creates does not refresh every fact of its
        customer a second time when the transaction ends: the funnel engine refreshes the
        stage of what it moved, and nothing else."""
        newcomer = self.Partner.create({"name": "Khách làm mới một lần"})
        self.env.cr.flush()
        Partner = type(self.env["res.partner"])
        with patch.object(Partner, "_retail_debt_update", autospec=True,
                          side_effect=Partner._retail_debt_update) as debt_update:
            self._sell(newcomer, 100000)
            self.env.cr.flush()
        self.assertEqual(debt_update.call_count, 1)
        self.assertEqual(newcomer.retail_stage_id, self.stage["contract"])

    def test_second_purchase_on_another_day_is_repeat(self):
        self._sell(self.customer, 100000, date=self._days_ago(10))
        self._sell(self.customer, 50000, date=self._days_ago(10))
        self.assertEqual(self.lead.stage_id, self.stage["contract"])
        self._sell(self.customer, 50000, date=self._days_ago(2))
        self.assertEqual(self.lead.stage_id, self.stage["repeat"])

    def test_order_and_its_invoice_are_one_purchase(self):
        order = self._order(self.customer, self.lead)
        invoice = order._create_invoices()
        invoice.invoice_date = self._days_ago(0)
        invoice.action_post()
        self.assertEqual(self.lead.stage_id, self.stage["contract"])

    def test_loyal_after_n_purchases_in_twelve_months(self):
        for days in (300, 200, 100):
            self._sell(self.customer, 100000, date=self._days_ago(days))
        self.assertEqual(self.lead.stage_id, self.stage["loyal"])

    def test_loyal_by_tier(self):
        gold = self.env.ref("crm_retail.tier_gold")
        self.env.company.write({"retail_loyal_rule": "tier", "retail_loyal_tier_id": gold.id})
        self.customer.retail_adjust_points(2500, "Khách lâu năm")
        self._sell(self.customer, 100000)
        self.assertEqual(self.lead.stage_id, self.stage["loyal"])

    def test_referrer_becomes_advocate(self):
        friend = self.Partner.create({"name": "Bạn của An", "retail_referrer_id": self.customer.id})
        self.assertEqual(self.customer.retail_referral_count, 1)
        self._sell(friend, 100000)
        self.assertEqual(self.lead.stage_id, self.stage["advocate"])

    def test_referral_set_on_the_opportunity(self):
        friend = self.Partner.create({"name": "Bạn qua thẻ"})
        self.Lead.create({"name": "Bạn", "type": "opportunity", "partner_id": friend.id,
                          "retail_referrer_id": self.customer.id})
        self._sell(friend, 100000)
        self.assertEqual(self.lead.stage_id, self.stage["advocate"])

    def test_never_backward_and_manual_move_back_respected(self):
        self.env.company.retail_loyal_purchase_count = 10
        self._sell(self.customer, 100000, date=self._days_ago(20))
        self._sell(self.customer, 100000, date=self._days_ago(10))
        self.assertEqual(self.lead.stage_id, self.stage["repeat"])
        # A person moves the opportunity back: the same facts do not push it again...
        self.lead.stage_id = self.stage["opportunity"]
        self._sell(self.customer, 100000, date=self._days_ago(5))
        self.assertEqual(self.lead.stage_id, self.stage["opportunity"])
        # ...a new, higher fact does.
        self.customer.retail_referrer_id = False
        friend = self.Partner.create({"name": "Bạn", "retail_referrer_id": self.customer.id})
        self._sell(friend, 100000)
        self.assertEqual(self.lead.stage_id, self.stage["advocate"])
        # And a lower fact never moves an opportunity backward.
        self._order(self.customer, self.lead)
        self.assertEqual(self.lead.stage_id, self.stage["advocate"])

    def test_contacts_share_the_company_opportunity(self):
        shop = self.Partner.create({"name": "Cửa hàng Hoa", "is_company": True})
        opportunity = self.Lead.create({"name": "Hoa", "type": "opportunity", "partner_id": shop.id,
                                 "stage_id": self.stage["opportunity"].id})
        buyer_1 = self.Partner.create({"name": "Chị Hoa", "parent_id": shop.id})
        buyer_2 = self.Partner.create({"name": "Anh Hùng", "parent_id": shop.id})
        self._sell(buyer_1, 100000, date=self._days_ago(3))
        self._sell(buyer_2, 100000, date=self._days_ago(1))
        self.assertEqual(opportunity.stage_id, self.stage["repeat"])
        self.assertEqual(
            self.env["crm.lead"].search_count([("partner_id", "child_of", shop.id)]), 1)

    def test_new_opportunity_for_a_customer_starts_at_opportunity(self):
        self._sell(self.customer, 100000)
        new = self.env["crm.lead"].create({"name": "Đơn mới", "type": "opportunity",
                                           "partner_id": self.customer.id})
        self.assertEqual(new.stage_id, self.stage["opportunity"])

    def test_stage_fields_not_copied(self):
        self._sell(self.customer, 100000)
        copy = self.lead.copy()
        self.assertEqual(copy.retail_fact_step, 0)

    def test_salesman_confirms_and_the_card_moves(self):
        self.lead.user_id = self.salesman
        order = self._order(self.customer, self.lead, confirm=False)
        order.user_id = self.salesman
        order.with_user(self.salesman).action_confirm()
        self.assertEqual(self.lead.stage_id, self.stage["contract"])

    def test_funnel_report_counts_converts_and_times_stages(self):
        tracked = self.env["crm.lead"].with_context(tracking_disable=False, mail_notrack=False)
        opportunities = tracked.create([
            {"name": f"Thẻ {i}", "type": "opportunity", "stage_id": self.stage["target"].id}
            for i in range(4)])
        self.env.flush_all()
        self.env.cr.precommit.run()
        # Two of four go on to Opportunity, one of those on to Quotation.
        opportunities[:2].write({"stage_id": self.stage["opportunity"].id})
        self.env.flush_all()
        self.env.cr.precommit.run()
        opportunities[:1].write({"stage_id": self.stage["quotation"].id})
        self.env.flush_all()
        self.env.cr.precommit.run()
        groups = {stage: (count, converted) for stage, count, converted in
                  self.env["crm.retail.funnel.report"]._read_group(
                      [("lead_id", "in", opportunities.ids)], ["stage_id"],
                      ["__count", "converted:avg"])}
        self.assertEqual(groups[self.stage["target"]], (4, 0.5))
        self.assertEqual(groups[self.stage["opportunity"]], (2, 0.5))
        self.assertEqual(groups[self.stage["quotation"]], (1, 0.0))
        rows = self.env["crm.retail.funnel.report"].search(
            [("lead_id", "=", opportunities[0].id)], order="entered_on, id")
        self.assertEqual(rows.mapped("funnel_step"), ["1", "2", "3"])
        self.assertTrue(all(row.days_in_stage >= 0 for row in rows))

    def test_funnel_report_counts_the_engines_moves(self):
        # The engine's moves are logged in batch notes that carry the stage history (in a
        # request's context: the test classes switch tracking off).
        lead = self.lead
        self._sell(self.customer, 100000, post=False).with_context(
            tracking_disable=False).action_post()
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.assertEqual(lead.stage_id, self.stage["contract"])
        rows = self.env["crm.retail.funnel.report"].search(
            [("lead_id", "=", lead.id)], order="entered_on, id")
        self.assertEqual(rows.stage_id, self.stage["opportunity"] + self.stage["contract"])

    def test_confirming_many_orders_is_set_based(self):
        """The funnel's queries when confirming orders do not grow with their number."""
        def funnel_queries(count):
            partners = self.Partner.create([{"name": f"Khách {i}"} for i in range(count)])
            orders = self.env["sale.order"].create([{
                "partner_id": partner.id,
                "order_line": [Command.create({"product_id": self.product_a.id})],
            } for partner in partners])
            self.env.flush_all()
            with self._record_queries() as queries:
                orders.action_confirm()
                self.env.flush_all()
            self.env.cr.flush()  # the customers' stage follows when the request ends
            self.assertEqual(set(orders.partner_id.retail_stage_id.ids),
                             {self.stage["contract"].id})
            return [q for q in queries if "crm_lead" in q or "crm_stage" in q
                    or "sale_order_line_invoice_rel" in q]

        funnel_queries(3)
        small, large = funnel_queries(10), funnel_queries(20)
        self.assertEqual(len(small), len(large), large)

    def test_card_of_a_first_purchase_belongs_to_the_selling_company(self):
        """A customer shared by two companies buying from each gets an opportunity in each; the
        pipeline of one company never shows the other's."""
        company_2 = self.setup_other_company(name="Chi nhánh Hà Nội")["company"]
        company_2.retail_create_lead_on_purchase = True
        shared = self.Partner.create({"name": "Khách hai chi nhánh"})
        self._sell(shared, 100000)
        self.env["account.move"].with_company(company_2).create({
            "move_type": "out_invoice", "partner_id": shared.id, "invoice_date": "2026-01-20",
            "company_id": company_2.id,
            "invoice_line_ids": [Command.create({
                "name": "Hàng", "quantity": 1, "price_unit": 50000,
                "tax_ids": [Command.clear()]})],
        }).action_post()
        opportunities = self.Lead.search([("partner_id", "=", shared.id)])
        self.assertEqual(sorted(opportunities.company_id.ids), sorted([self.env.company.id,
                                                                       company_2.id]))
        self.assertTrue(all(opportunity.stage_id == self.stage["contract"]
                            for opportunity in opportunities))

    def test_each_card_names_its_own_documents(self):
        """Posting a batch for many customers: each opportunity's note names its customer's
        invoice, not the batch's."""
        buyers = self.Partner.create([{"name": f"Khách lô {i}"} for i in range(3)])
        invoices = self.env["account.move"].create([{
            "move_type": "out_invoice", "partner_id": buyer.id, "invoice_date": "2026-01-15",
            "invoice_line_ids": [Command.create({
                "name": "Hàng", "quantity": 1, "price_unit": 10000,
                "tax_ids": [Command.clear()]})],
        } for buyer in buyers])
        invoices.action_post()
        for invoice in invoices:
            opportunity = self.Lead.search([("partner_id", "=", invoice.partner_id.id)])
            body = opportunity.message_ids[0].body
            self.assertIn(invoice.name, body)
            for other in invoices - invoice:
                self.assertNotIn(other.name, body)
