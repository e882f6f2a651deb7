from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestPipelineTour(HttpCase):
    def test_salesperson_works_the_funnel_in_the_kanban(self):
        """Drag an opportunity to Quotation, quote from it, then read the funnel report."""
        salesperson = new_test_user(
            self.env, login="tour_salesperson", password="tour_salesperson",
            groups="sales_team.group_sale_salesman",
            lang="vi_VN")  # Vietnamese staff: the tour reads the stages' Vietnamese names
        customer = self.env["res.partner"].create({"name": "Khách tour"})
        opportunity = self.env["crm.lead"].create({
            "name": "Tour opportunity", "type": "opportunity", "partner_id": customer.id,
            "user_id": salesperson.id,
            "stage_id": self.env.ref("crm_retail.stage_opportunity").id,
        })
        self.start_tour("/odoo/crm", "crm_retail_pipeline_tour", login="tour_salesperson")
        self.assertEqual(opportunity.stage_id, self.env.ref("crm_retail.stage_quotation"))
        self.assertEqual(opportunity.order_ids.partner_id, customer)
