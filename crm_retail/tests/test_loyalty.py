from dateutil.relativedelta import relativedelta
from psycopg2.errors import CheckViolation

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import POINTS_SETTINGS, RetailCommon


class LoyaltyCommon(RetailCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.write(POINTS_SETTINGS)
        cls.Line = cls.env["retail.points.line"]

    def assertPoints(self, partner, balance, lifetime=None):
        partner.invalidate_recordset(["retail_loyalty_points", "retail_loyalty_points_total"])
        self.assertEqual(partner.retail_loyalty_points, balance)
        lines = self.Line.search([("partner_id", "=", partner.id)])
        self.assertEqual(sum(lines.mapped("points_earned")) - sum(lines.mapped("points_used")),
                         balance, "the balance is the sum of the history")
        if lifetime is not None:
            self.assertEqual(partner.retail_loyalty_points_total, lifetime)

    def _give(self, partner, points):
        return partner.retail_adjust_points(points, "Số dư đầu kỳ")


@tagged("post_install", "-at_install")
class TestEarning(LoyaltyCommon):
    def test_posting_earns_rounded_down(self):
        invoice = self._sell(self.customer, 255000)
        self.assertPoints(self.customer, 25, 25)
        line = self.Line.search([("move_id", "=", invoice.id)])
        self.assertRecordValues(line, [{
            "line_type": "invoice", "points_earned": 25, "points_used": 0, "balance_after": 25,
            "partner_id": self.customer.id,
        }])
        self.assertEqual(invoice.retail_points, 25)

    def test_accountant_without_sales_rights_posts_for_a_tiered_customer(self):
        """The tier's multiplier and pricelist apply whoever posts: an accountant who
        cannot see the Sales app must not be stopped by the tiers' access rights."""
        accountant = new_test_user(self.env, login="retail_accountant_only",
                                   groups="account.group_account_invoice")
        self.customer.sudo().retail_loyalty_tier_id = self.env.ref("crm_retail.tier_gold")
        multiplier = self.customer.retail_loyalty_tier_id.points_multiplier
        invoice = self._sell(self.customer, 100000, post=False)
        invoice.with_user(accountant).action_post()
        self.assertEqual(invoice.retail_points, int(10 * multiplier))

    def test_history_is_dated_by_its_documents(self):
        """A batch posted today for last month's invoices reads last month; an adjustment
        reads the day it was made."""
        invoice = self._sell(self.customer, 100000, date="2026-01-15")
        credit_note = self._sell(self.customer, 50000, date="2026-02-03",
                                 move_type="out_refund")
        self._give(self.customer, 5)
        lines = self.Line.search([("partner_id", "=", self.customer.id)])
        by_source = {(line.move_id or line).id: line.document_date for line in lines}
        self.assertEqual(by_source[invoice.id], fields.Date.to_date("2026-01-15"))
        self.assertEqual(by_source[credit_note.id], fields.Date.to_date("2026-02-03"))
        adjustment = lines.filtered(lambda line: line.line_type == "adjustment")
        self.assertEqual(adjustment.document_date, fields.Date.context_today(adjustment))

    def test_post_reset_post_counts_once(self):
        invoice = self._sell(self.customer, 100000)
        invoice.button_draft()
        self.assertPoints(self.customer, 0, 0)
        invoice.action_post()
        invoice.button_draft()
        invoice.action_post()
        self.assertPoints(self.customer, 10, 10)
        self.assertEqual(self.Line.search_count([("move_id", "=", invoice.id)]), 5)

    def test_cancel_takes_points_back(self):
        invoice = self._sell(self.customer, 100000)
        invoice.button_draft()
        invoice.button_cancel()
        self.assertPoints(self.customer, 0, 0)
        self.assertEqual(invoice.retail_points, 0)

    def test_credit_note_removes_points_in_proportion(self):
        invoice = self._sell(self.customer, 500000)
        refund = self.env["account.move"].create({
            "move_type": "out_refund",
            "partner_id": self.customer.id,
            "invoice_date": "2026-01-20",
            "reversed_entry_id": invoice.id,
            "invoice_line_ids": [Command.create({
                "name": "Trả hàng", "price_unit": 100000, "tax_ids": [Command.clear()]})],
        })
        refund.action_post()
        self.assertPoints(self.customer, 40, 40)
        self.assertEqual(refund.retail_points, -10)

    def test_full_reversal_gives_zero(self):
        invoice = self._sell(self.customer, 500000)
        invoice._reverse_moves(cancel=True)
        self.assertPoints(self.customer, 0, 0)

    def test_credit_note_after_points_spent_stops_at_zero(self):
        invoice = self._sell(self.customer, 300000)
        draft = self._sell(self.customer, 100000, post=False)
        draft.retail_redeem_points(25)
        invoice._reverse_moves(cancel=True)
        self.assertPoints(self.customer, 0)

    def test_what_earns_nothing(self):
        self.env.company.retail_points_min_amount = 50000
        self._sell(self.customer, 40000)  # below the minimum
        self._sell(self.customer, 9999)
        self._sell(self.customer, 900000, move_type="in_invoice")  # a vendor bill
        self._sell(self.env.company.partner_id, 900000)  # the company itself
        self.assertPoints(self.customer, 0, 0)
        self.assertFalse(self.Line.search([("partner_id", "=", self.env.company.partner_id.id)]))

    def test_untaxed_basis(self):
        self.env.company.retail_points_base = "untaxed"
        tax = self.env["account.tax"].create({"name": "VAT 10%", "amount": 10})
        invoice = self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": self.customer.id,
            "invoice_date": "2026-01-15",
            "invoice_line_ids": [Command.create({
                "name": "Hàng", "price_unit": 100000, "tax_ids": [Command.set(tax.ids)]})],
        })
        invoice.action_post()
        self.assertPoints(self.customer, 10)

    def test_contact_earns_for_the_company(self):
        shop = self.Partner.create({"name": "Tạp hóa Minh Châu", "is_company": True})
        buyer = self.Partner.create({"name": "Chị Châu", "parent_id": shop.id})
        self._sell(buyer, 100000)
        self.assertPoints(shop, 10)
        self.assertEqual(buyer.retail_loyalty_points, 0)

    def test_bulk_posting_writes_points_set_based(self):
        partners = self.Partner.create([{"name": f"Khách {i}"} for i in range(30)])
        moves = self.env["account.move"].create([{
            "move_type": "out_invoice", "partner_id": partner.id, "invoice_date": "2026-02-01",
            "invoice_line_ids": [Command.create({
                "name": "x", "price_unit": 20000 * (i + 1), "tax_ids": [Command.clear()]})],
        } for i, partner in enumerate(partners)])
        moves.action_post()
        self.assertEqual(partners.mapped("retail_loyalty_points"), [2 * (i + 1) for i in range(30)])
        self.assertEqual(self.Line.search_count([("move_id", "in", moves.ids)]), 30)


