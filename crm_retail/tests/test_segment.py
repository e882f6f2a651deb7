from contextlib import closing
from unittest.mock import patch

import psycopg2
from dateutil.relativedelta import relativedelta

from odoo import Command, fields, sql_db
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, freeze_time, tagged
from odoo.tools import SQL, mute_logger

from ..hooks import post_init_hook
from ..models import retail_segment_diff as diff
from .common import RetailCommon

SHIPPED = [
    "segment_age_under_15", "segment_age_15_22", "segment_age_22_50", "segment_age_over_50",
    "segment_vip", "segment_regular",
    "segment_loyal", "segment_high_potential", "segment_low_value", "segment_at_risk",
    "segment_potential", "segment_current", "segment_lapsed",
    "segment_paid_up", "segment_in_debt",
]
MILLION = 1_000_000


class SegmentCommon(RetailCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.Segment = cls.env["retail.segment"]
        cls.shipped = {name: cls.env.ref(f"crm_retail.{name}") for name in SHIPPED}
        cls.important = cls.env.ref("crm_retail.segment_important")
        # The shipped segments belong to the main company; the tests run in their own.
        (cls.Segment.browse(s.id for s in cls.shipped.values()) | cls.important).sudo().write(
            {"company_id": cls.company.id})

    @classmethod
    def _customer(cls, name, **vals):
        return cls.Partner.create({"name": name, "customer_rank": 1, **vals})

    def _recompute(self, segments=None):
        # Flushing runs the debt refresh, as at the end of every request.
        self.env.cr.flush()
        return (segments or self.Segment.search([]))._recompute()

    def _segments(self, partner):
        """The shipped segments (short xml ids) whose tag the customer holds."""
        partner = partner.sudo()  # customers of another company too
        partner.invalidate_recordset(["category_id"])
        return {name for name, segment in self.shipped.items()
                if segment.tag_id in partner.category_id}

    def _holders(self, segment):
        return self.env["res.partner"].with_context(active_test=False).search(
            [("category_id", "in", segment.tag_id.ids)])

    def _rule_members(self, segment, manual=False):
        """The customers the rule put in the segment (``manual``: those who already had
        the tag by hand then)."""
        members = self.env["retail.segment.member"].search(
            [("company_id", "=", segment.company_id.id)])
        field = "manual_segment_ids" if manual else "segment_ids"
        return members.filtered(lambda member: segment in member[field]).partner_id


@tagged("post_install", "-at_install")
class TestSegmentRules(SegmentCommon):
    """Each shipped rule against hand-built customers."""

    def test_age_groups_on_birthdays(self):
        ages = {
            "turns_15": self._customer("Tròn 15", retail_birthday="2011-03-01"),
            "leap_day": self._customer("Sinh 29/2", retail_birthday="2004-02-29"),
            "turns_50": self._customer("Tròn 50", retail_birthday="1976-03-01"),
            "birthday_today": self._customer("Sinh nhật", retail_birthday="2011-02-28"),
            "unknown": self._customer("Không rõ tuổi"),
        }
        expected = {
            # The day before: 14, 21 (29 February not reached), 49, 15 on the birthday.
            "2026-02-28": {"turns_15": "segment_age_under_15", "leap_day": "segment_age_15_22",
                           "turns_50": "segment_age_22_50",
                           "birthday_today": "segment_age_15_22"},
            # In a common year a 29 February birthday counts from 1 March.
            "2026-03-01": {"turns_15": "segment_age_15_22", "leap_day": "segment_age_22_50",
                           "turns_50": "segment_age_over_50",
                           "birthday_today": "segment_age_15_22"},
        }
        age_segments = {n for n in SHIPPED if n.startswith("segment_age")}
        for day, groups in expected.items():
            with freeze_time(f"{day} 12:00:00"):
                self._recompute()
            for key, partner in ages.items():
                self.assertEqual(
                    self._segments(partner) & age_segments,
                    {groups[key]} if key in groups else set(), f"{key} on {day}")
        # On a leap day, 29 February birthdays are birthdays again.
        with freeze_time("2028-02-29 12:00:00"):
            self._recompute()
        self.assertIn("segment_age_22_50", self._segments(ages["leap_day"]))  # 24
        self.assertIn("segment_age_15_22", self._segments(ages["turns_15"]))  # 16
        later = self._customer("Tròn 15 hôm nay", retail_birthday="2013-02-28")
        younger = self._customer("Mai tròn 15", retail_birthday="2013-03-01")
        with freeze_time("2028-02-29 12:00:00"):
            self._recompute()
        self.assertIn("segment_age_15_22", self._segments(later))
        self.assertIn("segment_age_under_15", self._segments(younger))

    @freeze_time("2026-03-01 12:00:00")
    def test_value_and_lifecycle(self):
        vip = self._customer("VIP")
        self._sell(vip, 15 * MILLION, "2025-06-01")
        self._sell(vip, 5 * MILLION, "2026-02-01")
        window_in = self._customer("Mua 365 ngày trước")  # 2025-03-02: day 365 of the window
        self._sell(window_in, 20 * MILLION, "2025-03-02")
        window_out = self._customer("Mua 366 ngày trước")
        self._sell(window_out, 20 * MILLION, "2025-03-01")
        regular = self._customer("Khách thường")
        self._sell(regular, 500_000, "2025-09-03")  # 179 days ago: current
        lapsed = self._customer("Lâu không mua")
        self._sell(lapsed, 500_000, "2025-09-02")  # 180 days ago: lapsed
        refund_only = self._customer("Chỉ trả hàng")
        self._sell(refund_only, MILLION, "2026-02-10", move_type="out_refund")
        reversed_buyer = self._customer("Hóa đơn bị hủy")
        invoice = self._sell(reversed_buyer, 30 * MILLION, "2026-02-10")
        invoice._reverse_moves([{"invoice_date": "2026-02-11"}], cancel=True)
        prospect = self._customer("Khách tiềm năng")
        supplier = self.Partner.create({"name": "Nhà cung cấp", "supplier_rank": 1})
        self._recompute()

        lifecycle = {"segment_potential", "segment_current", "segment_lapsed"}
        value = {"segment_vip", "segment_regular"}
        cases = [
            (vip, {"segment_vip", "segment_current"}),
            (window_in, {"segment_vip", "segment_lapsed"}),
            (window_out, {"segment_lapsed"}),
            (regular, {"segment_regular", "segment_current"}),
            (lapsed, {"segment_regular", "segment_lapsed"}),
            (refund_only, {"segment_potential"}),
            (reversed_buyer, {"segment_potential"}),
            (prospect, {"segment_potential"}),
        ]
        for partner, expected in cases:
            self.assertEqual(self._segments(partner) & (lifecycle | value), expected,
                             partner.name)
        self.assertFalse(self._segments(supplier), "not a customer: in no segment")

    def test_never_bought_prospects(self):
        """Contacts created outside the Customers menu have no customer rank, only a code:
        a quotation or an opportunity makes them customers who never bought; a quotation
        of another company, or the code alone, does not."""
        quoted, with_opportunity, quoted_elsewhere, contact = self.Partner.create([
            {"name": "Có báo giá"}, {"name": "Có cơ hội"}, {"name": "Báo giá công ty khác"},
            {"name": "Chỉ là liên hệ"},
        ])
        self.assertTrue(all(quoted.mapped("ref")), "coded like any customer")
        self.assertFalse(any((quoted | with_opportunity | contact).mapped("customer_rank")))
        # The quotation is made out to a contact person of the customer.
        person = self.Partner.create({"name": "Người mua", "parent_id": quoted.id})
        self.env["sale.order"].create({"partner_id": person.id})
        self.env["crm.lead"].create(
            {"name": "Quan tâm gạo ST25", "type": "opportunity", "partner_id": with_opportunity.id})
        company_2 = self.setup_other_company()["company"]
        self.env["sale.order"].with_company(company_2).create(
            {"partner_id": quoted_elsewhere.id, "company_id": company_2.id})
        self._recompute()
        self.assertEqual(self._segments(quoted), {"segment_potential"})
        self.assertEqual(self._segments(with_opportunity), {"segment_potential"})
        self.assertFalse(self._segments(quoted_elsewhere))
        self.assertFalse(self._segments(contact))
        self.assertEqual(self.shipped["segment_potential"].match_count,
                         len(self._holders(self.shipped["segment_potential"])))

    @freeze_time("2026-03-01 12:00:00")
    def test_debt(self):
        owing = self._customer("Còn nợ")
        self._sell(owing, 2 * MILLION, "2026-02-01")
        paid = self._customer("Đã trả")
        invoice = self._sell(paid, 2 * MILLION, "2026-02-01")
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids,
        ).create({"payment_date": "2026-02-15"})._create_payments()
        prospect = self._customer("Chưa mua")
        self._recompute()
        payment = {"segment_in_debt", "segment_paid_up"}
        self.assertEqual(self._segments(owing) & payment, {"segment_in_debt"})
        self.assertEqual(self._segments(paid) & payment, {"segment_paid_up"})
        self.assertFalse(self._segments(prospect) & payment, "paid up needs a purchase")

    @freeze_time("2026-03-01 12:00:00")
    def test_other_company(self):
        company_2 = self.setup_other_company()["company"]
        self.env.user.company_ids |= company_2
        vip_2 = self.shipped["segment_vip"].sudo().copy({"company_id": company_2.id})
        shared = self._customer("Mua ở công ty 2")
        self._sell(shared, 30 * MILLION, "2026-02-01", company=company_2)
        own = self._customer("Khách công ty 2", company_id=company_2.id)
        self._sell(own, 30 * MILLION, "2026-02-01", company=company_2)
        self._recompute(self.Segment.search([]) | vip_2)
        # A shared contact is a customer of both; its purchases count where they were made.
        self.assertEqual(self._segments(shared) & {"segment_vip", "segment_potential"},
                         {"segment_potential"})
        self.assertIn(vip_2.tag_id, shared.sudo().category_id)
        # A contact of company 2 only is in no segment of this company.
        self.assertFalse(self._segments(own))
        self.assertIn(vip_2.tag_id, own.sudo().category_id)

    def test_match_any_and_domain(self):
        hue = self.env["res.country.state"].create({
            "name": "Thừa Thiên Huế", "code": "TTH-T", "country_id": self.vietnam.id})
        segment = self.Segment.create({
            "name": "Nữ hoặc ở Huế", "match": "any", "gender": "female",
            "state_ids": [Command.set(hue.ids)],
        })
        woman = self._customer("Chị Lan", retail_gender="female")
        from_hue = self._customer("Anh Minh", retail_gender="male", state_id=hue.id)
        other = self._customer("Anh Nam", retail_gender="male")
        self._recompute(segment)
        self.assertEqual(self._holders(segment), woman | from_hue)
        segment.match = "all"
        self.assertEqual(segment.match_count, 0)
        segment.write({"match": "any", "gender": False, "domain": "[('name', 'ilike', 'Nam')]"})
        self._recompute(segment)
        self.assertEqual(self._holders(segment), from_hue | other)

    def test_live_count(self):
        self._customer("Bé Na", retail_birthday="2020-05-05")
        self._customer("Cụ Tư", retail_birthday="1940-05-05")
        draft = self.Segment.new({"name": "Trẻ em", "use_age": True, "age_to": 15})
        self.assertEqual(draft.match_count, 1)
        draft.age_to = 0
        self.assertEqual(draft.match_count, 2)
        draft.domain = "[('name', '=', 'Cụ Tư')]"
        self.assertEqual(draft.match_count, 1)
        self.assertFalse(self.important.match_count, "no rule: no count")
        # A window of its own (purchases over 365 days).
        buyer = self._customer("Mới mua")
        self._sell(buyer, MILLION, fields.Date.today() - relativedelta(days=10))
        self.assertEqual(self.shipped["segment_regular"].match_count, 1)

    def test_invalid_rules(self):
        with self.assertRaisesRegex(ValidationError, "no condition"):
            self.Segment.create({"name": "Trống"})
        with self.assertRaisesRegex(ValidationError, "not a valid filter"):
            self.Segment.create({"name": "Sai", "use_age": True,
                                 "domain": "[('no_such_field', '=', 1)]"})
        with self.assertRaisesRegex(ValidationError, "not a valid filter"):
            self.Segment.create({"name": "Sai", "use_age": True, "domain": "[('name', '="})
        # Manual segments need no rule.
        self.assertTrue(self.Segment.create({"name": "Bằng tay", "match": "manual"}).tag_id)


