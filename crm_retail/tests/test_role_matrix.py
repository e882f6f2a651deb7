"""Who may do what: one class per role, one table of cases for all of them.

Each case is run as the role's user in a savepoint that is rolled back afterwards, so the
cases are independent. An allowed case must succeed (and, when it has a state, change
it); a forbidden one must raise the expected error and leave the state unchanged,
re-read as superuser at the moment of the error (after the rollback for creations: Odoo
checks record rules on the rows it has just inserted).

The portal pages are checked over HTTP at the end of the file."""
import contextlib

from dateutil.relativedelta import relativedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import RetailCommon

TODAY = fields.Date.today()
LONG_AGO = TODAY - relativedelta(days=60)

ROLES = ("cashier", "salesperson", "accountant", "manager", "portal", "internal",
         "other_company")
# Expectation symbols, one per role in the order of ROLES:
#   +  allowed
#   A  AccessError
#   U  UserError or ValidationError, not an AccessError: a business rule, for a user whose
#      access rights would let the operation through
#   X  AccessError or UserError: the access rights and the business rule both forbid it,
#      which one speaks first is the implementation's choice
CHECKS = {
    "A": lambda error: isinstance(error, AccessError),
    "U": lambda error: isinstance(error, UserError) and not isinstance(error, AccessError),
    "X": lambda error: isinstance(error, UserError),
}

DEBT_FIELDS = ["retail_debt_amount", "retail_debt_overdue_amount", "retail_debt_overdue_days",
               "retail_debt_status"]
POINTS_FIELDS = ["retail_loyalty_points", "retail_loyalty_points_total", "retail_loyalty_tier_id"]
STATS_FIELDS = ["retail_total_sales", "retail_purchase_count", "retail_last_purchase_date",
                "retail_stage_id"]
DERIVED_FIELDS = DEBT_FIELDS + POINTS_FIELDS + STATS_FIELDS


def _as(env, record):
    return env[record._name].browse(record.ids)


def _redeem_wizard(env, **document):
    wizard = env["retail.points.redeem"].create(document)
    return wizard.read(["partner_id", "points_available", "amount_due", "company_id"])


def _creates(action):
    """Mark a case that creates records. Odoo checks record rules on the rows it has
    just inserted and the request's rollback removes them: the state of such a case is
    compared after the rollback, not at the moment of the error."""
    action.creates = True
    return action


