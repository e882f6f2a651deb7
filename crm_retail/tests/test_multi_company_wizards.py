from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import RetailCommon

TODAY = fields.Date.today()
MONTH_START = TODAY.replace(day=1)


@tagged("post_install", "-at_install")
class TestMultiCompanyWizards(RetailCommon):
    """The addon's wizards and reports of company A are out of reach of a user of company B
    with the same rights: not listed, not read, not written, not computed for them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.setup_other_company(name="Cửa hàng B")["company"]
        # Same groups on both sides: only the companies tell them apart.
        groups = "sales_team.group_sale_manager,account.group_account_invoice"
        cls.user_a = new_test_user(
            cls.env, login="mc_user_a", groups=groups, company_id=cls.company_a.id,
            company_ids=[Command.set(cls.company_a.ids)])
        cls.user_b = new_test_user(
            cls.env, login="mc_user_b", groups=groups, company_id=cls.company_b.id,
            company_ids=[Command.set(cls.company_b.ids)])
        # A customer of company A only, and one shared by both companies
        cls.customer_a = cls.Partner.create({
            "name": "Lê Thị Hoa", "company_id": cls.company_a.id})
        cls.shared = cls.Partner.create({"name": "Phạm Văn Minh"})
        for partner in cls.customer_a | cls.shared:
            cls._sell(partner, 1000, date=TODAY)
            payment = cls.env["account.payment"].create({
                "amount": 400, "date": TODAY, "payment_type": "inbound",
                "partner_type": "customer", "partner_id": partner.id,
            })
            payment.action_post()
        cls.draft = cls._sell(cls.customer_a, 500, date=TODAY, post=False)

    def _as_a(self, model):
        return self.env[model].with_user(self.user_a)

    def _assert_out_of_reach(self, records, values):
        """User B neither lists nor reads nor writes ``records``; user A does (so that the
        test fails if the records are simply unreadable)."""
        self.assertTrue(records)
        fnames = list(values)
        as_a = records.with_user(self.user_a)
        self.assertEqual(as_a.search([("id", "in", records.ids)]), as_a)
        before = as_a.read(fnames)
        as_b = records.with_user(self.user_b)
        self.assertFalse(as_b.search([("id", "in", records.ids)]))
        self.assertFalse(as_b.search_count([]), "B lists none of A's records")
        with self.assertRaises(AccessError):
            as_b.read(fnames)
        with self.assertRaises(AccessError):
            as_b.write(values)
            as_b.flush_recordset()
        records.invalidate_recordset()
        self.assertEqual(records.with_user(self.user_a).read(fnames), before)

    def test_debt_statement_and_items(self):
        statement = self._as_a("retail.debt.statement").create({
            "partner_id": self.customer_a.id, "company_id": self.company_a.id,
            "date_from": MONTH_START, "date_to": TODAY,
        })
        self.assertEqual(statement.closing_balance, 600.0)
        self.assertEqual(len(statement.line_ids), 2)
        self.assertEqual(statement.line_ids.company_id, self.company_a)
        self._assert_out_of_reach(statement, {"xlsx_filename": "stolen.xlsx"})
        self._assert_out_of_reach(statement.line_ids, {"reference": "changed"})

    def test_debt_statement_not_computed_for_others(self):
        Statement = self.env["retail.debt.statement"].with_user(self.user_b)
        Report = self.env["report.crm_retail.report_debt_statement"].with_user(self.user_b)
        # A's customer, even in B's company: the customer cannot be read
        with self.assertRaises(AccessError):
            Statement.create({
                "partner_id": self.customer_a.id, "company_id": self.company_b.id,
                "date_from": MONTH_START, "date_to": TODAY,
            }).flush_recordset()
        with self.assertRaises(AccessError):
            Report._retail_statements_data(
                self.customer_a, self.company_b, MONTH_START, TODAY)
        with self.assertRaises(AccessError):
            self.env["ir.actions.report"].with_user(self.user_b)._render_qweb_html(
                "crm_retail.action_report_debt_statement", self.customer_a.ids,
                data={"company_id": self.company_a.id})
        # a shared customer, in A's company
        with self.assertRaises(AccessError):
            Report._retail_statements_data(self.shared, self.company_a, MONTH_START, TODAY)
        # in B's own company, B's items only: none
        statement = Statement.create({
            "partner_id": self.shared.id, "company_id": self.company_b.id,
            "date_from": MONTH_START, "date_to": TODAY,
        })
        self.assertFalse(statement.line_ids)
        self.assertEqual(statement.closing_balance, 0.0)

    def test_statement_send_wizard(self):
        wizard = self._as_a("retail.debt.statement.send").create({
            "partner_ids": [Command.set(self.customer_a.ids)],
            "company_id": self.company_a.id,
        })
        self._assert_out_of_reach(wizard, {"only_active": False})

    def test_reconcile_preview(self):
        action = self.customer_a.with_user(self.user_a).action_retail_apply_payments()
        wizard = self._as_a("retail.debt.reconcile").browse(action["res_id"])
        self.assertEqual(wizard.line_ids.mapped("amount"), [400.0])
        self.assertEqual(wizard.line_ids.company_id, self.company_a)
        self._assert_out_of_reach(wizard, {"partner_id": self.shared.id})
        self._assert_out_of_reach(wizard.line_ids, {"amount": 1.0})
        # B cannot open one for A's customer, nor for a shared one in A's company
        with self.assertRaises(AccessError):
            self.customer_a.with_user(self.user_b).action_retail_apply_payments()
        with self.assertRaises(AccessError):
            self.env["retail.debt.reconcile"].with_user(self.user_b)._open_for(
                self.shared, self.company_a)
        # in its own company, B sees nothing of A's items
        wizard_b = self.env["retail.debt.reconcile"].with_user(self.user_b)._open_for(
            self.shared)
        self.assertEqual(wizard_b.company_id, self.company_b)
        self.assertFalse(wizard_b.invoice_item_ids | wizard_b.credit_item_ids)
        self.assertFalse(wizard_b.line_ids)

    def test_redeem_wizard(self):
        wizard = self._as_a("retail.points.redeem").create(
            {"move_id": self.draft.id, "points": 1})
        self.assertEqual(wizard.company_id, self.company_a)
        self.assertEqual(wizard.partner_id, self.customer_a)
        self._assert_out_of_reach(wizard, {"points": 1})
        # nor can B open one on A's invoice
        with self.assertRaises(AccessError):
            self.env["retail.points.redeem"].with_user(self.user_b).create(
                {"move_id": self.draft.id, "points": 1})

    def test_points_adjust_and_aging_wizards(self):
        adjust = self._as_a("retail.points.adjust").create({
            "partner_id": self.customer_a.id, "points": 5, "reason": "Tặng điểm"})
        self.assertEqual(adjust.company_id, self.company_a)
        self._assert_out_of_reach(adjust, {"reason": "changed"})
        aging = self._as_a("retail.debt.aging.wizard").create({"date": TODAY})
        self.assertEqual(aging.company_id, self.company_a)
        self._assert_out_of_reach(aging, {"date": MONTH_START})

    def test_funnel_report(self):
        opportunity = self.env["crm.lead"].create({
            "name": "Thẻ của A", "type": "opportunity", "company_id": self.company_a.id,
            "partner_id": self.customer_a.id,
        })
        self.env.flush_all()
        rows = self._as_a("crm.retail.funnel.report").search([("lead_id", "=", opportunity.id)])
        self.assertTrue(rows)
        as_b = rows.with_user(self.user_b)
        self.assertFalse(as_b.search([("lead_id", "=", opportunity.id)]))
        with self.assertRaises(AccessError):
            as_b.read(["lead_id"])


@tagged("post_install", "-at_install")
class TestCoreColumns(RetailCommon):
    """Core code that runs while crm_retail is not in the registry (a module update, the
    tests of the modules below it) inserts rows in the tables the addon extends."""

    def test_no_not_null_column_on_core_tables(self):
        field_ids = self.env["ir.model.data"].search([
            ("module", "=", "crm_retail"), ("model", "=", "ir.model.fields"),
        ]).mapped("res_id")
        columns = []
        for field in self.env["ir.model.fields"].browse(field_ids):
            Model = self.env.get(field.model)
            # the addon's own columns (its xmlids also cover core ones, as id)
            if (Model is not None and Model._auto and field.store
                    and Model._original_module != "crm_retail"
                    and Model._fields[field.name]._module == "crm_retail"):
                columns.append((Model._table, field.name))
        self.assertIn(("res_company", "retail_points_base"), columns)
        self.env.cr.execute("""
            SELECT table_name, column_name FROM information_schema.columns
             WHERE is_nullable = 'NO' AND (table_name, column_name) IN %s
        """, [tuple(columns)])
        self.assertEqual(self.env.cr.fetchall(), [])

    def test_empty_settings_are_the_defaults(self):
        company = self.env.company
        self.env.cr.execute("""
            UPDATE res_company SET retail_points_base = NULL, retail_tier_basis = NULL,
                   retail_loyal_rule = NULL, retail_credit_limit_policy = NULL
             WHERE id = %s
        """, [company.id])
        company.invalidate_recordset()
        company.write({"retail_points_amount": 10000, "account_use_credit_limit": True})
        self.assertFalse(company._retail_blocks_over_credit_limit())

        def points(amount):
            move = self.env["account.move"].create({
                "move_type": "out_invoice", "partner_id": self.customer.id,
                "invoice_date": TODAY,
                "invoice_line_ids": [Command.create({
                    "name": "Hàng hóa", "quantity": 1, "price_unit": amount,
                    "tax_ids": [Command.set(self.company_data["default_tax_sale"].ids)],
                })],
            })
            move.action_post()
            self.assertGreater(move.amount_total, move.amount_untaxed)
            return move.retail_points, move

        # empty: on the total, the default
        earned, move = points(100000)
        self.assertEqual(earned, int(move.amount_total // 10000))
        company.retail_points_base = "untaxed"
        earned, move = points(100000)
        self.assertEqual(earned, int(move.amount_untaxed // 10000))