@tagged("post_install", "-at_install")
@freeze_time("2026-03-01 12:00:00")
class TestSegmentRfm(SegmentCommon):
    """RFM types from quintiles of the company's buyers: ties and small numbers."""

    RFM = {"segment_loyal", "segment_high_potential", "segment_low_value", "segment_at_risk"}

    def _buyer(self, name, purchases):
        """A customer with these (date, amount) purchases."""
        partner = self._customer(name)
        for date, amount in purchases:
            self._sell(partner, amount, date)
        return partner

    def test_fewer_than_five(self):
        prospect = self._customer("Chưa mua")
        alone = self._buyer("Duy nhất", [("2026-02-01", MILLION)])
        self._recompute()
        # Alone, a buyer is the median on each axis: 3, 3, 3.
        self.assertEqual(self._segments(alone) & self.RFM, {"segment_high_potential"})
        self.assertFalse(self._segments(prospect) & self.RFM)
        second = self._buyer("Thứ hai", [("2026-02-20", 5 * MILLION),
                                          ("2026-02-25", 5 * MILLION)])
        self._recompute()
        # Two buyers score 2 and 4 on each axis.
        self.assertEqual(self._segments(second) & self.RFM, {"segment_loyal"})
        self.assertEqual(self._segments(alone) & self.RFM, {"segment_low_value"})

    def test_ties(self):
        twins = [self._buyer(f"Giống nhau {i}", [("2026-02-01", MILLION)]) for i in range(4)]
        self._recompute()
        for partner in twins:
            self.assertEqual(self._segments(partner) & self.RFM, {"segment_high_potential"})

    def test_five_types(self):
        # (R, F, M) scores: A (4, 4, 4), B (2, 5, 5), C (5, 2, 2), D (1, 2, 1), E (3, 3, 3);
        # C and D tie on F (one purchase each) and share score 2.
        a = self._buyer("A", [(f"2026-02-{day:02d}", 10 * MILLION) for day in (5, 10, 15, 20)])
        b = self._buyer("B", [(f"2025-01-{day:02d}", 10 * MILLION) for day in (2, 4, 6, 8, 10)])
        c = self._buyer("C", [("2026-02-25", MILLION)])
        d = self._buyer("D", [("2024-06-01", 500_000)])
        e = self._buyer("E", [("2025-12-01", 2 * MILLION), ("2026-01-10", 3 * MILLION)])
        self._recompute()
        expected = {a: "segment_loyal", b: "segment_at_risk", c: "segment_high_potential",
                    d: "segment_low_value", e: "segment_high_potential"}
        for partner, segment in expected.items():
            self.assertEqual(self._segments(partner) & self.RFM, {segment}, partner.name)

    def test_partial_recompute_leaves_rfm(self):
        buyer = self._buyer("Mua một lần", [("2026-02-01", MILLION)])
        self._recompute()
        self.assertIn("segment_high_potential", self._segments(buyer))
        better = self._buyer("Mua nhiều", [("2026-02-20", 5 * MILLION),
                                           ("2026-02-25", 5 * MILLION)])
        self.env.cr.flush()
        self.Segment._recompute_partners((buyer | better).ids)
        # RFM types are relative to every buyer: only the full recompute moves them.
        self.assertEqual(self._segments(buyer) & self.RFM, {"segment_high_potential"})
        self.assertFalse(self._segments(better) & self.RFM)
        self.assertIn("segment_current", self._segments(better), "the other groups follow")
        self._recompute()
        self.assertEqual(self._segments(buyer) & self.RFM, {"segment_low_value"})