def _cases():
    """(name, expectations for C S A M P I B, action(test, env), state(test) or None)."""
    derived_values = {
        "retail_debt_amount": 0.0, "retail_debt_overdue_amount": 0.0, "retail_debt_overdue_days": 0,
        "retail_debt_status": "none", "retail_loyalty_points": 99999,
        "retail_loyalty_points_total": 99999,
        "retail_loyalty_tier_id": lambda t: t.tier.id, "retail_total_sales": 1.0,
        "retail_purchase_count": 99, "retail_last_purchase_date": "2000-01-01",
        "retail_stage_id": lambda t: t.other_stage.id,
    }

    def value(t, fname):
        given = derived_values[fname]
        return given(t) if callable(given) else given

    def facts(t):
        return t.snapshot(t.buyer, DERIVED_FIELDS)

    def forged_partners(t):
        return t.count("res.partner", [("name", "=like", "Khách giả mạo%")])

    cases = [
        # --- the customer (a customer of company A) -------------------------------
        ("customer: read name", "+ + + + A + A",
         lambda t, env: _as(env, t.buyer).read(["name", "ref"]), None),
        ("customer: read debt figures", "+ + + + A A A",
         lambda t, env: _as(env, t.buyer).read(DEBT_FIELDS), None),
        ("customer: read points and tier", "+ + + + A A A",
         lambda t, env: _as(env, t.buyer).read(POINTS_FIELDS), None),
        ("customer: write phone", "+ + A + A A A",
         lambda t, env: _as(env, t.buyer).write({"phone": "0909 111 222"}),
         lambda t: t.snapshot(t.buyer, ["phone"])),
    ]
    for fname in DERIVED_FIELDS:
        cases += [
            (f"customer: write {fname}", "U U X U X X X",
             lambda t, env, f=fname: _as(env, t.buyer).write({f: value(t, f)}), facts),
            (f"customer: create with {fname}", "U U X U X X U",
             _creates(lambda t, env, f=fname: env["res.partner"].create(
                 {"name": f"Khách giả mạo {f}", f: value(t, f)})), forged_partners),
        ]
    cases += [
        ("customer: adjust points", "A A A + A A A",
         lambda t, env: _as(env, t.buyer).retail_adjust_points(5, "Tặng điểm"),
         lambda t: t.points_state(t.buyer)),
        ("customer: adjust points through the wizard", "A A A + A A A",
         lambda t, env: env["retail.points.adjust"].create({
             "partner_id": t.buyer.id, "points": 5, "reason": "Tặng điểm"}).action_adjust(),
         lambda t: t.points_state(t.buyer)),
        ("customer: open apply payments", "+ A + A A A A",
         lambda t, env: _as(env, t.buyer).action_retail_apply_payments(),
         lambda t: t.count("retail.debt.reconcile", [("partner_id", "=", t.buyer.id)])),
        # --- invoices: the points they carry, paying with points ------------------
        ("invoice: read points", "+ A + + A A A",
         lambda t, env: _as(env, t.invoice).read(["retail_points"]), None),
        ("invoice: write points of a posted invoice", "U X U X X X X",
         lambda t, env: _as(env, t.invoice).write({"retail_points": 999}),
         lambda t: t.snapshot(t.invoice, ["retail_points"])),
        ("invoice: create with points", "U X U X X X X",
         _creates(lambda t, env: env["account.move"].create({
             "move_type": "out_invoice", "partner_id": t.buyer.id, "retail_points": 999})),
         lambda t: t.count("account.move", [("retail_points", "=", 999)])),
        ("invoice: redeem points on a draft", "+ A + A A A A",
         lambda t, env: _as(env, t.draft).retail_redeem_points(10),
         lambda t: (t.points_state(t.buyer), t.snapshot(t.draft, ["amount_total"]))),
        ("invoice: redemption wizard shows the draft", "+ A A + A A A",
         lambda t, env: _redeem_wizard(env, move_id=t.draft.id, points=10), None),
        ("quotation: redeem points on the salesperson's own", "A + + + A A A",
         lambda t, env: _as(env, t.own_quotation).retail_redeem_points(10),
         lambda t: (t.points_state(t.buyer), t.snapshot(t.own_quotation, ["amount_total"]))),
        ("quotation: redemption wizard on another salesperson's", "A A A + A A A",
         lambda t, env: _redeem_wizard(env, sale_order_id=t.other_quotation.id, points=10), None),
        # --- the points history ----------------------------------------------------
        ("points history: read", "+ + + + A A A",
         lambda t, env: _as(env, t.points_line).read(["points_earned", "balance_after"]),
         None),
        ("points history: read the portal customer's", "+ + + + + A A",
         lambda t, env: _as(env, t.portal_line).read(["points_earned", "description"]),
         None),
        ("points history: write", "X X X X X X X",
         lambda t, env: _as(env, t.points_line).write({"points_earned": 1000}),
         lambda t: t.snapshot(t.points_line, ["points_earned", "balance_after"])),
        ("points history: create", "X X X X X X X",
         _creates(lambda t, env: env["retail.points.line"].create({
             "partner_id": t.buyer.id, "line_type": "adjustment", "points_earned": 1000,
             "description": "Tự cộng điểm"})),
         lambda t: t.points_state(t.buyer)),
        ("points history: unlink", "X X X X X X X",
         lambda t, env: _as(env, t.points_line).unlink(),
         lambda t: t.points_state(t.buyer)),
        # --- tiers -----------------------------------------------------------------
        ("tier: read", "+ + + + + A A",
         lambda t, env: _as(env, t.tier).read(["name", "threshold"]), None),
        ("tier: write", "A A A + A A A",
         lambda t, env: _as(env, t.tier).write({"threshold": 5}),
         lambda t: t.snapshot(t.tier, ["threshold"])),
        ("tier: create", "A A A + A A A",
         _creates(lambda t, env: env["retail.tier"].create({
             "name": "Hạng mới", "threshold": 10, "company_id": t.company_a.id})),
         lambda t: t.count("retail.tier", [("name", "=", "Hạng mới")])),
        ("tier: unlink", "A A A + A A A",
         lambda t, env: _as(env, t.tier).unlink(),
         lambda t: t.count("retail.tier", [("id", "=", t.tier.id)])),
        # --- segments and what is computed from them -------------------------------
        ("segment: read", "+ + A + A A A",
         lambda t, env: _as(env, t.segment).read(["name", "member_count", "match_count"]),
         None),
        ("segment: write", "A A A + A A A",
         lambda t, env: _as(env, t.segment).write({"name": "Đổi tên"}),
         lambda t: t.snapshot(t.segment, ["name"])),
        ("segment: create", "A A A + A A A",
         _creates(lambda t, env: env["retail.segment"].create({
             "name": "Phân khúc mới", "gender": "male", "company_id": t.company_a.id})),
         lambda t: t.count("retail.segment", [("name", "=", "Phân khúc mới")])),
        ("segment: unlink", "A A A + A A A",
         lambda t, env: _as(env, t.segment).unlink(),
         lambda t: t.count("retail.segment", [("id", "=", t.segment.id)])),
        ("segment: recompute now", "A A A + A A A",
         lambda t, env: _as(env, t.segment).action_recompute(),
         lambda t: t.snapshot(t.segment, ["last_recompute"])),
        ("segment memberships: read", "+ + A + A A A",
         lambda t, env: _as(env, t.member).read(["partner_id", "segment_ids"]), None),
        ("segment memberships: write", "X X X X X X X",
         lambda t, env: _as(env, t.member).write({"partner_id": t.portal_customer.id}),
         lambda t: t.snapshot(t.member, ["partner_id", "segment_ids"])),
        ("segment memberships: unlink", "X X X X X X X",
         lambda t, env: _as(env, t.member).unlink(),
         lambda t: t.count("retail.segment.member", [("id", "=", t.member.id)])),
        ("revenue by segment: read", "+ + A + A A A",
         lambda t, env: _as(env, t.segment_report).read(["revenue", "partner_id"]), None),
        ("top customers (80/20): read", "+ + A + A A A",
         lambda t, env: _as(env, t.pareto_report).read(["revenue", "rank"]), None),
        # --- the funnel --------------------------------------------------------------
        ("funnel: read the customer's opportunity", "+ + A + A A A",
         lambda t, env: _as(env, t.opportunity).read(["stage_id", "partner_id"]), None),
        ("funnel report: read", "+ + A + A A A",
         lambda t, env: _as(env, t.funnel_report).read(["stage_id", "days_in_stage"]), None),
        # --- debt: aging, statements, applying payments, reminders ------------------
        ("aged receivables: read", "+ A + A A A A",
         lambda t, env: _as(env, t.aging_report).read(["amount_residual", "bucket"]), None),
        ("aged receivables: open at a date", "+ A + A A A +",
         lambda t, env: env["retail.debt.aging.wizard"].create({}).action_open(), None),
        ("debt statement: read", "+ A + A A A A",
         lambda t, env: _as(env, t.statement).read(["closing_balance", "line_ids"]), None),
        ("debt statement: read its lines", "+ A + A A A A",
         lambda t, env: _as(env, t.statement.line_ids).read(["balance", "label"]), None),
        ("debt statement: write", "+ A + A A A A",
         lambda t, env: _as(env, t.statement).write({"date_from": TODAY - relativedelta(
             days=10)}),
         lambda t: t.snapshot(t.statement, ["date_from"])),
        ("debt statement: create for a customer of company A", "+ A + A A A A",
         _creates(lambda t, env: env["retail.debt.statement"].create({
             "partner_id": t.buyer.id, "company_id": t.company_a.id,
             "date_from": LONG_AGO, "date_to": TODAY}).read(["closing_balance"])),
         lambda t: t.count("retail.debt.statement", [("partner_id", "=", t.buyer.id)])),
        ("debt statement: export to a spreadsheet", "+ A + A A A A",
         lambda t, env: _as(env, t.statement).action_export_xlsx(),
         lambda t: t.snapshot(t.statement, ["xlsx_filename"])),
        ("debt statement: print", "+ A + A A A A",
         lambda t, env: _as(env, t.statement).action_print_pdf(), None),
        ("debt statement: email", "+ A + A A A A",
         lambda t, env: _as(env, t.statement).action_send_email(), None),
        ("debt statements in bulk: read", "+ A + A A A A",
         lambda t, env: _as(env, t.statement_send).read(["partner_ids", "send_partner_ids"]),
         None),
        ("debt statements in bulk: write", "+ A + A A A A",
         lambda t, env: _as(env, t.statement_send).write({"only_active": False}),
         lambda t: t.snapshot(t.statement_send, ["only_active"])),
        ("debt statements in bulk: send", "+ A + A A A A",
         lambda t, env: _as(env, t.statement_send).action_send(),
         lambda t: t.count("mail.message", [("model", "=", "res.partner"),
                                            ("res_id", "=", t.buyer.id)])),
        ("apply payments: read", "+ A + A A A A",
         lambda t, env: _as(env, t.reconcile).read(["amount_to_apply", "line_ids"]), None),
        ("apply payments: read the preview lines", "+ A + A A A A",
         lambda t, env: _as(env, t.reconcile.line_ids).read(["amount", "invoice_id"]), None),
        ("apply payments: edit a preview line", "+ A + A A A A",
         lambda t, env: _as(env, t.reconcile.line_ids).write({"amount": 1.0}),
         lambda t: t.snapshot(t.reconcile.line_ids, ["amount"])),
        ("apply payments: apply", "+ A + A A A A",
         lambda t, env: _as(env, t.reconcile).action_apply(),
         lambda t: t.snapshot(t.invoice, ["amount_residual"])),
        ("reminder level: read", "+ A + A A A A",
         lambda t, env: _as(env, t.level).read(["name", "days_overdue"]), None),
        ("reminder level: write", "A A A A A A A",
         lambda t, env: _as(env, t.level).write({"days_overdue": 99}),
         lambda t: t.snapshot(t.level, ["days_overdue"])),
        ("reminder level: create", "A A A A A A A",
         _creates(lambda t, env: env["retail.debt.reminder.level"].create({
             "name": "Nhắc mới", "days_overdue": 45, "company_id": t.company_a.id,
             "mail_template_id": t.level.mail_template_id.id})),
         lambda t: t.count("retail.debt.reminder.level", [("name", "=", "Nhắc mới")])),
        ("reminder level: unlink", "A A A A A A A",
         lambda t, env: _as(env, t.level).unlink(),
         lambda t: t.count("retail.debt.reminder.level", [("id", "=", t.level.id)])),
        ("reminders sent: read", "+ A + A A A A",
         lambda t, env: _as(env, t.reminder).read(["partner_id", "level_id"]), None),
        ("reminders sent: create by hand", "X X X X X X X",
         _creates(lambda t, env: env["retail.debt.reminder"].create({
             "partner_id": t.buyer.id, "level_id": t.level.id, "company_id": t.company_a.id})),
         lambda t: t.count("retail.debt.reminder", [("partner_id", "=", t.buyer.id)])),
        # --- the company's retail settings ------------------------------------------
        ("company: write the points settings", "A A A A A A A",
         lambda t, env: _as(env, t.company_a).write({"retail_points_amount": 1}),
         lambda t: t.snapshot(t.company_a, ["retail_points_amount"])),
    ]
    return cases


