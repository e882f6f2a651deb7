from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestPortalPoints(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.own = Partner.create({"name": "Khách cổng thông tin"})
        cls.other = Partner.create({"name": "Khách khác"})
        cls.own.retail_adjust_points(42, "Quà sinh nhật của tôi")
        cls.other.retail_adjust_points(77, "Quà bí mật của người khác")
        cls.portal_user = new_test_user(
            cls.env, login="portal_points", password="portal_points",
            groups="base.group_portal", partner_id=cls.own.id)

    def test_portal_customer_sees_only_their_points(self):
        self.authenticate("portal_points", "portal_points")
        page = self.url_open("/my/points")
        self.assertEqual(page.status_code, 200)
        self.assertIn("Quà sinh nhật của tôi", page.text)
        self.assertIn("42", page.text)
        self.assertNotIn("Quà bí mật", page.text)
        home = self.url_open("/my")
        self.assertIn("/my/points", home.text)

    def test_history_rule_for_portal_users(self):
        lines = self.env["retail.points.line"].with_user(self.portal_user).search([])
        self.assertEqual(lines.partner_id, self.own)
