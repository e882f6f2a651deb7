"""Every menu crm_retail adds opens without a client error, for each role, on a desktop
and on a phone.

Web's clickbot works per app (a top-level menu) and clicks every menu of it. To limit it to
our menus, each test builds a temporary app whose sections (one per app our menus sit in:
Sales, Invoicing, CRM) hold a copy of each crm_retail menu *this user sees* in the real
menus (groups of the menu and its ancestors, read access to the action's model), then
runs the clickbot on that app as the user: it opens each menu, clicks each filter and
switches through the views. Our helper (static/tests/click/retail_click.js) then opens the
first record of each list or kanban view in its form, which the clickbot does not.

On a phone the clickbot cannot run (it looks for the desktop apps dropdown and navbar
sections; the small-screen web client has a burger menu instead): the helper alone walks
the burger menu there, switches views through the phone's dropdown and opens records.
"""
import json

from dateutil.relativedelta import relativedelta

from odoo import Command, fields
from odoo.tests import new_test_user, tagged

from .common import RetailHttpCommon

CLICKBOT = ("odoo.loader.modules.get('@web/webclient/clickbot/clickbot_loader')"
            ".startClickEverywhere('%s')")
HELPER = "odoo.loader.modules.get('@crm_retail/../tests/click/retail_click')"
# The test assets load after the web client: wait for the helper too.
READY = f"odoo.isReady === true && !!{HELPER}"
CLICKBOT_SIGNAL = "clickbot test succeeded"
HELPER_SIGNAL = "crm_retail click test succeeded"
XMLID_MODULE = "__crm_retail_click__"

ROLES = {
    # Groups as test_role_matrix.py gives them, plus the crm_retail group the brief names
    # (also implied by the salesman group).
    "cashier": "sales_team.group_sale_salesman,account.group_account_invoice,"
               "crm_retail.group_crm_retail_user",
    "salesperson": "sales_team.group_sale_salesman",
    "accountant": "account.group_account_manager",
    # test_role_matrix.py's accountant: full accounting features, no invoicing rights.
    "bookkeeper": "account.group_account_user",
}


