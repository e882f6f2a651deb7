import ast
import re
from unittest.mock import patch

from lxml import etree

from odoo import Command, fields
from odoo.exceptions import ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import SQL, mute_logger

from ..hooks import post_init_hook
from .common import RetailCommon


@tagged("post_install", "-at_install")
class TestCustomerCode(RetailCommon):
    def test_code_assigned_from_sequence(self):
        first, second = self.Partner.create([{"name": "Khách A"}, {"name": "Khách B"}])
        self.assertRegex(first.ref, r"^KH\d{6}$")
        self.assertRegex(second.ref, r"^KH\d{6}$")
        self.assertEqual(int(second.ref[2:]), int(first.ref[2:]) + 1)

    def test_given_code_is_kept_and_trimmed(self):
        partner = self.Partner.create({"name": "Khách C", "ref": "  VIP-001 "})
        self.assertEqual(partner.ref, "VIP-001")

    def test_no_code_for_contacts_users_and_companies(self):
        child = self.Partner.create({"name": "Kế toán", "parent_id": self.customer.id})
        self.assertFalse(child.ref)
        user = self.env["res.users"].create({"name": "Thu ngân", "login": "cashier_code"})
        self.assertFalse(user.partner_id.ref)
        company = self.env["res.company"].create({"name": "Chi nhánh 2"})
        self.assertFalse(company.partner_id.ref)

    def test_duplicate_code_is_refused_with_the_holder_named(self):
        holder = self.Partner.create({"name": "Chủ mã", "ref": "KH-DUP"})
        with self.assertRaisesRegex(ValidationError, "KH-DUP.*Chủ mã"):
            self.Partner.create({"name": "Người sau", "ref": "KH-DUP"})
        other = self.Partner.create({"name": "Người khác"})
        with self.assertRaisesRegex(ValidationError, "Chủ mã"):
            other.ref = " KH-DUP "
        self.assertTrue(holder.exists())

    def test_same_code_allowed_in_another_company(self):
        other_company = self.env["res.company"].create({"name": "Công ty khác"})
        self.Partner.create({"name": "A", "ref": "KH-X", "company_id": self.env.company.id})
        partner = self.Partner.create({"name": "B", "ref": "KH-X", "company_id": other_company.id})
        self.assertEqual(partner.ref, "KH-X")

    def test_existing_duplicates_do_not_block_other_edits(self):
        """A database whose partners already share codes installs and keeps working."""
        first = self.Partner.create({"name": "Cũ 1", "ref": "OLD-1"})
        second = self.Partner.create({"name": "Cũ 2"})
        self.env.cr.execute("UPDATE res_partner SET ref = 'OLD-1' WHERE id = %s", [second.id])
        second.invalidate_recordset(["ref"])
        second.write({"name": "Cũ 2 (sửa)", "phone": "0912345678"})
        first.write({"email": "cu1@example.com"})
        self.assertEqual(second.ref, "OLD-1")

    def test_sequence_moves_past_codes_typed_by_hand(self):
        sequence = self.env.ref("crm_retail.seq_customer_code")
        ahead = sequence.get_next_char(sequence.number_next_actual + 5)
        manual = self.Partner.create({"name": "Gõ tay", "ref": ahead})
        automatic = self.Partner.create({"name": "Tự động"})
        self.assertEqual(int(automatic.ref[2:]), int(manual.ref[2:]) + 1)
        self.Partner.create({"name": "Mã khác kiểu", "ref": "VIP-99999999"})
        self.assertEqual(
            int(self.Partner.create({"name": "Sau"}).ref[2:]), int(automatic.ref[2:]) + 1
        )

    def test_new_customer_costs_one_query_for_its_code(self):
        """The code is drawn in one query and written with the insert."""
        def queries_to_create(partner_model):
            partner_model.create({"name": "Làm nóng bộ đệm"})
            self.env.flush_all()
            with self._record_queries() as queries:
                partner_model.create({"name": "Khách mới"})
                self.env.flush_all()
            return len(queries)

        without_code = queries_to_create(
            self.Partner.with_context(crm_retail_no_customer_code=True))
        self.assertEqual(queries_to_create(self.Partner), without_code + 1)

    def test_install_gives_codes_to_existing_customers(self):
        """The install hook: a code for customers that have none, the sequence past
        the codes already in the database."""
        old = self.Partner.create({"name": "Khách cũ", "customer_rank": 1})
        child = self.Partner.create({"name": "Liên hệ", "parent_id": old.id})
        sequence = self.env.ref("crm_retail.seq_customer_code")
        imported = self.Partner.create({"name": "Nhập từ KiotViet"})
        self.env.cr.execute(
            "UPDATE res_partner SET ref = NULL WHERE id = %s;"
            " UPDATE res_partner SET ref = %s WHERE id = %s",
            [old.id, sequence.get_next_char(sequence.number_next_actual + 100), imported.id],
        )
        post_init_hook(self.env)
        self.assertRegex(old.ref, r"^KH\d{6}$")
        self.assertFalse(child.ref)
        self.assertGreater(int(self.Partner.create({"name": "Mới"}).ref[2:]),
                           int(imported.ref[2:]))

    def test_codes_for_a_batch_cost_one_sequence_query(self):
        sequence = self.env.ref("crm_retail.seq_customer_code")
        sequence.read(["implementation", "prefix", "suffix", "padding"])
        sequence.get_next_char(0)
        with self.assertQueryCount(1):
            codes = sequence._retail_next_codes(50)
        self.assertEqual(len(set(codes)), 50)


