from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestPortalPoints(HttpCase):
    """The portal page of a customer of a shop selling in VND: points, their worth, the
    tier and the next one, all of the portal user's company (company-dependent)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        vnd = cls.env.ref("base.VND")
        vnd.active = True
        cls.shop = cls.env["res.company"].create({
            "name": "Cửa hàng Sao Mai", "currency_id": vnd.id, "retail_point_value": 1500,
        })
        Partner = cls.env["res.partner"]
        cls.own = Partner.create({"name": "Khách cổng thông tin"})
        cls.other = Partner.create({"name": "Khách khác"})
        cls.top = Partner.create({"name": "Khách hạng cao nhất"})
        in_shop = cls.env(context=dict(cls.env.context, allowed_company_ids=[cls.shop.id]))
        in_shop[Partner._name].browse(cls.own.id).retail_adjust_points(
            1042, "Quà sinh nhật của tôi")
        in_shop[Partner._name].browse(cls.other.id).retail_adjust_points(
            77, "Quà bí mật của người khác")
        in_shop[Partner._name].browse(cls.top.id).retail_adjust_points(6000, "Khách quen")
        # points in another company are not this shop's
        cls.own.retail_adjust_points(3333, "Điểm ở cửa hàng khác")
        cls.env.flush_all()
        # the shipped tiers, for every company: Member 0, Silver 500, Gold 2000, Diamond 5000
        cls.portal_user = new_test_user(
            cls.env, login="portal_points", password="portal_points",
            groups="base.group_portal", partner_id=cls.own.id,
            company_id=cls.shop.id, company_ids=[cls.shop.id])
        new_test_user(
            cls.env, login="portal_top", password="portal_top", groups="base.group_portal",
            partner_id=cls.top.id, company_id=cls.shop.id, company_ids=[cls.shop.id])

    def _page(self, login):
        self.authenticate(login, login)
        page = self.url_open("/my/points")
        self.assertEqual(page.status_code, 200)
        return page.text

    def test_portal_customer_sees_only_their_points(self):
        page = self._page("portal_points")
        self.assertIn("Quà sinh nhật của tôi", page)
        self.assertIn("1,042", page)
        self.assertNotIn("Quà bí mật", page)
        self.assertNotIn("3,333", page)
        self.assertNotIn("Điểm ở cửa hàng khác", page)
        home = self.url_open("/my")
        self.assertIn("/my/points", home.text)

    def test_title_point_value_and_next_tier(self):
        page = self._page("portal_points")
        self.assertIn("<title>Loyalty Points | Cửa hàng Sao Mai</title>", page)
        self.assertIn('<li class="breadcrumb-item active">Loyalty Points</li>', page)
        # the value of a point and of the balance, in VND without decimals
        self.assertRegex(page, r'Value of a Point</h6>\s*<h3[^>]*>'
                               r'<span class="oe_currency_value">1,500</span>\xa0₫</h3>')
        self.assertRegex(page, r'Worth <span[^>]*><span class="oe_currency_value">1,563,000'
                               r'</span>\xa0₫</span>')
        # 1,042 lifetime points in this shop: Silver, Gold at 2,000 is 958 points away
        self.assertRegex(page, r'Tier</h6>\s*<h3[^>]*>Silver</h3>')
        self.assertIn("Next tier: <strong>Gold</strong>", page)
        self.assertRegex(page, r"Points still needed:\s*<strong[^>]*>958</strong>")

    def test_next_tier_on_spend(self):
        self.shop.retail_tier_basis = "spend"
        for xmlid, threshold in (("silver", 5e6), ("gold", 2e7), ("diamond", 5e7)):
            self.env.ref(f"crm_retail.tier_{xmlid}").threshold = threshold
        self.own.with_company(self.shop)._retail_update_tiers()
        page = self._page("portal_points")
        # nothing bought in the last 12 months: Member, Silver is 5,000,000 ₫ of spend away
        self.assertRegex(page, r'Tier</h6>\s*<h3[^>]*>Member</h3>')
        self.assertIn("Next tier: <strong>Silver</strong>", page)
        self.assertRegex(
            page, r"Spending still needed within 12 months:\s*<strong[^>]*>"
                  r'<span class="oe_currency_value">5,000,000</span>\xa0₫</strong>')

    def test_top_tier_has_no_next_tier(self):
        page = self._page("portal_top")
        self.assertIn("Diamond", page)
        self.assertNotIn("Next tier", page)
        self.assertIn("You are in our highest tier.", page)

    def test_history_rule_for_portal_users(self):
        lines = self.env["retail.points.line"].with_user(self.portal_user).search([])
        self.assertEqual(lines.partner_id, self.own)
