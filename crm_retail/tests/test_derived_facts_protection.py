import re

from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import SQL, mute_logger
from odoo.tools.view_validation import get_domain_value_names, get_expression_field_names

from ..models.res_partner_loyalty import MAX_POINTS
from ..models.retail_fields import DERIVED_FIELDS
from .common import POINTS_SETTINGS, RetailCommon

DEBT_FIELDS = ["retail_debt_amount", "retail_debt_overdue_amount", "retail_debt_overdue_days",
               "retail_debt_status"]
LOYALTY_FIELDS = ["retail_loyalty_points", "retail_loyalty_points_total", "retail_loyalty_tier_id",
                  "retail_total_sales", "retail_purchase_count", "retail_last_purchase_date",
                  "retail_stage_id"]
INT4_MAX = 2_147_483_647


class DerivedFactsCommon(RetailCommon):
    """A customer with a posted overdue invoice (debt, points, statistics, an opportunity in the
    pipeline) and one user per role."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.write(POINTS_SETTINGS)
        cls.accountant = new_test_user(
            cls.env, login="dfp_accountant", groups="account.group_account_invoice")
        cls.auditor = new_test_user(
            cls.env, login="dfp_auditor", groups="account.group_account_readonly")
        cls.retail_user = new_test_user(
            cls.env, login="dfp_retail_user", groups="crm_retail.group_crm_retail_user")
        # An employee who keeps contacts, without Sales, Invoicing or Retail CRM rights.
        cls.plain = new_test_user(cls.env, login="dfp_plain",
                                  groups="base.group_user,base.group_partner_manager")
        cls.Lead = cls.env["crm.lead"]
        cls.lead = cls.Lead.create({
            "name": cls.customer.name, "partner_id": cls.customer.id, "type": "opportunity"})
        cls.invoice = cls._sell(cls.customer, 500000, date="2025-01-15")
        cls.env.cr.flush()  # the facts refresh runs when the transaction is flushed

    def _facts(self, partner, names):
        partner = partner.sudo()
        partner.invalidate_recordset(names)
        return partner.read(names)[0]


@tagged("post_install", "-at_install")
class TestDerivedFactsWrite(DerivedFactsCommon):
    """No user writes a derived fact, through any API; the engine (superuser) does."""

    def test_fixture_has_facts(self):
        facts = self._facts(self.customer, DEBT_FIELDS + LOYALTY_FIELDS)
        self.assertEqual(facts["retail_debt_amount"], 500000)
        self.assertIn(facts["retail_debt_status"], ("owes", "overdue"))
        self.assertEqual(facts["retail_loyalty_points"], 50)
        self.assertEqual(facts["retail_purchase_count"], 1)
        self.assertTrue(facts["retail_stage_id"])

    def test_every_role_is_refused_every_fact(self):
        tier = self.env.ref("crm_retail.tier_diamond")
        stage = self.env.ref("crm_retail.stage_target")
        attempts = {
            "debt": {"retail_debt_amount": 0, "retail_debt_overdue_amount": 0,
                     "retail_debt_overdue_days": 0,
                     "retail_debt_status": "none"},
            "points": {"retail_loyalty_points": 99999, "retail_loyalty_points_total": 99999,
                       "retail_loyalty_tier_id": tier.id},
            "sales": {"retail_total_sales": 0, "retail_purchase_count": 0,
                      "retail_last_purchase_date": False},
            "stage": {"retail_stage_id": stage.id},
            "care": {"retail_birthday_greeted_year": 2099, "retail_thank_you_date": "2026-01-01",
                     "retail_followup_date": "2026-01-01"},
        }
        # A new customer may be created with a fact's default value (0, none), no other.
        forged = {
            "debt": {"retail_debt_amount": 1, "retail_debt_overdue_amount": 1,
                     "retail_debt_overdue_days": 1,
                     "retail_debt_status": "overdue"},
            "sales": {"retail_total_sales": 1, "retail_purchase_count": 1,
                      "retail_last_purchase_date": "2026-01-01"},
        }
        self.assertEqual({name for vals in attempts.values() for name in vals},
                         set(DERIVED_FIELDS), "every derived field is tried")
        names = list(DERIVED_FIELDS)
        before = self._facts(self.customer, names)
        for user in (self.salesman, self.cashier, self.accountant, self.sales_manager):
            for group, vals in attempts.items():
                for fname, value in vals.items():
                    with self.subTest(user=user.login, field=fname), \
                            self.assertRaisesRegex(UserError, re.escape(f"({fname})")):
                        self.customer.with_user(user).write({fname: value, "comment": "x"})
                with self.subTest(user=user.login, group=group, create=True), \
                        self.assertRaisesRegex(UserError, "cannot be set by hand"):
                    self.Partner.with_user(user).create(
                        {"name": "Giả mạo", **forged.get(group, vals)})
        self.assertEqual(self._facts(self.customer, names), before)
        self.assertFalse(self.customer.comment, "nothing of a refused write is saved")
        self.assertFalse(self.Partner.search([("name", "=", "Giả mạo")]))

    def test_error_says_what_to_do_instead(self):
        with self.assertRaisesRegex(UserError, "journal items"):
            self.customer.with_user(self.cashier).write({"retail_debt_status": "none"})
        with self.assertRaisesRegex(UserError, "points adjustment"):
            self.customer.with_user(self.cashier).write({"retail_loyalty_points": 1})
        with self.assertRaisesRegex(UserError, "move the opportunity"):
            self.customer.with_user(self.salesman).write(
                {"retail_stage_id": self.env.ref("crm_retail.stage_target").id})

    def test_context_defaults_are_dropped(self):
        """A list grouped by tier quick-creates with the tier as default: not forged."""
        diamond = self.env.ref("crm_retail.tier_diamond")
        partner = self.Partner.with_user(self.salesman).with_context(
            default_loyalty_points=500, default_loyalty_tier_id=diamond.id,
            default_debt_status="overdue", default_function="Kế toán",
        ).create({"name": "Khách mới"})
        partner = partner.sudo()
        self.assertEqual(partner.retail_loyalty_points, 0)
        self.assertNotEqual(partner.retail_loyalty_tier_id, diamond)
        self.assertEqual(partner.retail_debt_status, "none", "the company fallback")
        self.assertEqual(partner.function, "Kế toán", "other defaults still apply")

    def test_copies_carry_no_facts(self):
        """Duplicating a customer, an opportunity or an invoice gives the user's create no fact."""
        copy = self.customer.with_user(self.salesman).copy().sudo()
        self.assertRecordValues(copy, [{"retail_debt_amount": 0, "retail_loyalty_points": 0,
                                        "retail_purchase_count": 0,
                                        "retail_loyalty_tier_id": False}])
        self.assertFalse(self.lead.with_user(self.sales_manager).copy().retail_fact_step)
        self.assertFalse(self.invoice.with_user(self.cashier).copy().retail_points)

    def test_invoice_points_refused(self):
        for user in (self.cashier, self.accountant):
            with self.subTest(user=user.login), \
                    self.assertRaisesRegex(UserError, r"\(retail_points\)"):
                self.invoice.with_user(user).write({"retail_points": 9999})
        self.assertEqual(self.invoice.retail_points, 50)
        # What the user may change still saves.
        self.invoice.with_user(self.accountant).write({"ref": "Đơn 42"})
        self.assertEqual(self.invoice.ref, "Đơn 42")

    def test_card_funnel_facts_refused(self):
        before = self.lead.retail_fact_step
        for vals in ({"retail_fact_step": 7}, {"retail_funnel_step": "7"}):
            with self.subTest(vals=vals), self.assertRaisesRegex(UserError, "funnel step"):
                self.lead.with_user(self.sales_manager).write(vals)
            with self.subTest(vals=vals, create=True), \
                    self.assertRaisesRegex(UserError, "funnel step"):
                self.Lead.with_user(self.salesman).create({"name": "Giả", **vals})
        self.assertEqual(self.lead.retail_fact_step, before)
        # Dragging the opportunity stays a person's right.
        stage = self.env.ref("crm_retail.stage_target")
        self.lead.with_user(self.sales_manager).write({"stage_id": stage.id})
        self.assertEqual(self.lead.retail_funnel_step, stage.retail_funnel_step)

    def test_segment_memberships_refused(self):
        self.env.cr.execute(SQL(
            """INSERT INTO retail_segment_member (partner_id, company_id, segment_ids)
               VALUES (%s, %s, '{}') ON CONFLICT (partner_id, company_id)
               DO UPDATE SET segment_ids = retail_segment_member.segment_ids RETURNING id""",
            self.customer.id, self.env.company.id))
        member = self.env["retail.segment.member"].browse(self.env.cr.fetchone()[0])
        Member = self.env["retail.segment.member"].with_user(self.sales_manager)
        self.assertEqual(Member.search([("id", "=", member.id)]), member, "readable")
        with self.assertRaisesRegex(UserError, "segment rules"):
            Member.create({"partner_id": self.customer.id, "company_id": self.env.company.id})
        with self.assertRaisesRegex(UserError, "segment rules"):
            member.with_user(self.sales_manager).write({"partner_id": self.salesman.partner_id.id})
        with self.assertRaisesRegex(UserError, "segment rules"):
            member.with_user(self.sales_manager).unlink()
        self.assertTrue(member.exists())
        self.assertEqual(member.partner_id, self.customer)

    def test_engine_still_writes(self):
        """Posting, as an accountant who sees neither Sales nor Retail CRM, moves the
        facts; the engine's own superuser writes pass."""
        invoice = self._sell(self.customer, 200000, date="2026-01-20", post=False)
        invoice.with_user(self.accountant).action_post()
        self.env.cr.flush()
        facts = self._facts(self.customer, ["retail_debt_amount", "retail_loyalty_points",
                                            "retail_purchase_count"])
        self.assertEqual(facts["retail_debt_amount"], 700000)
        self.assertEqual(facts["retail_loyalty_points"], 70)
        self.assertEqual(facts["retail_purchase_count"], 2)
        self.assertEqual(invoice.retail_points, 20)
        self.customer.sudo().write({"retail_birthday_greeted_year": 2026})
        self.assertEqual(self.customer.retail_birthday_greeted_year, 2026)

    def test_merge_still_moves_the_facts(self):
        """A salesperson merges a duplicate (without journal items, as Odoo requires of
        non-administrators): its points follow, through the engine's writes."""
        other = self.Partner.create({"name": "Nguyễn Văn An (trùng)"})
        other.retail_adjust_points(10, "Khách cũ")
        self.env.cr.flush()
        merger = new_test_user(self.env, login="dfp_merger",
                               groups="sales_team.group_sale_salesman,base.group_partner_manager")
        wizard = self.env["base.partner.merge.automatic.wizard"].with_user(merger).create({
            "partner_ids": [Command.set((self.customer + other).ids)],
            "dst_partner_id": self.customer.id,
        })
        with mute_logger("odoo.addons.base.wizard.base_partner_merge"):
            wizard.action_merge()
        self.env.cr.flush()
        self.assertFalse(other.exists())
        facts = self._facts(self.customer, ["retail_loyalty_points", "retail_purchase_count"])
        self.assertEqual(facts["retail_loyalty_points"], 60)
        self.assertEqual(facts["retail_purchase_count"], 1)