class RoleMatrixCommon(RetailCommon):
    """Company A's customer with an overdue invoice, points, an unapplied payment, a
    segment, a tier, a reminder level and the debt wizards an accountant opened; the
    users of every role, and one of company B with every right there."""

    role = None  # a key of ROLES, set by each role's class

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_a.write({
            "retail_points_amount": 10000, "retail_point_value": 1000,
            "retail_points_min_amount": 0, "retail_tier_basis": "points",
        })
        cls.company_b = cls.setup_other_company(name="Cửa hàng B")["company"]
        cls.buyer = cls.Partner.create({
            "name": "Chị Hoa", "company_id": cls.company_a.id, "retail_gender": "female",
            "email": "hoa@example.com", "customer_rank": 1,
        })
        cls.portal_customer = cls.Partner.create({"name": "Khách cổng", "email": "p@ex.com"})
        groups = {
            "cashier": "sales_team.group_sale_salesman,account.group_account_invoice",
            "salesperson": "sales_team.group_sale_salesman",
            "accountant": "account.group_account_user",
            "manager": "sales_team.group_sale_manager",
            "portal": "base.group_portal",
            "internal": "base.group_user",
            "other_company": "sales_team.group_sale_manager,account.group_account_manager",
        }
        extra = {
            "portal": {"partner_id": cls.portal_customer.id},
            "other_company": {"company_id": cls.company_b.id,
                              "company_ids": [Command.set(cls.company_b.ids)]},
        }
        cls.users = {
            role: new_test_user(cls.env, login=f"rm_{role}", groups=group,
                                **extra.get(role, {}))
            for role, group in groups.items()
        }
        accountant = cls.users["accountant"]

        # Facts: an overdue invoice (50 points), an adjustment (20), an unapplied payment.
        cls.invoice = cls._sell(cls.buyer, 500000, date=LONG_AGO, post=False)
        cls.invoice.write({"invoice_date_due": LONG_AGO})
        cls.invoice.action_post()
        cls.buyer.retail_adjust_points(20, "Quà khai trương")
        cls.points_line = cls.env["retail.points.line"].search(
            [("partner_id", "=", cls.buyer.id), ("line_type", "=", "adjustment")])
        cls.portal_customer.retail_adjust_points(15, "Quà của khách cổng")
        cls.portal_line = cls.env["retail.points.line"].search(
            [("partner_id", "=", cls.portal_customer.id)])
        payment = cls.env["account.payment"].create({
            "amount": 100000, "date": TODAY, "payment_type": "inbound",
            "partner_type": "customer", "partner_id": cls.buyer.id,
        })
        payment.action_post()
        cls.draft = cls._sell(cls.buyer, 300000, post=False)
        order_line = [Command.create({
            "product_id": cls.product_a.id, "product_uom_qty": 1, "price_unit": 500000})]
        cls.own_quotation, cls.other_quotation = cls.env["sale.order"].create([
            {"partner_id": cls.buyer.id, "user_id": cls.users["salesperson"].id,
             "order_line": order_line},
            {"partner_id": cls.buyer.id, "user_id": cls.salesman.id,
             "order_line": order_line},
        ])
        cls.tier = cls.env["retail.tier"].create({
            "name": "Hạng A", "threshold": 1000, "company_id": cls.company_a.id})
        cls.opportunity = cls.env["crm.lead"].search([("partner_id", "=", cls.buyer.id)])
        cls.other_stage = cls.env["crm.stage"].search(
            [("id", "!=", cls.opportunity.stage_id.id)], limit=1)

        # Segments, computed as the nightly run does.
        cls.segment = cls.env["retail.segment"].create({
            "name": "Khách nữ A", "gender": "female", "company_id": cls.company_a.id})
        cls.env.cr.flush()
        cls.segment._recompute()
        # Long ago, so that "recompute now" within the same second still shows.
        cls.env.cr.execute("UPDATE retail_segment SET last_recompute = '2020-01-01' WHERE id = %s",
                           [cls.segment.id])
        cls.segment.invalidate_recordset(["last_recompute"])
        cls.member = cls.env["retail.segment.member"].search(
            [("partner_id", "=", cls.buyer.id), ("company_id", "=", cls.company_a.id)])
        cls.segment_report = cls.env["retail.segment.report"].search(
            [("partner_id", "=", cls.buyer.id), ("segment_id", "=", cls.segment.id)])
        cls.pareto_report = cls.env["retail.segment.pareto.report"].search(
            [("partner_id", "=", cls.buyer.id), ("company_id", "=", cls.company_a.id)])
        cls.funnel_report = cls.env["crm.retail.funnel.report"].search(
            [("lead_id", "=", cls.opportunity.id)])
        cls.aging_report = cls.env["retail.debt.aging.report"].search(
            [("partner_id", "=", cls.buyer.id)])

        # Debt: what an accountant of company A opened, a reminder level and one sent.
        cls.statement = cls.env["retail.debt.statement"].with_user(accountant).create({
            "partner_id": cls.buyer.id, "company_id": cls.company_a.id,
            "date_from": LONG_AGO - relativedelta(days=1), "date_to": TODAY})
        cls.statement_send = cls.env["retail.debt.statement.send"].with_user(
            accountant).create({"partner_ids": cls.buyer.ids, "company_id": cls.company_a.id,
                                "date_from": LONG_AGO - relativedelta(days=1),
                                "date_to": TODAY})
        cls.reconcile = cls.env["retail.debt.reconcile"].with_user(accountant)._open_for(
            cls.buyer, cls.company_a)
        cls.level = cls.env["retail.debt.reminder.level"].create({
            "name": "Nhắc sau 5 ngày", "days_overdue": 5, "company_id": cls.company_a.id,
            "mail_template_id": cls.env.ref(
                "crm_retail.mail_template_debt_reminder_first").id,
        })
        cls.env["retail.debt.reminder"]._action_send_now(cls.buyer)
        cls.reminder = cls.env["retail.debt.reminder"].search(
            [("partner_id", "=", cls.buyer.id)])
        cls.env.cr.flush()

    def snapshot(self, records, fnames):
        records = records.sudo().with_company(self.company_a).with_context(active_test=False)
        return records.exists().read(fnames) if records else []

    def count(self, model, domain):
        return self.env[model].sudo().with_context(active_test=False).search_count(domain)

    def points_state(self, partner):
        return (self.snapshot(partner, ["retail_loyalty_points", "retail_loyalty_points_total"]),
                self.count("retail.points.line", [("partner_id", "=", partner.id)]))

    def _user_env(self):
        user = self.users[self.role]
        return self.env(user=user, context=dict(
            self.env.context, allowed_company_ids=[user.company_id.id]))

    def _run(self, action, state):
        """Run the action as the role's user in a savepoint, rolled back afterwards, as
        the request of a refused call would be. Returns the error raised (or None), and
        the state before, when the action ended (what it wrote, flushed) and after the
        rollback."""
        before = state(self) if state else None
        env = self._user_env()
        savepoint = self.env.cr.savepoint()
        try:
            error = None
            try:
                action(self, env)
                env.flush_all()
            except Exception as exc:  # the error's class is what is checked
                error = exc
            ended = None
            if state:
                # What the action wrote before it failed, flushed if it can be.
                with contextlib.suppress(Exception):
                    self.env.flush_all()
                self.env.invalidate_all(flush=False)
                try:
                    ended = state(self)
                except Exception as exc:
                    ended = f"state unreadable: {exc!r}"
        finally:
            savepoint.close(rollback=True)
            self.env.invalidate_all(flush=False)
        return error, before, ended, state(self) if state else None