@tagged("post_install", "-at_install")
class TestRedemption(LoyaltyCommon):
    def setUp(self):
        super().setUp()
        self._give(self.customer, 100)
        self.draft = self._sell(self.customer, 300000, post=False)

    def _quotation_paid_with_20_points(self):
        order = self.env["sale.order"].create({
            "partner_id": self.customer.id,
            "order_line": [Command.create({"product_id": self.product_a.id,
                                           "product_uom_qty": 1, "price_unit": 500})],
        })
        self.env.company.retail_point_value = 10
        order.retail_redeem_points(20)
        return order

    def test_redeem_on_invoice(self):
        self.draft.retail_redeem_points(30)
        self.assertPoints(self.customer, 70)
        discount = self.draft.invoice_line_ids.filtered("retail_points_redeemed")
        self.assertEqual(discount.price_unit, -30000)
        self.assertEqual(self.draft.amount_total, 270000)
        # An invoice paid with points earns none.
        self.draft.action_post()
        self.assertPoints(self.customer, 70)
        self.assertEqual(self.draft.retail_points, 0)

    def test_cancelled_invoice_gives_points_back(self):
        self.draft.retail_redeem_points(30)
        self.draft.button_cancel()
        self.assertPoints(self.customer, 100)
        posted = self._sell(self.customer, 300000, post=False)
        posted.retail_redeem_points(20)
        posted.action_post()
        posted.button_draft()
        posted.button_cancel()
        self.assertPoints(self.customer, 100)

    def test_credit_note_gives_back_the_points_paid(self):
        self.draft.retail_redeem_points(30)
        self.draft.action_post()
        self.assertPoints(self.customer, 70)
        self.draft._reverse_moves(cancel=True)
        self.assertPoints(self.customer, 100)

    def test_removed_discount_line_gives_points_back(self):
        self.draft.retail_redeem_points(30)
        self.draft.invoice_line_ids.filtered("retail_points_redeemed").unlink()
        self.assertPoints(self.customer, 100)

    def test_redemption_history_names_no_draft(self):
        """A draft has no number: the history says "a new invoice", never the draft's
        display name, and names the invoice by its number once it has one."""
        self.draft.retail_redeem_points(30)
        self.draft.action_post()
        self.draft.button_draft()
        self.draft.button_cancel()
        lines = self.env["retail.points.line"].search(
            [("move_id", "=", self.draft.id), ("line_type", "=", "redemption")], order="id")
        self.assertEqual(lines.mapped("description"), [
            "Points paid on a new invoice", f"Points returned: {self.draft.name} cancelled"])
        discount = self.draft.invoice_line_ids.filtered("retail_points_redeemed")
        self.assertEqual(discount.name, "Paid with 30 loyalty points")
        self.assertNotIn("[", discount.product_id.display_name,
                         "the redemption product shows no internal reference on the line")

    def test_deleted_draft_invoice_gives_points_back(self):
        self.draft.retail_redeem_points(30)
        self.draft.unlink()
        self.assertPoints(self.customer, 100)

    def test_redeem_on_quotation_and_cancel(self):
        order = self._quotation_paid_with_20_points()
        self.assertEqual(order.amount_untaxed, 300)
        self.assertPoints(self.customer, 80)
        order._action_cancel()
        self.assertPoints(self.customer, 100)
        order.action_draft()
        self.assertPoints(self.customer, 80)

    def test_wizard(self):
        wizard = self.env["retail.points.redeem"].with_context(
            default_move_id=self.draft.id).create({"points": 10})
        self.assertEqual(wizard.points_available, 100)
        self.assertEqual(wizard.amount, 10000)
        wizard.action_redeem()
        self.assertPoints(self.customer, 90)

    def test_cashier_can_redeem(self):
        self.draft.with_user(self.cashier).retail_redeem_points(10)
        self.assertPoints(self.customer, 90)

    def test_bad_redemptions_change_nothing(self):
        other_company = self.env["res.company"].create({"name": "Công ty khác"})
        foreign = self.Partner.create({"name": "Khách công ty khác"})
        foreign_invoice = self._sell(foreign, 100000, post=False)
        # Odoo would not let this invoice be created for another company's customer;
        # the redemption checks it again all the same.
        self.env.cr.execute("UPDATE res_partner SET company_id = %s WHERE id = %s",
                            [other_company.id, foreign.id])
        foreign.invalidate_recordset(["company_id"])
        posted = self._sell(self.customer, 300000)
        cases = [
            (self.draft, 0, "positive"),
            (self.draft, -5, "positive"),
            (self.draft, 200, "has 130 points"),
            (self.draft, 1.5, "positive"),
            (self._sell(self.customer, 50000, post=False), 60, "more than"),
            (posted, 10, "draft"),
            (self._sell(self.customer, 900000, move_type="in_invoice", post=False), 10, "draft"),
        ]
        cases.append((foreign_invoice, 10, "customer of"))
        lines_before = self.Line.search_count([])
        for document, points, message in cases:
            with self.subTest(points=points, message=message):
                line_count = len(document.invoice_line_ids)
                with self.assertRaisesRegex(UserError, message):
                    document.retail_redeem_points(points)
                self.assertEqual(len(document.invoice_line_ids), line_count)
        self.assertEqual(self.Line.search_count([]), lines_before)
        self.assertPoints(self.customer, 100 + posted.retail_points)

    def test_points_cannot_be_forged_on_lines_or_balances(self):
        with self.assertRaisesRegex(UserError, "Redeem Points"):
            self.draft.with_user(self.cashier).write({"invoice_line_ids": [Command.create({
                "name": "x", "price_unit": 1, "retail_points_redeemed": 5})]})
        with self.assertRaisesRegex(UserError, "history"):
            self.customer.with_context(crm_retail_points_ledger=True).write(
                {"retail_loyalty_points": 99999})
        with self.assertRaisesRegex(UserError, "history"):
            self.Partner.create({"name": "Giả", "retail_loyalty_points": 500})
        with self.assertRaisesRegex(UserError, "history"):
            self.customer.retail_loyalty_tier_id = self.env.ref("crm_retail.tier_diamond")
        with mute_logger("odoo.sql_db"), self.assertRaises(CheckViolation), \
                self.env.cr.savepoint():
            self.draft.invoice_line_ids[:1].sudo().write({"retail_points_redeemed": -100})
        self.assertPoints(self.customer, 100)

    def test_points_line_is_locked_and_not_copied(self):
        self.draft.retail_redeem_points(30)
        discount = self.draft.invoice_line_ids.filtered("retail_points_redeemed")
        with self.assertRaisesRegex(UserError, "cannot be changed"):
            discount.quantity = 5
        with self.assertRaisesRegex(UserError, "changing the customer"):
            self.draft.partner_id = self.Partner.create({"name": "Người khác"})
        copy = self.draft.copy()
        self.assertFalse(copy.invoice_line_ids.filtered(
            lambda line: line.product_id == self.env.company.retail_points_product_id))
        self.assertEqual(copy.amount_total, 300000)
        self.assertPoints(self.customer, 70)

    def test_redemption_kept_when_earning_is_switched_off(self):
        self.env.company.retail_points_amount = 0
        self.draft.retail_redeem_points(30)
        self.assertPoints(self.customer, 70)
        self.draft.button_cancel()
        self.assertPoints(self.customer, 100)

    def test_deleted_quotation_gives_points_back(self):
        order = self._quotation_paid_with_20_points()
        self.assertPoints(self.customer, 80)
        order.unlink()
        self.assertPoints(self.customer, 100)

    def test_balance_checked_under_lock_is_final(self):
        """Even past the form's check, the history never lets the balance go negative."""
        with self.assertRaisesRegex(ValidationError, "cannot be used"):
            self.Line._record([{
                "partner_id": self.customer.id, "company_id": self.env.company.id,
                "line_type": "redemption", "points_used": 101, "description": "x",
            }])
        self.assertPoints(self.customer, 100)

    @mute_logger("odoo.sql_db")
    def test_negative_balance_refused_by_the_database(self):
        with self.assertRaises(CheckViolation), self.env.cr.savepoint():
            # A balance per company, as Odoo stores company-dependent values.
            self.env.cr.execute(
                "UPDATE res_partner SET retail_loyalty_points = jsonb_build_object(%s, -1)"
                " WHERE id = %s",
                [str(self.env.company.id), self.customer.id])