@tagged("post_install", "-at_install")
class TestDerivedFactsRead(DerivedFactsCommon):
    """Debt and points are read like Odoo's credit: by the roles whose job needs them."""

    def _assert_reads(self, user, names, allowed):
        partner = self.customer.with_user(user)
        for fname in names:
            with self.subTest(user=user.login, field=fname):
                partner.invalidate_recordset([fname])
                if allowed:
                    partner.read([fname])
                    partner.search_count([(fname, "!=", False)])
                else:
                    with self.assertRaises(AccessError):
                        partner.read([fname])
                    with self.assertRaises(AccessError):
                        partner.search_count([(fname, "!=", False)])

    def test_who_reads_what(self):
        self._assert_reads(self.plain, DEBT_FIELDS + LOYALTY_FIELDS, allowed=False)
        for user in (self.salesman, self.cashier, self.accountant, self.sales_manager):
            self._assert_reads(user, DEBT_FIELDS + LOYALTY_FIELDS, allowed=True)
        self._assert_reads(self.auditor, DEBT_FIELDS, allowed=True)
        self._assert_reads(self.auditor, LOYALTY_FIELDS, allowed=False)
        self._assert_reads(self.retail_user, LOYALTY_FIELDS, allowed=True)
        self._assert_reads(self.retail_user, DEBT_FIELDS, allowed=False)

    def test_plain_user_still_works_with_contacts(self):
        Partner = self.Partner.with_user(self.plain)
        partner = Partner.create({"name": "Nhà cung cấp", "phone": "0912345678"})
        partner.write({"phone": "0912 345 679", "comment": "ok"})
        self.assertFalse({"retail_debt_amount", "retail_loyalty_points"} & set(
            Partner.fields_get(["retail_debt_amount", "retail_loyalty_points", "name"])))
        self.assertEqual(self.customer.with_user(self.plain).read(["name"])[0]["name"],
                         self.customer.name)

    def test_views_load_for_every_role(self):
        """Each role gets the customer views with no expression left pointing to a
        field it cannot read (the web client would fail on it)."""
        views = [(False, "form"), (False, "list"), (False, "kanban"), (False, "search"),
                 (self.env.ref("crm_retail.res_partner_view_list_points").id, "list")]
        roles = [self.plain, self.auditor, self.retail_user, self.accountant, self.salesman,
                 self.cashier, self.sales_manager]
        for user in roles:
            Partner = self.Partner.with_user(user)
            result = Partner.get_views(views)
            readable = {name for name, field in Partner._fields.items()
                        if Partner._has_field_access(field, "read")}
            for view_type, view in result["views"].items():
                with self.subTest(user=user.login, view=view_type):
                    arch = etree.fromstring(view["arch"])
                    self._assert_arch_reads_only(arch, readable)
                    # The record loads with what the view asks for.
                    if view_type in ("form", "list", "kanban"):
                        self.customer.with_user(user).web_read({
                            node.get("name"): {} for node in arch.iter("field")
                            if not any(parent.tag == "field" for parent in node.iterancestors())
                        })
            shown = set(result["models"]["res.partner"]["fields"])
            self.assertEqual(bool(shown & set(DEBT_FIELDS)),
                             user.has_group("account.group_account_invoice")
                             or user.has_group("account.group_account_readonly")
                             or user.has_group("sales_team.group_sale_salesman"), user.login)
            self.assertEqual(bool(shown & set(LOYALTY_FIELDS)),
                             user.has_group("crm_retail.group_crm_retail_user")
                             or user.has_group("account.group_account_invoice"), user.login)

    def _assert_arch_reads_only(self, arch, readable):
        for node in arch.iter():
            # Sub-views of relational fields are about other models.
            if not isinstance(node.tag, str) or any(
                    parent.tag == "field" for parent in node.iterancestors()):
                continue
            names = set()
            for attr, expr in node.attrib.items():
                if attr in ("invisible", "readonly", "required", "column_invisible") \
                        or attr.startswith("decoration-"):
                    names |= get_expression_field_names(expr)
                elif attr in ("t-if", "t-elif"):
                    names |= set(re.findall(r"record\.(\w+)", expr))
                elif node.tag == "filter" and attr == "domain":
                    names |= get_domain_value_names(expr)[0]
                elif node.tag == "filter" and attr == "context":
                    names |= set(re.findall(r"'group_by':\s*'(\w+)'", expr))
            names = {name.split(".")[0] for name in names} - {"parent", "context", "id"}
            self.assertFalse(names - readable, etree.tostring(node)[:300])

    def test_engine_reads_as_superuser(self):
        """An opportunity created for a customer reads the statistics whoever creates it."""
        lead = self.Lead.with_user(self.sales_manager).create({
            "name": "Lần sau", "partner_id": self.customer.id, "type": "opportunity"})
        self.assertEqual(lead.stage_id, self.env.ref("crm_retail.stage_opportunity"))