@tagged("post_install", "-at_install")
class TestCustomerFields(RetailCommon):
    def test_birthday_in_the_future_is_refused(self):
        tomorrow = fields.Date.add(fields.Date.context_today(self.customer), days=1)
        with self.assertRaisesRegex(ValidationError, "future"):
            self.customer.retail_birthday = tomorrow
        self.customer.retail_birthday = fields.Date.context_today(self.customer)
        self.customer.retail_birthday = "1990-02-28"
        self.assertEqual(self.customer.retail_birthday_month, "2")

    def test_malformed_phone_is_refused(self):
        for phone in ("hello", "09012abc67", "123", "+84 90 123 4567 8901 234", "090#123#4567"):
            with self.subTest(phone=phone), self.assertRaisesRegex(ValidationError, "not valid"):
                self.Partner.create({"name": "Sai số", "phone": phone})

    def test_phone_is_optional_and_common_formats_accepted(self):
        walk_in = self.Partner.create({"name": "Khách vãng lai"})
        self.assertFalse(walk_in.phone)
        for phone in ("090 123 4567", "+84 90 123 4567", "090-123-4567", "(028) 3822 1234"):
            self.Partner.create({"name": "Đúng số", "phone": phone})

    def test_nothing_half_saved_on_bad_input(self):
        count = self.Partner.search_count([])
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            self.Partner.create([{"name": "Tốt"}, {"name": "Xấu", "phone": "abc"}])
        self.assertEqual(self.Partner.search_count([]), count)