@tagged("post_install", "-at_install")
@freeze_time("2026-03-01 12:00:00")
class TestSegmentMembership(SegmentCommon):
    """Rule tags come and go with the rule; tags set by hand stay."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.points = cls.Segment.create({
            "name": "Nhiều điểm", "use_points": True, "points_min": 100})
        cls.rich, cls.poor, cls.tagged_rich, cls.tagged_poor = cls.Partner.create([
            {"name": "Giàu điểm", "customer_rank": 1},
            {"name": "Ít điểm", "customer_rank": 1},
            {"name": "Giàu điểm, gắn tay", "customer_rank": 1,
             "category_id": [Command.link(cls.points.tag_id.id)]},
            {"name": "Ít điểm, gắn tay", "customer_rank": 1,
             "category_id": [Command.link(cls.points.tag_id.id),
                             Command.link(cls.important.tag_id.id)]},
        ])
        (cls.rich | cls.tagged_rich).sudo().write({"retail_loyalty_points": 150})

    def test_manual_tags_survive(self):
        self._recompute(self.points)
        self.assertEqual(self._holders(self.points),
                         self.rich | self.tagged_rich | self.tagged_poor)
        self.assertEqual(self._rule_members(self.points), self.rich | self.tagged_rich)
        self.assertEqual(self._rule_members(self.points, manual=True), self.tagged_rich)
        # Nothing changed: nothing written.
        self.assertEqual(self._recompute(self.points), (0, 0))
        # The rule stops matching: its tag goes, the tags set by hand stay.
        (self.rich | self.tagged_rich).sudo().write({"retail_loyalty_points": 10})
        self.assertEqual(self._recompute(self.points), (0, 2))
        self.assertEqual(self._holders(self.points), self.tagged_rich | self.tagged_poor)
        self.assertIn(self.important.tag_id, self.tagged_poor.category_id)
        self.assertEqual(self.important.member_count, 1, "the manual segment keeps its tag")

    def test_archive_and_delete(self):
        self._recompute(self.points)
        self.points.active = False
        self.assertEqual(self._holders(self.points), self.tagged_rich | self.tagged_poor)
        self.assertFalse(self._rule_members(self.points))
        self.assertTrue(self._rule_members(self.shipped["segment_potential"]),
                        "the other segments keep their customers")
        self.points.active = True
        self._recompute(self.points)
        tag = self.points.tag_id
        self.points.unlink()
        self.assertTrue(tag.exists(), "customers still hold it by hand")
        self.assertEqual(self._holders_of(tag), self.tagged_rich | self.tagged_poor)
        lonely = self.Segment.create({"name": "Không ai", "use_points": True,
                                      "points_min": 100})
        self._recompute(lonely)
        lonely_tag = lonely.tag_id
        lonely.unlink()
        self.assertFalse(lonely_tag.exists())

    def _keys(self):
        """The keys and indexes of the tag and membership tables, as PostgreSQL defines
        them, with their comments (where Odoo keeps its own definitions)."""
        tables = [diff.TAG_TABLE, "retail_segment_member"]
        self.env.cr.execute(SQL(
            """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid),
                      obj_description(oid, 'pg_constraint')
                 FROM pg_constraint WHERE conrelid = ANY(%(tables)s::regclass[])
                UNION ALL
               SELECT tablename, indexname, indexdef,
                      obj_description(format('%%I', indexname)::regclass, 'pg_class')
                 FROM pg_indexes WHERE tablename = ANY(%(tables)s)
                ORDER BY 1, 2, 3""", tables=tables))
        return self.env.cr.fetchall()

    def _tables_held(self):
        """The tables this transaction holds exclusively (those whose keys it dropped)."""
        self.env.cr.execute(
            "SELECT relation::regclass::text FROM pg_locks WHERE pid = pg_backend_pid() "
            "AND mode = 'AccessExclusiveLock' AND relation = ANY(%s::regclass[])",
            [[diff.TAG_TABLE, "res_partner"]])
        return {row[0] for row in self.env.cr.fetchall()}

    def test_bulk_insert_checks_keys_once(self):
        """Many rows added at once: the tables' keys and indexes are dropped for the insert
        and built again, which checks the rows; while another transaction uses contacts,
        the rows are inserted with the keys in place."""
        keys = self._keys()
        # Foreign keys, primary and unique keys, and their indexes, of both tables.
        self.assertEqual(len(keys), 12)
        holders = self.rich | self.tagged_rich | self.tagged_poor
        self._recompute(self.points)
        diff.clear_members(self.points)
        # First while another transaction reads contacts: the keys cannot be dropped now
        # (and this transaction would hold contacts until its end once they were).
        with closing(sql_db.db_connect(self.env.cr.dbname).cursor()) as other, \
                patch.multiple(diff, BULK_ROWS=1, BULK_SHARE=0):
            other.execute("SET statement_timeout = '10s'")
            other.execute("SELECT id FROM res_partner LIMIT 1")
            self.assertEqual(self._recompute(self.points), (2, 0))
        self.assertFalse(self._tables_held())
        self.assertEqual(self._holders(self.points), holders)
        self.assertEqual(self._keys(), keys)
        diff.clear_members(self.points)
        # Few rows beside those already there: kept up to date row by row.
        self.env.cr.execute("ANALYZE res_partner_res_partner_category_rel")
        with patch.multiple(diff, BULK_ROWS=1, BULK_SHARE=2):
            self.assertEqual(self._recompute(self.points), (2, 0))
        self.assertFalse(self._tables_held())
        diff.clear_members(self.points)
        with patch.multiple(diff, BULK_ROWS=1, BULK_SHARE=0):
            self.assertEqual(self._recompute(self.points), (2, 0))
        self.assertEqual(self._tables_held(), {diff.TAG_TABLE, "res_partner"})
        self.assertEqual(self._holders(self.points), holders)
        self.assertEqual(self._rule_members(self.points), self.rich | self.tagged_rich)
        self.assertEqual(self._rule_members(self.points, manual=True), self.tagged_rich)
        self.assertEqual(self._keys(), keys, "the same keys are back")
        with self.assertRaises(psycopg2.errors.ForeignKeyViolation), \
                mute_logger("odoo.sql_db"), self.env.cr.savepoint():
            self.env.cr.execute(SQL(
                "INSERT INTO res_partner_res_partner_category_rel (category_id, partner_id) "
                "VALUES (%s, %s)", self.points.tag_id.id, max(self.Partner.search([]).ids) + 1))

    def test_bulk_insert_meets_a_row_committed_meanwhile(self):
        """A row this transaction did not see (committed by another since it began) makes
        a key fail to build again: the rows are inserted again with the keys in place and
        ``on_conflict``, the table as it was but for them."""
        self._recompute(self.points)
        keys = self._keys()
        self.env.cr.execute(SQL(
            "SELECT COUNT(*) FROM %s WHERE category_id = %s",
            SQL.identifier(diff.TAG_TABLE), self.points.tag_id.id))
        count = self.env.cr.fetchone()[0]
        self.assertTrue(count)
        with patch.multiple(diff, BULK_ROWS=1, BULK_SHARE=0):
            diff.insert_in_bulk(self.env.cr, diff.TAG_TABLE, SQL(
                "INSERT INTO %s (category_id, partner_id) SELECT category_id, partner_id "
                "FROM %s WHERE category_id = %s",
                SQL.identifier(diff.TAG_TABLE), SQL.identifier(diff.TAG_TABLE),
                self.points.tag_id.id), count, SQL("ON CONFLICT DO NOTHING"))
        self.env.cr.execute(SQL(
            "SELECT COUNT(*) FROM %s WHERE category_id = %s",
            SQL.identifier(diff.TAG_TABLE), self.points.tag_id.id))
        self.assertEqual(self.env.cr.fetchone()[0], count, "no row twice")
        self.assertEqual(self._keys(), keys, "the same keys are back")
        self.assertFalse(self._tables_held(), "the locks of the bulk insert are let go")
        # A contact gone (deleted by another transaction since this one began): its key
        # fails to build again, and the row meets it again as it is inserted alone.
        with patch.multiple(diff, BULK_ROWS=1, BULK_SHARE=0), \
                patch.object(diff._logger, "info") as info, \
                self.assertRaises(psycopg2.errors.ForeignKeyViolation), \
                mute_logger("odoo.sql_db"), self.env.cr.savepoint():
            diff.insert_in_bulk(self.env.cr, diff.TAG_TABLE, SQL(
                "INSERT INTO %s (category_id, partner_id) VALUES (%s, %s)",
                SQL.identifier(diff.TAG_TABLE), self.points.tag_id.id,
                max(self.Partner.search([]).ids) + 1), 1)
        self.assertIn("changed meanwhile", info.call_args.args[0])
        self.assertEqual(self._keys(), keys)

    def test_bulk_insert_keeps_odoo_definitions(self):
        """Odoo keeps a constraint's definition in its comment (and rebuilds the constraint
        at the next update when they differ): the keys built again carry it too."""
        keys = self._keys()
        self.assertIn("UNIQUE(partner_id, company_id)", [key[3] for key in keys])
        newcomer = self.Partner.create({"name": "Khách mới"})
        self.env.flush_all()
        with patch.multiple(diff, BULK_ROWS=1, BULK_SHARE=0):
            diff.insert_in_bulk(self.env.cr, "retail_segment_member", SQL(
                "INSERT INTO retail_segment_member (partner_id, company_id, segment_ids) "
                "VALUES (%s, %s, %s)", newcomer.id, self.env.company.id, self.points.ids), 1)
        self.assertEqual(self._tables_held(), {"res_partner"}, "the bulk path was taken")
        self.assertEqual(self._keys(), keys)

    def _holders_of(self, tag):
        return self.env["res.partner"].search([("category_id", "in", tag.ids)])

    def test_exclusive_group(self):
        gold = self.Segment.create({"name": "Vàng", "exclusive_group": "hạng", "sequence": 1,
                                    "use_points": True, "points_min": 100})
        silver = self.Segment.create({"name": "Bạc", "exclusive_group": "hạng", "sequence": 2,
                                      "use_points": True, "points_min": 0})
        self._recompute(gold)  # the whole group is recomputed
        self.assertEqual(self._holders(gold) & self.rich, self.rich)
        self.assertFalse(self._holders(silver) & self.rich)
        self.assertEqual(self._holders(silver) & self.poor, self.poor)
        # A segment without a group overlaps freely.
        self._recompute(self.points)
        self.assertIn(self.rich, self._holders(self.points) & self._holders(gold))
        # The first by sequence wins.
        silver.sequence = 0
        self._recompute(silver)
        self.assertFalse(self._holders(gold) & (self.rich | self.poor))
        self.assertEqual(self._holders(silver) & (self.rich | self.poor), self.rich | self.poor)

    def test_recompute_partners(self):
        self._recompute(self.points)
        (self.rich | self.poor).sudo().write({"retail_loyalty_points": 500})
        self.env.cr.flush()
        self.Segment._recompute_partners(self.poor.ids)
        self.assertIn(self.poor, self._holders(self.points))
        self.assertIn(self.rich, self._holders(self.points))
        self.rich.sudo().retail_loyalty_points = 0
        self.Segment._recompute_partners(self.poor.ids)
        self.assertIn(self.rich, self._holders(self.points), "only the given customers")
        self.Segment._recompute_partners(self.rich.child_ids.ids + self.rich.ids)
        self.assertNotIn(self.rich, self._holders(self.points))
        # A deleted customer's memberships go with the next full recompute.
        self.poor.sudo().unlink()
        self._recompute()
        self.assertFalse(self.env["retail.segment.member"].search(
            [("partner_id", "=", self.poor.id)]))

    def test_cron(self):
        company_2 = self.setup_other_company()["company"]
        other = self.points.sudo().copy({"company_id": company_2.id})
        shared_rich = self.rich  # a shared contact: a customer of both companies
        # Points are per company: rich in the second company too.
        shared_rich.sudo().with_company(company_2).write({"retail_loyalty_points": 150})
        with patch.object(type(self.env["ir.cron"]), "_commit_progress",
                          return_value=float("inf")) as progress:
            self.Segment._cron_recompute()
        self.assertIn(shared_rich, self._holders(other))
        self.assertIn(shared_rich, self._holders(self.points))
        self.assertTrue(other.last_recompute and self.points.last_recompute)
        segments = self.Segment.search([("match", "!=", "manual")])
        self.assertEqual(progress.call_args_list[0].kwargs, {"remaining": len(segments)})
        self.assertEqual(sum(call.args[0] for call in progress.call_args_list[1:]),
                         len(segments))

    def test_cron_leaves_a_company_changed_meanwhile(self):
        """A company whose memberships another transaction changed meanwhile is left for
        the scheduler's next call (not counted done); the others are recomputed."""
        company_2 = self.setup_other_company()["company"]
        other = self.points.sudo().copy({"company_id": company_2.id})
        Segment = type(self.Segment)
        recompute = Segment._recompute

        def busy_in_first_company(segments, *args, **kwargs):
            if segments.company_id == self.env.company:
                raise psycopg2.errors.SerializationFailure("concurrent update")
            return recompute(segments, *args, **kwargs)

        with patch.object(type(self.env["ir.cron"]), "_commit_progress",
                          return_value=float("inf")) as progress, \
                patch.object(Segment, "_recompute", busy_in_first_company):
            self.Segment._cron_recompute()
        self.assertTrue(other.last_recompute)
        self.assertFalse(self.points.last_recompute)
        self.assertEqual(sum(call.args[0] for call in progress.call_args_list[1:]),
                         len(self.Segment.search([("match", "!=", "manual"),
                                                  ("company_id", "=", company_2.id)])))

    def test_query_count_flat(self):
        """The recompute's queries do not grow with the customers."""
        segments = self.Segment.search([])

        def count(partner_ids=None):
            self.env.cr.flush()
            self.env.invalidate_all()
            with self._record_queries() as queries:
                if partner_ids is None:
                    segments._recompute()
                else:
                    self.Segment._recompute_partners(partner_ids)
            return queries

        def customers(number, offset):
            partners = self.Partner.create([{
                "name": f"Khách {offset + i}", "customer_rank": 1,
                "retail_birthday": fields.Date.today() - relativedelta(years=10 + 3 * i, days=i),
                "retail_gender": "female" if i % 2 else "male",
            } for i in range(number)])
            for partner in partners[:2]:
                self._sell(partner, (offset + 1) * MILLION, "2026-02-01")
            return partners

        count()  # the caches of the environment (user, companies) are warm from now on
        few = customers(5, 0)
        queries_few = count()
        many = customers(15, 5)
        queries_many = count()
        self.assertGreater(len(self._holders(self.shipped["segment_potential"])), 15)
        self.assertEqual(len(queries_few), len(queries_many))
        self.assertEqual(len(count(few[:1].ids)), len(count((few | many).ids)))