@tagged("post_install", "-at_install")
class TestDerivedFactsBadInput(DerivedFactsCommon):
    """Bad input on the public methods: a clear error and nothing saved."""

    def setUp(self):
        super().setUp()
        self.manager_customer = self.customer.with_user(self.sales_manager)
        self.history_count = self.env["retail.points.line"].search_count([])

    def assertNothingSaved(self):
        self.assertEqual(self.env["retail.points.line"].search_count([]), self.history_count)
        self.assertEqual(self._facts(self.customer,
                                     ["retail_loyalty_points"])["retail_loyalty_points"], 50)

    def test_adjust_points_bad_reason(self):
        for reason in (5, ["Quà"], {"lý do": 1}, 2.5, True):
            with self.subTest(reason=reason), self.assertRaisesRegex(UserError, "must be text"):
                self.manager_customer.retail_adjust_points(10, reason)
        for reason in (None, False, "", "   "):
            with self.subTest(reason=reason), self.assertRaisesRegex(UserError, "reason"):
                self.manager_customer.retail_adjust_points(10, reason)
        self.assertNothingSaved()

    def test_adjust_points_bad_number(self):
        for points in (True, 1.5, 10.0, "10", None, [10], 0):
            with self.subTest(points=points), self.assertRaisesRegex(UserError, "whole number"):
                self.manager_customer.retail_adjust_points(points, "Quà")
        for points in (INT4_MAX, -INT4_MAX - 1, MAX_POINTS + 1, -MAX_POINTS - 1, 10**20):
            with self.subTest(points=points), self.assertRaisesRegex(UserError, "At most"):
                self.manager_customer.retail_adjust_points(points, "Quà")
        self.assertNothingSaved()

    def test_adjust_points_lifetime_bound(self):
        self.manager_customer.retail_adjust_points(MAX_POINTS - 50, "Khách đặc biệt")
        self.history_count += 1
        self.env.cr.flush()
        with self.assertRaisesRegex(UserError, "in all"):
            self.manager_customer.retail_adjust_points(1, "Quà")
        self.assertEqual(self.env["retail.points.line"].search_count([]), self.history_count)
        self.manager_customer.retail_adjust_points(-10, "Sửa")

    def test_adjust_points_one_customer(self):
        two = (self.customer | self.salesman.partner_id).with_user(self.sales_manager)
        for partners in (two, two.browse()):
            with self.subTest(count=len(partners)), \
                    self.assertRaisesRegex(UserError, "one customer at a time"):
                partners.retail_adjust_points(10, "Quà")
        self.assertNothingSaved()

    def test_redeem_bad_number(self):
        draft = self._sell(self.customer, 300000, post=False)
        lines = len(draft.invoice_line_ids)
        for points in (True, 2.5, "5", None, 0, -5):
            with self.subTest(points=points), self.assertRaisesRegex(UserError, "whole number"):
                draft.with_user(self.cashier).retail_redeem_points(points)
        for points in (INT4_MAX, MAX_POINTS + 1):
            with self.subTest(points=points), self.assertRaisesRegex(UserError, "At most"):
                draft.with_user(self.cashier).retail_redeem_points(points)
        with self.assertRaisesRegex(UserError, "one document at a time"):
            (draft | self.invoice).with_user(self.cashier).retail_redeem_points(5)
        self.assertEqual(len(draft.invoice_line_ids), lines)
        self.assertNothingSaved()

    def test_customer_code_not_text(self):
        count = self.Partner.search_count([])
        code = self.customer.ref
        for ref in (123, ["KH1"], {"a": 1}, 1.5, True, 0):
            with self.subTest(ref=ref), self.assertRaisesRegex(ValidationError, "must be text"):
                self.Partner.with_user(self.salesman).create({"name": "Mã số", "ref": ref})
            with self.subTest(ref=ref, write=True), \
                    self.assertRaisesRegex(ValidationError, "must be text"):
                self.customer.with_user(self.salesman).write({"ref": ref})
        self.assertEqual(self.Partner.search_count([]), count)
        self.assertEqual(self.customer.ref, code)
        # Text is stripped; no code at all still draws one.
        self.customer.with_user(self.salesman).write({"ref": "  KH-99 "})
        self.assertEqual(self.customer.ref, "KH-99")
        self.assertTrue(self.Partner.create({"name": "Không mã", "ref": False}).ref)

    def test_wizards_bad_values(self):
        draft = self._sell(self.customer, 300000, post=False)
        Redeem = self.env["retail.points.redeem"].with_user(self.cashier)
        for vals, message in [
            ({"move_id": draft.id, "points": INT4_MAX}, "At most"),
            ({"move_id": draft.id, "points": "abc"}, "whole number"),
            ({"move_id": draft.id, "points": 1.5}, "whole number"),
            ({"move_id": draft.id, "points": -1}, "whole number"),
            ({"move_id": "abc", "points": 5}, "invoice or an order"),
            ({"move_id": draft.id, "sale_order_id": self._quotation(self.cashier).id,
              "points": 5}, "invoice or an order"),
        ]:
            with self.subTest(vals=vals), self.assertRaisesRegex(UserError, message):
                Redeem.create(vals)
        wizard = Redeem.create({"move_id": draft.id, "points": 5})
        with self.assertRaisesRegex(UserError, "At most"):
            wizard.write({"points": INT4_MAX})
        self.assertEqual(wizard.points, 5)
        with self.assertRaisesRegex(UserError, "invoice or an order"):
            Redeem.create({"points": 5}).action_redeem()

        Adjust = self.env["retail.points.adjust"].with_user(self.sales_manager)
        for vals, message in [
            ({"partner_id": self.customer.id, "points": INT4_MAX, "reason": "x"}, "At most"),
            ({"partner_id": self.customer.id, "points": 0.5, "reason": "x"}, "whole number"),
            ({"partner_id": self.customer.id, "points": 5, "reason": 5}, "must be text"),
            ({"partner_id": "abc", "points": 5, "reason": "x"}, "Choose the customer"),
        ]:
            with self.subTest(vals=vals), self.assertRaisesRegex(UserError, message):
                Adjust.create(vals)
        self.assertEqual(self.env["retail.points.redeem"].sudo().search_count([]), 2)
        self.assertFalse(self.env["retail.points.adjust"].sudo().search_count([]))
        self.assertNothingSaved()

    def _quotation(self, user):
        return self.env["sale.order"].create({
            "partner_id": self.customer.id,
            "user_id": user.id,
            "order_line": [Command.create({"product_id": self.product_a.id,
                                           "product_uom_qty": 1, "price_unit": 500000})],
        })