@tagged("post_install", "-at_install")
class TestClickEverywhere(RetailHttpCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        today = fields.Date.today()
        company = cls.env.company
        company.write({
            "retail_points_amount": 10000, "retail_point_value": 1000,
            "retail_points_min_amount": 0, "retail_tier_basis": "points",
        })
        Partner = cls.env["res.partner"].with_context(tracking_disable=True)
        cls.customers = Partner.create([
            {"name": "Chị Hoa", "phone": "0901234567", "retail_gender": "female",
             "email": "hoa@example.com", "customer_rank": 1},
            {"name": "Anh Minh", "phone": "0912345678", "retail_gender": "male",
             "email": "minh@example.com", "customer_rank": 1},
            {"name": "Cô Lan", "phone": "0987654321", "retail_gender": "female",
             "customer_rank": 1},
        ])
        cls.env["retail.tier"].create({
            "name": "Hạng Vàng", "threshold": 10, "company_id": company.id})
        long_ago = today - relativedelta(days=60)
        for partner, amount in zip(cls.customers, (500000, 1200000, 300000), strict=True):
            cls._sell(partner, amount, long_ago, due=long_ago)
            cls._sell(partner, amount // 2, today, due=today)
        payment = cls.env["account.payment"].create({
            "amount": 200000, "date": today, "payment_type": "inbound",
            "partner_type": "customer", "partner_id": cls.customers[1].id,
        })
        payment.action_post()
        cls.customers[0].retail_adjust_points(20, "Quà khai trương")
        if not cls.env["crm.lead"].search_count([("partner_id", "in", cls.customers.ids)]):
            cls.env["crm.lead"].create({
                "name": "Chị Hoa", "type": "opportunity", "partner_id": cls.customers[0].id})
        cls.env["retail.segment"].create({
            "name": "Khách nữ", "gender": "female", "company_id": company.id})
        cls.env.cr.flush()
        cls.env["retail.segment"].search([("company_id", "=", company.id)], limit=1)._recompute()
        cls.env["retail.debt.reminder.level"].create({
            "name": "Nhắc sau 5 ngày", "days_overdue": 5, "company_id": company.id,
            "mail_template_id": cls.env.ref("crm_retail.mail_template_debt_reminder_first").id,
        })
        cls.env["retail.debt.reminder"]._action_send_now(cls.customers)

        cls.users = {
            role: new_test_user(cls.env, login=f"click_{role}", password=f"click_{role}",
                                groups=groups, tour_enabled=False,
                                context={"no_reset_password": True})
            for role, groups in ROLES.items()
        }
        cls.users["admin"] = cls.env.ref("base.user_admin")
        cls.users["admin"].tour_enabled = False

    def _our_app(self, user):
        """A temporary app holding a copy of each crm_retail menu ``user`` sees, in one
        section per app the original sits in. Returns the app's xmlid and the copies' xmlids."""
        Menu = self.env["ir.ui.menu"]
        # The menus the web client gives this user (groups of the menu and its ancestors,
        # read access to the action's model), as load_menus computes them.
        shown = Menu.with_user(user).load_menus(False)
        ours = Menu.browse(sorted(
            menu["id"] for key, menu in shown.items()
            if key != "root" and menu["xmlid"].startswith("crm_retail.") and menu["action_id"]))
        self.assertTrue(ours, f"{user.login} sees no crm_retail menu")
        root = Menu.create({"name": "Retail click test", "sequence": 9999})
        records = {"click_root": root}
        apps = Menu.browse({int(menu.parent_path.split("/")[0]) for menu in ours})
        for app in apps.sorted("sequence"):
            section = Menu.create({"name": app.name, "parent_id": root.id,
                                   "sequence": app.sequence})
            for menu in ours.filtered(lambda m, app=app: m.parent_path.startswith(
                    f"{app.id}/")).sorted(lambda m: (m.parent_id.id, m.sequence)):
                records[menu.get_external_id()[menu.id].replace(".", "_")] = Menu.create({
                    "name": menu.name, "parent_id": section.id, "sequence": menu.sequence,
                    "action": f"{menu.action._name},{menu.action.id}",
                    "group_ids": [Command.set(menu.group_ids.ids)],
                })
        self.env["ir.model.data"].create([
            {"module": XMLID_MODULE, "name": name, "model": "ir.ui.menu", "res_id": rec.id}
            for name, rec in records.items()])
        copies = {rec.id for rec in records.values()}
        self.assertLessEqual(copies, Menu.with_user(user)._visible_menu_ids(),
                             "the user sees the whole temporary app")
        leaves = [f"{XMLID_MODULE}.{name}" for name in records if name != "click_root"]
        return f"{XMLID_MODULE}.click_root", leaves

    def _click(self, role, phone=False):
        user = self.users[role]
        app, leaves = self._our_app(user)
        # The helper fails unless it opened exactly these menus.
        options = json.dumps({"expected": leaves, "signal": phone})
        if phone:
            # Odoo's own phone tests (test_main_flows, web's test_js): the web client
            # switches to its small-screen UI below 768 px (env.isSmall).
            self.browser_size = "375x667"
            self.touch_enabled = True
            code = f"{HELPER}.run('{app}', {options})"
            signal = HELPER_SIGNAL
        else:
            self.browser_size = "1366x768"
            self.touch_enabled = False
            code = f"{HELPER}.run('{app}', {options}).then(() => {CLICKBOT % app})"
            signal = CLICKBOT_SIGNAL
        self.browser_js("/odoo", code, READY, login=user.login,
                        timeout=600, success_signal=signal)

    def test_desktop_admin(self):
        self._click("admin")

    def test_desktop_cashier(self):
        self._click("cashier")

    def test_desktop_salesperson(self):
        self._click("salesperson")

    def test_desktop_accountant(self):
        self._click("accountant")

    def test_desktop_bookkeeper(self):
        self._click("bookkeeper")

    def test_phone_admin(self):
        self._click("admin", phone=True)

    def test_phone_cashier(self):
        self._click("cashier", phone=True)

    def test_phone_salesperson(self):
        self._click("salesperson", phone=True)

    def test_phone_accountant(self):
        self._click("accountant", phone=True)