@tagged("post_install", "-at_install")
class TestCustomerScreens(RetailCommon):
    def test_kanban_declares_every_field_it_reads(self):
        """A kanban card reading an undeclared field crashes the whole kanban (the default view on
        a phone): for every role, each record.<field> the opportunities read is in the view."""
        plain_user = new_test_user(self.env, login="retail_plain", groups="base.group_user")
        for user in (self.env.user, self.salesman, self.cashier, plain_user):
            with self.subTest(user=user.login):
                views = self.env["res.partner"].with_user(user).get_views([(False, "kanban")])
                arch = etree.fromstring(views["views"]["kanban"]["arch"])
                declared = {node.get("name") for node in arch.iter("field")}
                read = {
                    name
                    for node in arch.iter(etree.Element)
                    for attr in ("t-if", "t-elif")
                    for name in re.findall(r"record\.(\w+)\.raw_value", node.get(attr, ""))
                }
                self.assertLessEqual(read, declared)
                self.assertEqual("retail_loyalty_points" in declared, user != plain_user)

    def test_new_customer_is_a_person(self):
        for xmlid in ("account.res_partner_action_customer", "contacts.action_contacts"):
            with self.subTest(action=xmlid):
                action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
                context = ast.literal_eval(action["context"])
                with Form(self.Partner.with_context(**context)) as form:
                    self.assertEqual(form.company_type, "person")
                    form.name = "Khách mới"

    def test_phone_keeps_the_national_format_of_the_company_country(self):
        with Form(self.Partner) as form:
            form.name = "Khách mới"
            for typed, kept in (
                ("+84 912 345 678", "0912 345 678"),
                ("0912345678", "0912 345 678"),
                ("+33 1 23 45 67 89", "+33 1 23 45 67 89"),
            ):
                form.phone = typed
                self.assertEqual(form.phone, kept)


@tagged("post_install", "-at_install")
class TestPhoneSearch(RetailCommon):
    FORMATS = ("090 123 4567", "+84 90 123 4567", "090-123-4567", "0901234567", "+84901234567")

    def test_any_format_finds_the_customer_by_name_search(self):
        for term in self.FORMATS:
            with self.subTest(term=term):
                found = self.Partner.name_search(term, limit=10)
                self.assertIn(self.customer.id, [pid for pid, _name in found])

    def test_any_format_finds_the_customer_from_the_search_box(self):
        for term in self.FORMATS:
            with self.subTest(term=term):
                self.assertIn(self.customer, self.Partner.search([("display_name", "ilike", term)]))
                self.assertIn(
                    self.customer, self.Partner.search([("phone_mobile_search", "ilike", term)])
                )

    def test_stored_in_international_format_found_by_local_format(self):
        partner = self.Partner.create({"name": "Trần Thị Bình", "phone": "+84 912 345 678"})
        self.assertIn(partner, self.Partner.search([("display_name", "ilike", "0912345678")]))

    def test_found_without_a_company_country(self):
        """Found whether or not Odoo could sanitize the stored number."""
        self.env.company.country_id = False
        partner = self.Partner.create({"name": "Số cũ", "phone": "095 425 6837"})
        self.assertFalse(partner.phone_sanitized)
        for term in ("0954256837", "095-425-6837", "+84 95 425 6837", "0084954256837"):
            with self.subTest(term=term):
                self.assertIn(partner, self.Partner.search([("display_name", "ilike", term)]))

    def test_other_numbers_do_not_match(self):
        self.assertNotIn(
            self.customer, self.Partner.search([("display_name", "ilike", "0907654321")])
        )

    def test_invoice_customer_field_finds_by_phone(self):
        found = self.env["account.move"].with_context(default_move_type="out_invoice")
        names = found.env["res.partner"].name_search("090.123.4567")
        self.assertIn(self.customer.id, [pid for pid, _name in names])

    def test_customer_field_label_shows_code_and_phone(self):
        self.customer.ref = "KH900001"
        namesake = self.Partner.create(
            {"name": self.customer.name, "ref": "KH900002", "phone": "0912345678"})
        Partner = self.Partner.with_context(retail_show_code_phone=True)
        labels = dict(Partner.name_search("0901234567"))
        self.assertEqual(labels[self.customer.id], "[KH900001] Nguyễn Văn An · 0901234567")
        self.assertNotIn(namesake.id, labels)
        # The dropdown asks for the marked-up label: the phone is shown muted.
        suggestions = Partner.web_name_search("0901234567", {"display_name": {}})
        formatted = {row["id"]: row["__formatted_display_name"] for row in suggestions}
        self.assertEqual(formatted[self.customer.id], "[KH900001] Nguyễn Văn An \t --0901234567--")
        # Elsewhere the name stays as Odoo shows it.
        self.assertEqual(self.customer.display_name, "Nguyễn Văn An")
        self.assertEqual(dict(self.Partner.name_search("0901234567"))[self.customer.id],
                         "Nguyễn Văn An")

    def test_phone_search_uses_the_indexes(self):
        """Both sides of the phone lookup are index scans (checked with sequential
        scans disabled, since a small test table would otherwise be scanned)."""
        queries = []
        execute = self.env.cr.execute

        def recording_execute(query, params=None, log_exceptions=True):
            if isinstance(query, SQL) and "regexp_replace" in query.code:
                queries.append(query)
            return execute(query, params, log_exceptions)

        with patch.object(self.env.cr, "execute", recording_execute):
            self.Partner._retail_phone_domain("090 123 4567")
        self.env.cr.execute("SET LOCAL enable_seqscan = off")
        try:
            self.env.cr.execute(SQL("EXPLAIN %s", queries[0]))
            plan = "\n".join(row[0] for row in self.env.cr.fetchall())
        finally:
            self.env.cr.execute("RESET enable_seqscan")
        self.assertNotIn("Seq Scan", plan)
        self.assertIn("phone_sanitized", plan)
        self.assertIn("regexp_replace", plan)