class RoleMatrixTests:
    """The tests of every role class (a mixin: the common class itself runs nothing)."""

    # Odoo's loader collects only a class's own test methods unless told otherwise.
    allow_inherited_tests_method = True

    def test_fixture(self):
        """Every record the cases work on exists: a case on nothing proves nothing."""
        for name in ("points_line", "portal_line", "opportunity", "member", "segment_report",
                     "pareto_report", "funnel_report", "reminder"):
            self.assertEqual(len(getattr(self, name)), 1, name)
        self.assertTrue(self.aging_report)
        self.assertTrue(self.statement.line_ids)
        self.assertEqual(len(self.reconcile.line_ids), 1)
        self.assertEqual(self.buyer.retail_loyalty_points, 70)
        self.assertEqual(self.buyer.retail_debt_status, "overdue")

    def test_redeem_wizard_shows_only_readable_documents(self):
        """The redemption form opened on a document the user cannot read (another
        company's invoice, another salesperson's quotation) is refused or shows nothing
        of it: no customer, no balance, no amount due."""
        env = self._user_env()
        spec = {"partner_id": {}, "points_available": {}, "amount_due": {}}
        for document in (self.draft, self.other_quotation):
            if _as(env, document).has_access("read"):
                continue
            fname = "move_id" if document._name == "account.move" else "sale_order_id"
            with self.subTest(role=self.role, document=document._name):
                try:
                    result = env["retail.points.redeem"].onchange(
                        {fname: document.id, "points": 10}, [fname], spec)
                except AccessError:
                    continue
                shown = {key: value for key, value in result.get("value", {}).items()
                         if key in spec and value}
                self.assertFalse(shown, f"{self.role} sees a document it cannot read")

    def test_matrix(self):
        column = ROLES.index(self.role)
        for name, expectations, action, state in _cases():
            expected = expectations.split()[column]
            with self.subTest(role=self.role, case=name):
                error, before, ended, rolled_back = self._run(action, state)
                if expected == "+":
                    self.assertIsNone(
                        error, f"{self.role} may {name}, but got {type(error).__name__}: "
                        f"{error}")
                    if state:
                        self.assertNotEqual(ended, before, f"{name}: nothing happened")
                    continue
                self.assertTrue(
                    CHECKS[expected](error),
                    f"{self.role} must not {name}: expected {expected}, got "
                    f"{type(error).__name__ if error else 'no error'}: {error}")
                after = rolled_back if getattr(action, "creates", False) else ended
                self.assertEqual(after, before, f"{name}: refused but the state changed")