@tagged("post_install", "-at_install")
class TestSegmentAccess(SegmentCommon):

    def test_salesman_reads_manager_edits(self):
        vip = self.shipped["segment_vip"]
        as_salesman = vip.with_user(self.salesman)
        self.assertTrue(as_salesman.name)
        self.assertIsInstance(as_salesman.member_count, int)
        with self.assertRaises(AccessError):
            as_salesman.write({"sales_min": 1})
        with self.assertRaises(AccessError):
            self.Segment.with_user(self.salesman).create(
                {"name": "Của tôi", "use_age": True})
        with self.assertRaises(AccessError):
            as_salesman.action_recompute()
        with self.assertRaises(AccessError):
            as_salesman.unlink()
        as_manager = vip.with_user(self.sales_manager)
        as_manager.write({"sales_min": 30 * MILLION, "name": "Khách VIP"})
        self.assertEqual(vip.tag_id.name, "Khách VIP", "the tag follows the name")
        self.assertTrue(as_manager.action_recompute())
        created = self.Segment.with_user(self.sales_manager).create(
            {"name": "Mới", "use_age": True, "age_from": 60})
        self.assertEqual(created.tag_id.name, "Mới")
        created.with_user(self.sales_manager).unlink()

    def test_other_company_hidden(self):
        company_2 = self.setup_other_company()["company"]
        hidden = self.shipped["segment_vip"].sudo().copy({"company_id": company_2.id})
        self.assertNotIn(hidden, self.Segment.with_user(self.sales_manager).search([]))