@tagged("post_install", "-at_install")
class TestHistoryAndAdjustments(LoyaltyCommon):
    def test_manager_adjusts_with_reason_in_chatter(self):
        self.customer.with_user(self.sales_manager).retail_adjust_points(15, "Bù đơn giao trễ")
        self.assertPoints(self.customer, 15, 15)
        self.assertIn("Bù đơn giao trễ", self.customer.message_ids[0].body)
        self.customer.with_user(self.sales_manager).retail_adjust_points(-5, "Nhập nhầm")
        self.assertPoints(self.customer, 10, 15)

    def test_adjustment_errors(self):
        with self.assertRaises(AccessError):
            self.customer.with_user(self.salesman).retail_adjust_points(10, "Tự cộng")
        with self.assertRaisesRegex(UserError, "reason"):
            self.customer.retail_adjust_points(10, "  ")
        with self.assertRaisesRegex(UserError, "non-zero"):
            self.customer.retail_adjust_points(0, "Không")
        with self.assertRaisesRegex(ValidationError, "cannot be used"):
            self.customer.retail_adjust_points(-1, "Âm")
        self.assertPoints(self.customer, 0)

    def test_history_is_append_only(self):
        self._give(self.customer, 10)
        line = self.Line.search([("partner_id", "=", self.customer.id)])
        # Not even past access rights.
        with self.assertRaisesRegex(UserError, "cannot be changed"):
            line.sudo().write({"points_earned": 1000})
        with self.assertRaisesRegex(UserError, "cannot be deleted"):
            line.sudo().unlink()
        with self.assertRaisesRegex(UserError, "not allowed to delete"):
            line.unlink()
        with self.assertRaisesRegex(UserError, "written by"):
            self.Line.create({"partner_id": self.customer.id, "line_type": "adjustment",
                              "points_earned": 5, "description": "x"})
        with self.assertRaises(UserError):  # AccessError is a UserError too
            line.with_user(self.salesman).write({"description": "y"})
        with self.assertRaisesRegex(UserError, "history"):
            self.customer.write({"retail_loyalty_points": 999})
        self.assertPoints(self.customer, 10)

    def test_other_company_history_hidden(self):
        self._give(self.customer, 10)
        other_company = self.env["res.company"].create({"name": "Công ty khác"})
        stranger = new_test_user(
            self.env, login="other_company_salesman", groups="sales_team.group_sale_salesman",
            company_id=other_company.id, company_ids=[Command.set(other_company.ids)])
        self.assertFalse(self.Line.with_user(stranger).search(
            [("partner_id", "=", self.customer.id)]))
        self.assertTrue(self.Line.with_user(self.salesman).search(
            [("partner_id", "=", self.customer.id)]))