@tagged("post_install", "-at_install")
class TestDuplicateWarning(RetailCommon):
    def test_same_phone_in_another_format_warns(self):
        with Form(self.env["res.partner"]) as form:
            form.name = "An (trùng)"
            form.phone = "+84 90 123 4567"
            self.assertEqual(form.retail_same_phone_partner_id, self.customer)

    def test_same_email_warns(self):
        self.customer.email = "an@example.com"
        with Form(self.env["res.partner"]) as form:
            form.name = "An 2"
            form.email = "AN@example.com"
            self.assertEqual(form.retail_same_email_partner_id, self.customer)

    def test_same_tax_id_uses_odoo_warning(self):
        self.customer.vat = "0101234567"
        with Form(self.env["res.partner"]) as form:
            form.name = "Công ty trùng MST"
            form.vat = "0101234567"
            self.assertEqual(form.same_vat_partner_id, self.customer)

    def test_no_warning_for_itself_or_other_companies(self):
        self.assertFalse(self.customer.retail_same_phone_partner_id)
        self.customer.company_id = self.env.company
        other_company = self.env["res.company"].create({"name": "Công ty khác"})
        stranger = self.Partner.create({
            "name": "Khác công ty", "phone": "0901234567", "company_id": other_company.id,
        })
        self.assertFalse(stranger.retail_same_phone_partner_id)
        shared = self.Partner.create({"name": "Dùng chung", "phone": "0901234567"})
        self.assertIn(shared.retail_same_phone_partner_id, self.customer + stranger)

    def test_warning_does_not_block_saving(self):
        twin = self.Partner.create({"name": "An (sinh đôi)", "phone": "090 123 4567"})
        self.assertEqual(twin.retail_same_phone_partner_id, self.customer)

    def test_read_for_several_customers_never_gives_themselves(self):
        """As a list or an export reads it: several customers at once, most without email
        or phone; each gets another customer or nothing, never itself."""
        twin = self.Partner.create({"name": "An (sinh đôi)", "phone": "+84 90 123 4567"})
        mai, mai_again = self.Partner.create([
            {"name": "Mai", "email": "mai@example.com"},
            {"name": "Mai (cũ)", "email": "MAI@example.com", "phone": "0912 345 678"},
        ])
        walk_in = self.Partner.create({"name": "Khách vãng lai"})
        contact = self.Partner.create({
            "name": "Người liên hệ", "parent_id": mai.id, "email": "mai@example.com"})
        customers = self.customer + twin + mai + mai_again + walk_in + contact
        customers.invalidate_recordset()
        self.assertEqual(
            [(values["id"], values["retail_same_phone_partner_id"],
              values["retail_same_email_partner_id"])
             for values in customers.read(
                 ["retail_same_phone_partner_id", "retail_same_email_partner_id"], load=None)],
            [
                (self.customer.id, twin.id, False),
                (twin.id, self.customer.id, False),
                (mai.id, False, mai_again.id),
                (mai_again.id, False, mai.id),
                (walk_in.id, False, False),
                (contact.id, False, False),
            ],
        )