@tagged("post_install", "-at_install")
@freeze_time("2026-03-01 12:00:00")
class TestSegmentReports(SegmentCommon):

    def test_revenue_by_segment_and_pareto(self):
        big = self._customer("Khách lớn")
        self._sell(big, 80 * MILLION, "2026-02-01")
        small = [self._customer(f"Khách nhỏ {i}") for i in range(4)]
        for partner in small:
            self._sell(partner, 5 * MILLION, "2026-02-01")
        refunded = self._customer("Trả hết")
        self._sell(refunded, MILLION, "2026-02-01", move_type="out_refund")
        self._recompute()
        self.env.flush_all()
        rows = self.env["retail.segment.report"]._read_group(
            [("company_id", "=", self.company.id)], ["segment_id"],
            ["partner_id:count_distinct", "revenue:sum"])
        by_segment = {segment: (customers, revenue) for segment, customers, revenue in rows}
        self.assertEqual(by_segment[self.shipped["segment_vip"]], (1, 80 * MILLION))
        self.assertEqual(by_segment[self.shipped["segment_regular"]], (4, 20 * MILLION))

        pareto = self.env["retail.segment.pareto.report"].search(
            [("company_id", "=", self.company.id)])
        self.assertEqual(len(pareto), 5, "customers with positive net sales")
        top = pareto.filtered("is_top_20")
        self.assertEqual(top.partner_id, big)
        self.assertAlmostEqual(sum(top.mapped("revenue_share")), 80.0)
        self.assertEqual(pareto.sorted("rank").mapped("cumulative_share"),
                         [80.0, 85.0, 90.0, 95.0, 100.0])
        self.assertEqual(pareto.sorted("rank").mapped("percentile"), [20, 40, 60, 80, 100])

    def test_exclusive_groups_read_by_name(self):
        """Lists and reports grouped by exclusive group show its name, not its key; a
        group the shop named itself shows as named."""
        own = self.Segment.create({"name": "Khu vực Bắc", "exclusive_group": "khu vực",
                                   "use_age": True, "age_from": 0, "age_to": 150})
        for model in ("retail.segment", "retail.segment.report"):
            field = self.env[model].fields_get(["exclusive_group"])["exclusive_group"]
            labels = dict(field["selection"])
            self.assertEqual(
                [labels[key] for key in ("age", "value", "rfm", "lifecycle", "payment")],
                ["Age", "Customer Value", "Customer Type (RFM)", "Lifecycle", "Payment Status"])
            self.assertEqual(labels["khu vực"], "khu vực")
        self.assertEqual(own.exclusive_group, "khu vực")
        with self.assertRaises(ValidationError):
            self.Segment.create({"name": "Sai", "exclusive_group": 5})