@tagged("post_install", "-at_install")
class TestExpiry(LoyaltyCommon):
    def _earn_on(self, points, days_ago):
        date = fields.Date.subtract(fields.Date.today(), days=days_ago)
        self.Line._record([{
            "partner_id": self.customer.id, "company_id": self.env.company.id,
            "line_type": "adjustment", "points_earned": points, "earned_on": date,
            "description": f"earned {days_ago} days ago",
        }])

    def test_old_points_expire_first_in_first_out_once(self):
        self.env.company.retail_points_expiry_months = 12
        self._earn_on(50, 500)
        self._earn_on(30, 400)
        self._earn_on(40, 10)
        self.customer.retail_adjust_points(-60, "Đổi quà")  # uses the oldest 50 and 10 more
        with self._cron_progress():
            self.Line._cron_expire_points()
        self.assertPoints(self.customer, 40, 120)  # the 20 left of the 400-day-old lapse
        expiry = self.Line.search([("line_type", "=", "expiry")])
        self.assertEqual(expiry.points_used, 20)
        with self._cron_progress():
            self.Line._cron_expire_points()
        self.assertEqual(self.Line.search_count([("line_type", "=", "expiry")]), 1)
        self.assertPoints(self.customer, 40)

    def test_no_expiry_when_disabled(self):
        self._earn_on(50, 5000)
        with self._cron_progress():
            self.Line._cron_expire_points()
        self.assertPoints(self.customer, 50)


