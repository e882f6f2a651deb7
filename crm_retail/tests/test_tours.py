from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import new_test_user, tagged

from .common import RetailHttpCommon

# The tours run as Vietnamese staff and customers: the template database has vi_VN loaded.
LANG = "vi_VN"


@tagged("post_install", "-at_install")
class TestAccountantTour(RetailHttpCommon):
    """Aged receivables → the customer → its debt statement, printed → apply its unapplied
    payment to the oldest invoice first."""

    def test_accountant_collects_a_debt(self):
        new_test_user(
            self.env, login="tour_accountant", password="tour_accountant", lang=LANG,
            groups="account.group_account_invoice")
        today = fields.Date.context_today(self.env["res.partner"])
        customer = self.env["res.partner"].create({"name": "Khách nợ tour", "customer_rank": 1})
        # Overdue for a month (before this month: in the statement's opening balance) ...
        old = self._sell(customer, 1_000_000, today - timedelta(days=60),
                            due=today - timedelta(days=30))
        # ... not due yet, and a payment nobody applied: both in this month's statement.
        new = self._sell(customer, 2_000_000, today, due=today + timedelta(days=30))
        payment = self.env["account.payment"].create({
            "amount": 1_500_000, "date": today, "payment_type": "inbound",
            "partner_type": "customer", "partner_id": customer.id,
        })
        payment.action_post()

        # In tests the "PDF" renders as HTML, through this method, whichever way the
        # client asks for it (download, or the HTML viewer without wkhtmltopdf).
        Report = self.registry["ir.actions.report"]
        render_html = Report._render_qweb_html
        rendered = []

        def recording_render_html(report, report_ref, docids=None, data=None):
            html, report_type = render_html(report, report_ref, docids, data=data)
            rendered.append((report._get_report(report_ref).report_name, html.decode()))
            return html, report_type

        with patch.object(Report, "_render_qweb_html", recording_render_html):
            self.start_tour("/odoo", "crm_retail_accountant_tour", login="tour_accountant")

        # Print PDF rendered the statement report once, without error.
        statements = [html for name, html in rendered if name == "crm_retail.report_debt_statement"]
        self.assertEqual(len(statements), 1)
        # The payment paid the older invoice first, then part of the newer one.
        self.assertEqual(old.amount_residual, 0)
        self.assertIn(old.payment_state, ("paid", "in_payment"))
        self.assertEqual(new.amount_residual, 1_500_000)
        self.assertEqual(new.payment_state, "partial")
        self.env.cr.flush()
        customer.invalidate_recordset()
        self.assertEqual(customer.retail_debt_amount, 1_500_000)
        # ... and it holds this customer's statement: the client asks for a report with data
        # by its name only (/report/pdf/<name>?options=...), the customer in the context.
        self.assertIn("o_retail_debt_statement", statements[0])
        self.assertIn("Khách nợ tour", statements[0])


@tagged("post_install", "-at_install")
class TestManagerTour(RetailHttpCommon):
    """Segments → a new segment on net sales, its live count following the rule → save →
    recompute → revenue by segment."""

    def test_manager_builds_a_segment(self):
        new_test_user(
            self.env, login="tour_manager", password="tour_manager", lang=LANG,
            groups="sales_team.group_sale_manager,crm_retail.group_crm_retail_manager")
        today = fields.Date.context_today(self.env["res.partner"])
        Partner = self.env["res.partner"]
        big = Partner.create({"name": "Khách mua nhiều", "customer_rank": 1})
        small = Partner.create({"name": "Khách mua ít", "customer_rank": 1})
        Partner.create({"name": "Khách chưa mua", "customer_rank": 1})
        self._sell(big, 6_000_000, today, due=today)
        self._sell(small, 1_000_000, today, due=today)

        self.start_tour("/odoo", "crm_retail_manager_tour", login="tour_manager")

        segment = self.env["retail.segment"].search([("name", "=", "Khách chi tiêu lớn")])
        self.assertEqual(len(segment), 1)
        self.assertRecordValues(segment, [{"use_sales": True, "sales_min": 5_000_000}])
        holders = Partner.search([("category_id", "in", segment.tag_id.ids)])
        self.assertEqual(holders, big)
        members = self.env["retail.segment.member"].search(
            [("company_id", "=", segment.company_id.id)])
        self.assertEqual(members.filtered(lambda m: segment in m.segment_ids).partner_id, big)


@tagged("post_install", "-at_install")
class TestPortalTour(RetailHttpCommon):
    """A portal customer of a shop selling in VND: /my → their loyalty points page."""

    def test_portal_customer_sees_their_points(self):
        vnd = self.env.ref("base.VND")
        vnd.active = True
        shop = self.env["res.company"].create({
            "name": "Cửa hàng Sao Mai", "currency_id": vnd.id, "retail_point_value": 1500,
        })
        customer = self.env["res.partner"].create({"name": "Khách cổng tour", "lang": LANG})
        in_shop = self.env(context=dict(self.env.context, allowed_company_ids=[shop.id]))
        in_shop["res.partner"].browse(customer.id).retail_adjust_points(
            1042, "Quà sinh nhật")
        self.env.flush_all()
        # the shipped tiers: Member 0, Silver 500, Gold 2000, Diamond 5000
        new_test_user(
            self.env, login="tour_portal", password="tour_portal", lang=LANG,
            name="Khách cổng tour", groups="base.group_portal", partner_id=customer.id,
            company_id=shop.id, company_ids=[shop.id])
        self.start_tour("/my", "crm_retail_portal_tour", login="tour_portal")