@tagged("post_install", "-at_install")
class TestRedeemWizardAccess(DerivedFactsCommon):
    """The redemption wizard shows only what the user can read."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.setup_other_company(name="Cửa hàng B")["company"]
        cls.customer_b = cls.Partner.create({"name": "Khách B", "company_id": cls.company_b.id})
        cls.invoice_b = cls.env["account.move"].with_company(cls.company_b).create({
            "move_type": "out_invoice",
            "partner_id": cls.customer_b.id,
            "invoice_date": "2026-01-15",
            "invoice_line_ids": [Command.create({
                "name": "Hàng", "quantity": 1, "price_unit": 777000,
                "tax_ids": [Command.clear()]})],
        })
        order_line = [Command.create({"product_id": cls.product_a.id,
                                      "product_uom_qty": 1, "price_unit": 400000})]
        cls.own_quotation, cls.other_quotation = cls.env["sale.order"].create([
            {"partner_id": cls.customer.id, "user_id": cls.cashier.id,
             "order_line": order_line},
            {"partner_id": cls.customer.id, "user_id": cls.sales_manager.id,
             "order_line": order_line},
        ])

    def _open(self, user, **defaults):
        """The wizard as the web client opens it (defaults, then the onchange)."""
        context = {f"default_{key}": value for key, value in defaults.items()}
        return Form(self.env["retail.points.redeem"].with_user(user).with_context(**context))

    def test_other_company_invoice(self):
        with self.assertRaises(AccessError):
            self._open(self.cashier, move_id=self.invoice_b.id)
        Redeem = self.env["retail.points.redeem"].with_user(self.cashier)
        with self.assertRaises(AccessError):
            Redeem.create({"move_id": self.invoice_b.id, "points": 1})
        # Even a wizard record that got the document shows nothing of it.
        wizard = Redeem.sudo().create({"move_id": self.invoice_b.id, "points": 1}) \
            .with_user(self.cashier)
        with self.assertRaises(AccessError):
            wizard.read(["partner_id", "amount_due", "points_available"])

    def test_other_salesperson_quotation(self):
        with self.assertRaises(AccessError):
            self._open(self.cashier, sale_order_id=self.other_quotation.id)
        with self.assertRaises(AccessError):
            self.other_quotation.with_user(self.cashier).retail_redeem_points(1)
        self.assertFalse(self.other_quotation.order_line.filtered("retail_points_redeemed"))

    def test_readable_documents_show_balance_and_amount(self):
        form = self._open(self.cashier, sale_order_id=self.own_quotation.id)
        self.assertEqual(form.partner_id, self.customer)
        self.assertEqual(form.points_available, 50)
        self.assertEqual(form.amount_due, self.own_quotation.amount_total)
        form.points = 10
        self.assertEqual(form.amount, 10000)
        form.save().action_redeem()
        self.assertEqual(self.own_quotation.retail_points_redeemed, 10)
        draft = self._sell(self.customer, 300000, post=False)
        form = self._open(self.cashier, move_id=draft.id)
        self.assertEqual((form.points_available, form.amount_due), (40, 300000))

    def test_adjust_wizard_other_company_customer(self):
        manager_a = new_test_user(self.env, login="dfp_manager_a",
                                  groups="sales_team.group_sale_manager")
        with self.assertRaises(AccessError):
            Form(self.env["retail.points.adjust"].with_user(manager_a).with_context(
                default_partner_id=self.customer_b.id))
        with self.assertRaises(AccessError):
            self.env["retail.points.adjust"].with_user(manager_a).create(
                {"partner_id": self.customer_b.id, "points": 5, "reason": "x"})
        form = Form(self.env["retail.points.adjust"].with_user(manager_a).with_context(
            default_partner_id=self.customer.id))
        self.assertEqual(form.points_available, 50)