@tagged("post_install", "-at_install")
class TestTiers(LoyaltyCommon):
    def test_tier_follows_lifetime_points_and_sets_pricelist(self):
        member, silver, gold = (self.env.ref(f"crm_retail.tier_{name}")
                                for name in ("member", "silver", "gold"))
        vip_prices = self.env["product.pricelist"].create({"name": "Giá VIP"})
        gold.pricelist_id = vip_prices
        self._give(self.customer, 10)
        self.assertEqual(self.customer.retail_loyalty_tier_id, member)
        self._give(self.customer, 600)
        self.assertEqual(self.customer.retail_loyalty_tier_id, silver)
        self.customer.retail_adjust_points(-600, "Đổi quà")  # spending keeps the tier
        self.assertEqual(self.customer.retail_loyalty_tier_id, silver)
        self._give(self.customer, 2000)
        self.assertEqual(self.customer.retail_loyalty_tier_id, gold)
        self.assertEqual(self.customer.property_product_pricelist, vip_prices)
        # Neither the tier nor the balance is tracked in the chatter: the points engine
        # writes them, the points history is their record, and a message per purchase
        # would cost every posting.
        self.assertNotIn("retail_loyalty_tier_id", self.customer._track_get_fields())
        self.assertNotIn("retail_loyalty_points", self.customer._track_get_fields())

    def test_losing_a_tier_drops_its_pricelist_not_a_manual_one(self):
        self.env.company.retail_tier_basis = "spend"
        for name, threshold in (("silver", 1e6), ("gold", 5e6), ("diamond", 1e7)):
            self.env.ref(f"crm_retail.tier_{name}").threshold = threshold
        vip_prices = self.env["product.pricelist"].create({"name": "Giá VIP"})
        self.env.ref("crm_retail.tier_silver").pricelist_id = vip_prices
        invoice = self._sell(self.customer, 1200000, date=fields.Date.today())
        self.assertEqual(self.customer.property_product_pricelist, vip_prices)
        invoice.button_draft()
        self.assertEqual(self.customer.retail_loyalty_tier_id,
                         self.env.ref("crm_retail.tier_member"))
        self.assertNotEqual(self.customer.property_product_pricelist, vip_prices)

    def test_multiplier_applies_to_points_earned(self):
        self._give(self.customer, 2000)  # Gold: x1.2
        self._sell(self.customer, 100000)
        self.assertPoints(self.customer, 2012)

    def test_tier_on_twelve_month_spend(self):
        self.env.company.retail_tier_basis = "spend"
        for name, threshold in (("silver", 1e6), ("gold", 5e6), ("diamond", 1e7)):
            self.env.ref(f"crm_retail.tier_{name}").threshold = threshold
        today = fields.Date.today()
        self._sell(self.customer, 800000, date=today - relativedelta(months=13))
        self._sell(self.customer, 600000, date=today - relativedelta(months=2))
        self.assertEqual(self.customer.retail_loyalty_tier_id,
                         self.env.ref("crm_retail.tier_member"))
        self._sell(self.customer, 500000, date=today)
        self.assertEqual(self.customer.retail_loyalty_tier_id,
                         self.env.ref("crm_retail.tier_silver"))
        with self._cron_progress():
            self.env["res.partner"]._cron_retail_update_tiers()
        self.assertEqual(self.customer.retail_loyalty_tier_id,
                         self.env.ref("crm_retail.tier_silver"))
