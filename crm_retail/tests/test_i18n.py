import io

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools import file_path
from odoo.tools.translate import trans_export


@tagged("post_install", "-at_install")
class TestVietnamese(TransactionCase):
    def test_pot_and_vi_po_cover_every_term(self):
        """Every user-visible string of the addon is in the .pot and translated in vi.po."""
        buffer = io.BytesIO()
        trans_export(None, ["crm_retail"], buffer, "po", self.env)
        exported = {(e.msgctxt, e.msgid) for e in polib.pofile(buffer.getvalue().decode())}
        pot = {(e.msgctxt, e.msgid) for e in polib.pofile(
            file_path("crm_retail/i18n/crm_retail.pot"))}
        vi_po = polib.pofile(file_path("crm_retail/i18n/vi.po"))
        translated = {(e.msgctxt, e.msgid) for e in vi_po if e.msgstr and not e.obsolete}
        self.assertFalse(exported - pot, "terms missing from crm_retail.pot: run make i18n")
        self.assertFalse(exported - translated, "terms untranslated in vi.po")
        self.assertFalse(vi_po.fuzzy_entries(), "fuzzy entries in vi.po")

    def test_labels_and_errors_in_vietnamese(self):
        self.env["res.lang"]._activate_lang("vi_VN")
        self.env["ir.module.module"]._load_module_terms(["base", "crm_retail"], ["vi_VN"])
        Partner = self.env["res.partner"].with_context(lang="vi_VN")
        self.assertEqual(Partner.fields_get(["retail_gender"])["retail_gender"]["string"],
                         "Giới tính")
        arch = Partner.get_view(self.env.ref("base.view_partner_form").id)["arch"]
        self.assertIn("Mã khách hàng", arch)
        self.assertIn("Lịch sử mua hàng", arch)
        holder = Partner.create({"name": "Chủ mã", "ref": "VI-1"})
        with self.assertRaisesRegex(Exception, "Mã khách hàng VI-1 đã được dùng cho Chủ mã"):
            Partner.create({"name": "Người sau", "ref": "VI-1"})
        self.assertTrue(holder.exists())