@tagged("post_install", "-at_install")
class TestRoleCashier(RoleMatrixTests, RoleMatrixCommon):
    role = "cashier"


@tagged("post_install", "-at_install")
class TestRoleSalesperson(RoleMatrixTests, RoleMatrixCommon):
    role = "salesperson"


@tagged("post_install", "-at_install")
class TestRoleAccountant(RoleMatrixTests, RoleMatrixCommon):
    role = "accountant"


@tagged("post_install", "-at_install")
class TestRoleSalesManager(RoleMatrixTests, RoleMatrixCommon):
    role = "manager"


@tagged("post_install", "-at_install")
class TestRolePortal(RoleMatrixTests, RoleMatrixCommon):
    role = "portal"


@tagged("post_install", "-at_install")
class TestRoleInternalUser(RoleMatrixTests, RoleMatrixCommon):
    role = "internal"


@tagged("post_install", "-at_install")
class TestRoleOtherCompany(RoleMatrixTests, RoleMatrixCommon):
    role = "other_company"

    def test_shared_customer_facts_follow_the_company(self):
        """A customer shared between the companies buys in A: company B's user sees B's
        figures (none), not A's, and not A's automatic opportunity."""
        shared = self.customer
        self._sell(shared, 500000, date=LONG_AGO)
        shared.retail_adjust_points(7, "Quà ở cửa hàng A")
        self.env.cr.flush()
        self.assertTrue(self.env["crm.lead"].search([("partner_id", "=", shared.id)]),
                        "company A's purchase gives the customer an opportunity")
        env = self._user_env()
        as_b = _as(env, shared)
        self.assertRecordValues(as_b, [{
            "retail_debt_amount": 0.0, "retail_loyalty_points": 0, "retail_loyalty_points_total": 0,
            "retail_total_sales": 0.0, "retail_purchase_count": 0,
            "retail_last_purchase_date": False,
        }])
        self.assertFalse(env["crm.lead"].search([("partner_id", "=", shared.id)]),
                         "the automatic opportunity is company A's")
        self.assertFalse(env["crm.retail.funnel.report"].search(
            [("lead_id.partner_id", "=", shared.id)]))


