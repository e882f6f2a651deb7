import shutil
import subprocess
import tempfile
import unicodedata
import unittest
from pathlib import Path

from PIL import Image

from odoo.service import server
from odoo.tests import tagged
from odoo.tests.common import HOST

from odoo.addons.base.models import ir_actions_report
from odoo.addons.base.models.ir_actions_report import _wkhtml

from .common import RetailCommon

TAGLINE = "Uy tín tạo niềm tin"
WKHTMLTOPDF_TIMEOUT = 120  # seconds; Odoo waits forever


@tagged("post_install", "-at_install")
class TestReportPdf(RetailCommon):
    """Real PDFs through wkhtmltopdf: the company header and footer are printed only by a
    wkhtmltopdf built with patched Qt (scripts/setup.sh installs one), so check they are
    there, in the text and on the page image."""

    @classmethod
    def setUpClass(cls):
        wkhtml = _wkhtml()
        if not wkhtml.is_patched_qt:
            raise unittest.SkipTest(
                f"wkhtmltopdf {wkhtml.version} at {wkhtml.bin} ({wkhtml.state}) is not built "
                "with patched Qt, so PDFs have no header/footer to check (setup.sh's fallback)")
        if not (shutil.which("pdftotext") and shutil.which("pdftoppm")):
            raise unittest.SkipTest("pdftotext/pdftoppm (poppler-utils) not installed")
        super().setUpClass()
        company = cls.env.company
        company.write({
            "name": "Cửa hàng Bình An",
            "street": "12 Hàng Bạc",
            "city": "Hà Nội",
            "phone": "+84 24 3936 1234",
            "email": "lienhe@binhan.example.com",
            "website": "https://binhan.example.com",
            "report_header": TAGLINE,
            "external_report_layout_id": cls.env.ref("web.external_layout_standard").id,
        })
        # What the document layout wizard fills in: name and address above, contacts below.
        layout = cls.env["base.document.layout"].with_company(company)
        company.company_details = layout._default_company_details()
        company.report_footer = layout._default_report_footer()
        cls.invoice = cls._sell(cls.customer, 1500000, date="2026-03-15")
        # wkhtmltopdf loads the report's CSS (without it, no header) from this test server,
        # not from web.base.url, where another server or none may listen.
        cls.env["ir.config_parameter"].set_param(
            "report.url", f"http://{HOST}:{server.server.httpd.server_port}")

    def setUp(self):
        super().setUp()

        def run_wkhtmltopdf(args):
            # Odoo's call, with a timeout: a stuck wkhtmltopdf fails the test, not hangs it.
            return subprocess.run(
                [_wkhtml().bin, *args], capture_output=True, encoding="utf-8", check=False,
                timeout=WKHTMLTOPDF_TIMEOUT,
            )

        self.patch(ir_actions_report, "_run_wkhtmltopdf", run_wkhtmltopdf)
        self.tmp = Path(self.enterContext(tempfile.TemporaryDirectory(prefix="crm_retail_pdf_")))

    def _render(self, report_ref, records, **context):
        # Tests render HTML unless forced (ir.actions.report._pre_render_qweb_pdf), and
        # wkhtmltopdf's requests are served only with allow_pdf_render's cookie.
        with self.allow_pdf_render():
            pdf, report_type = self.env["ir.actions.report"].with_context(
                force_report_rendering=True, **context,
            )._render_qweb_pdf(report_ref, records.ids)
        self.assertEqual(report_type, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        path = self.tmp / f"{report_ref.replace('.', '_')}.pdf"
        path.write_bytes(pdf)
        return path

    def _page_text(self, pdf_path, page=1):
        text = subprocess.run(
            ["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf_path), "-"],
            check=True, capture_output=True, text=True,
        ).stdout
        return unicodedata.normalize("NFC", text)

    def _page_png(self, pdf_path, page=1):
        prefix = pdf_path.with_suffix("")
        subprocess.run(
            ["pdftoppm", "-png", "-r", "60", "-f", str(page), "-l", str(page),
             "-singlefile", str(pdf_path), str(prefix)],
            check=True, capture_output=True,
        )
        png = prefix.with_suffix(".png")
        self.assertTrue(png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"))
        return png

    def assertHeaderFooter(self, pdf_path, body_text):
        """Page 1 reads: header (tagline, company name), the body (body_text), then the
        footer (the company's contacts and the page number). Any language."""
        company = self.env.company
        text = self._page_text(pdf_path)
        for expected in (TAGLINE, company.name, body_text,
                         company.phone, company.email, company.website):
            self.assertIn(expected, text)
        # "Page 1 / 1", in the user's language: wkhtmltopdf fills the numbers in the footer
        self.assertRegex(text, r"(?<![\d/])1 ?/ ?1(?![\d/])")
        header = text.index(TAGLINE)
        body = text.index(body_text)
        footer = text.index(company.email)
        self.assertLess(header, body, "the header is not above the document")
        self.assertLess(body, footer, "the footer is not below the document")

        # The image has ink in its header and footer bands, the page's top and bottom tenths.
        with Image.open(self._page_png(pdf_path)) as image:
            gray = image.convert("L")
            width, height = gray.size
            self.assertGreater(height, width)  # portrait page
            for band in ((0, 0, width, height // 10), (0, height - height // 10, width, height)):
                ink = gray.crop(band).point(lambda value: 255 if value < 200 else 0)
                self.assertIsNotNone(ink.getbbox(), f"blank band {band} on page 1")

    def test_debt_statement_pdf_header_footer(self):
        pdf = self._render(
            "crm_retail.action_report_debt_statement", self.customer,
            retail_statement_date_from="2026-03-01", retail_statement_date_to="2026-03-31",
        )
        self.assertHeaderFooter(pdf, self.customer.name)

    def test_invoice_pdf_header_footer(self):
        pdf = self._render("account.account_invoices", self.invoice)
        self.assertHeaderFooter(pdf, self.invoice.name)