@tagged("post_install", "-at_install")
class TestMerge(RetailCommon):
    def test_merge_keeps_retail_data_of_both(self):
        other = self.Partner.create({
            "name": "Nguyễn Văn An (cũ)", "retail_birthday": "1985-05-05", "retail_gender": "male",
        })
        self._sell(self.customer, 100000, "2026-01-10")
        self._sell(other, 50000, "2026-02-20")
        dst_code, src_code = self.customer.ref, other.ref
        wizard = self.env["base.partner.merge.automatic.wizard"].create({
            "partner_ids": [Command.set((self.customer + other).ids)],
            "dst_partner_id": self.customer.id,
        })
        with mute_logger("odoo.addons.base.wizard.base_partner_merge"):
            wizard.action_merge()
        self.assertFalse(other.exists())
        self.assertEqual(self.customer.ref, dst_code)
        self.assertEqual(self.customer.retail_birthday, fields.Date.to_date("1985-05-05"))
        self.assertEqual(self.customer.retail_gender, "male")
        self.assertStats(self.customer, 150000, 2, "2026-02-20")
        self.assertTrue(any(src_code in message.body for message in self.customer.message_ids))

    def test_merge_moves_debt_points_and_segments_at_once(self):
        """The merge moves journal items and points history by SQL: the survivor's debt,
        points and segments follow in the same transaction, not at the nightly run."""
        self.env.company.write({"retail_points_amount": 10000, "retail_points_min_amount": 0})
        other = self.Partner.create({"name": "Nguyễn Văn An (trùng)"})
        self._sell(self.customer, 100000, "2026-01-10")
        self._sell(other, 300000, "2026-02-20")
        segment = self.env["retail.segment"].create({
            "name": "Nợ trên 350.000", "use_debt": True, "debt_min": 350000})
        self.env.cr.flush()
        self.assertNotIn(segment.tag_id, self.customer.category_id)
        wizard = self.env["base.partner.merge.automatic.wizard"].create({
            "partner_ids": [Command.set((self.customer + other).ids)],
            "dst_partner_id": self.customer.id,
        })
        with mute_logger("odoo.addons.base.wizard.base_partner_merge"):
            wizard.action_merge()
        self.env.cr.flush()
        self.customer.invalidate_recordset()
        self.assertEqual(self.customer.retail_debt_amount, 400000)
        self.assertEqual(self.customer.retail_loyalty_points, 40)
        self.assertIn(segment.tag_id, self.customer.category_id)


@tagged("post_install", "-at_install")
class TestAccess(RetailCommon):
    def test_sales_groups_imply_retail_groups(self):
        self.assertTrue(self.salesman.has_group("crm_retail.group_crm_retail_user"))
        self.assertFalse(self.salesman.has_group("crm_retail.group_crm_retail_manager"))
        self.assertTrue(self.sales_manager.has_group("crm_retail.group_crm_retail_manager"))

    def test_salesman_creates_and_reads_customers(self):
        partner = self.Partner.with_user(self.salesman).create({
            "name": "Khách của NV", "phone": "0987654321", "retail_gender": "female",
            "retail_birthday": "2000-01-01",
        })
        self.assertRegex(partner.ref, r"^KH\d{6}$")
        self.assertEqual(partner.retail_purchase_count, 0)
        found = self.Partner.with_user(self.salesman).name_search("0987 654 321")
        self.assertEqual([pid for pid, _name in found], partner.ids)

    def test_other_company_customers_stay_hidden(self):
        other_company = self.env["res.company"].create({"name": "Công ty khác"})
        hidden = self.Partner.create({
            "name": "Bí mật", "phone": "0933333333", "company_id": other_company.id,
        })
        visible = self.Partner.with_user(self.salesman).search(
            [("display_name", "ilike", "0933333333")]
        )
        self.assertNotIn(hidden, visible)