@tagged("post_install", "-at_install")
class TestRolePortalPages(HttpCase):
    """/my/points over HTTP: a portal customer sees their own points, never another's;
    without a session the page asks to log in."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.first = Partner.create({"name": "Khách cổng thứ nhất"})
        cls.second = Partner.create({"name": "Khách cổng thứ hai"})
        cls.first.retail_adjust_points(987654, "Điểm riêng của khách thứ nhất")
        cls.second.retail_adjust_points(246802, "Điểm riêng của khách thứ hai")
        for login, partner in (("rm_portal_1", cls.first), ("rm_portal_2", cls.second)):
            new_test_user(cls.env, login=login, password=login, groups="base.group_portal",
                          partner_id=partner.id)

    def test_second_customer_does_not_see_the_first(self):
        self.authenticate("rm_portal_2", "rm_portal_2")
        page = self.url_open("/my/points")
        self.assertEqual(page.status_code, 200)
        self.assertIn("Điểm riêng của khách thứ hai", page.text)
        self.assertIn("246,802", page.text)  # the page groups thousands
        self.assertNotIn("Điểm riêng của khách thứ nhất", page.text)
        self.assertNotIn("987654", page.text)
        self.assertNotIn("987,654", page.text)
        # Nor by asking for the first customer's history or record.
        for url in (f"/my/points?partner_id={self.first.id}",
                    f"/web/content/res.partner/{self.first.id}/retail_loyalty_points"):
            page = self.url_open(url)
            self.assertNotIn("987654", page.text, url)
            self.assertNotIn("987,654", page.text, url)
            self.assertNotIn("Điểm riêng của khách thứ nhất", page.text, url)

    def test_anonymous_visitor_is_sent_to_login(self):
        page = self.url_open("/my/points", allow_redirects=False)
        self.assertIn(page.status_code, (302, 303))
        self.assertIn("/web/login", page.headers["Location"])
        self.assertNotIn("Điểm riêng", page.text)