@tagged("post_install", "-at_install")
@freeze_time("2026-03-01 12:00:00")
class TestSegmentBrokenRule(SegmentCommon):
    """A rule the database refuses is not saved; one that fails later is skipped and
    reported, and never stops a posting."""

    BAD_DOMAIN = "[('id', 'in', 'abc')]"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.buyers = cls.Segment.create(
            {"name": "Đã mua", "use_purchases": True, "purchase_min": 1})
        # An exclusive group: the rule that will break first, a sibling after it.
        cls.broken = cls.Segment.create({
            "name": "Sắp hỏng", "exclusive_group": "thử", "sequence": 1,
            "use_purchases": True, "purchase_min": 1,
            "domain": "[('customer_rank', '>', 0)]"})
        cls.sibling = cls.Segment.create({
            "name": "Cùng nhóm", "exclusive_group": "thử", "sequence": 2, "use_sales": True,
            "sales_min": 1})

    def _break(self, domain=BAD_DOMAIN):
        """Save a domain behind the validation's back, as a rule saved before it."""
        self.env.cr.execute(SQL(
            "UPDATE retail_segment SET domain = %s WHERE id = %s", domain, self.broken.id))
        self.broken.invalidate_recordset(["domain"])

    def test_refused_at_save(self):
        # assertRaises, unlike assertRaisesRegex, rolls back as a failed request does.
        with self.assertRaises(ValidationError) as caught:
            self.Segment.create({"name": "Hỏng ngay", "use_age": True,
                                 "domain": self.BAD_DOMAIN})
        self.assertRegex(str(caught.exception), "(?s)Hỏng ngay.*abc")
        self.assertFalse(self.Segment.with_context(active_test=False).search(
            [("name", "=", "Hỏng ngay")]))
        self.assertFalse(self.env["res.partner.category"].search(
            [("name", "=", "Hỏng ngay")]), "nor its tag")
        with self.assertRaises(ValidationError) as caught:
            self.buyers.write({"domain": self.BAD_DOMAIN})
        self.assertIn("abc", str(caught.exception))
        self.buyers.invalidate_recordset()
        self.assertEqual(self.buyers.domain, "[]")

    def test_bad_values(self):
        cases = [
            {"use_age": True, "age_from": -1},
            {"use_age": True, "age_to": 1_000_000},
            {"use_age": True, "age_from": "abc"},
            {"use_age": True, "gender": "robot"},
            {"use_age": True, "company_id": "abc"},
            {"use_sales": True, "sales_days": -30},
            {"use_recency": True, "recency_min": 10**9},
            {"use_points": True, "points_min": 2**31},
            {"use_purchases": True, "purchase_min": [1]},
            {"use_debt": True, "debt_min": float("inf")},
        ]
        for vals in cases:
            with self.subTest(vals=vals), self.assertRaises(ValidationError):
                self.Segment.create({"name": "Sai", **vals})
        with self.assertRaises(ValidationError):
            self.buyers.write({"purchase_days": 10**7})
        with self.assertRaises(ValidationError):
            self.buyers.write({"sequence": 2**40})
        self.assertFalse(self.Segment.search([("name", "=", "Sai")]))
        self.buyers.invalidate_recordset()
        self.assertEqual((self.buyers.purchase_days, self.buyers.sequence), (0, 10))

    def test_broken_rule_skipped(self):
        first = self._customer("Mua trước")
        self._sell(first, MILLION, "2026-02-10")
        self.env.cr.flush()
        self.assertIn(self.broken.tag_id, first.category_id)
        self._break()
        # Posting runs the recompute of the customer's segments: it still posts.
        second = self._customer("Mua sau")
        invoice = self._sell(second, MILLION, "2026-02-20")
        self.env.cr.flush()
        self.assertEqual(invoice.state, "posted")
        self.assertIn("abc", self.broken.last_error)
        self.assertTrue(self.broken.last_error_date)
        self.assertIn("Sắp hỏng", self.sibling.last_error, "its group waits with it")
        self.assertFalse(self.buyers.last_error)
        self.assertIn(second, self._holders(self.buyers), "the other segments recompute")
        self.assertNotIn(second, self._holders(self.broken) | self._holders(self.sibling))
        self.assertIn(first, self._holders(self.broken), "members kept meanwhile")

        # The form opens; the live count is 0 with the reason, the others still count.
        form = Form(self.broken)
        self.assertEqual(form.match_count, 0)
        self.assertIn("abc", form.rule_error)
        self.env.invalidate_all()
        segments = self.broken | self.buyers
        self.assertEqual(segments.mapped("match_count"), [0, 2])
        self.assertFalse(self.buyers.rule_error)

        # The nightly run goes on with the others and keeps the error.
        with patch.object(type(self.env["ir.cron"]), "_commit_progress",
                          return_value=float("inf")):
            self.Segment._cron_recompute()
        self.assertTrue(self.buyers.last_recompute)
        self.assertFalse(self.broken.last_recompute)
        self.assertIn("abc", self.broken.last_error)
        self.assertEqual(self._holders(self.broken) & (first | second), first)

        # Once the rule runs again, the next recompute clears the error.
        self._break("[('customer_rank', '>', 0)]")
        self._recompute()
        self.assertFalse(self.broken.last_error or self.broken.last_error_date)
        self.assertFalse(self.sibling.last_error)
        self.assertTrue(self.broken.last_recompute)
        self.assertEqual(self._holders(self.broken) & (first | second), first | second)

    def test_install_computes_segments(self):
        child = self._customer("Bé Hai", retail_birthday="2020-05-05")
        self.assertFalse(self._segments(child))
        post_init_hook(self.env)
        self.assertIn("segment_age_under_15", self._segments(child))
