"""Shared test helpers.

Invoices: ``RetailCommon._sell`` builds every invoice the tests need through Odoo's own
``AccountTestInvoicingCommon._create_invoice_one_line`` (one untaxed line). Tours and the
click test are HttpCase classes run in the main company as its users, so they do not take
AccountTestInvoicingHttpCommon (which moves the test into a company and user of its own):
``RetailHttpCommon._sell`` builds the same invoice directly.

Counting queries, one idiom:

- a fixed number of queries: Odoo's ``self.assertQueryCount(n)``;
- anything else (10 customers cost what 2 cost, the queries of one kind among those a
  block runs): ``with self._record_queries() as queries:`` then compare ``len(queries)``
  or filter the recorded SQL text. It records every query the test cursor executes, so
  ``len(queries)`` is the block's ``cr.sql_log_count`` increase.
"""
from contextlib import contextmanager
from unittest.mock import patch

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user
from odoo.tools import SQL

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

# A shop's points settings: 1 point per 10,000, a point worth 1,000, no minimum, no expiry.
POINTS_SETTINGS = {
    "retail_points_amount": 10000,
    "retail_point_value": 1000,
    "retail_points_base": "total",
    "retail_points_min_amount": 0,
    "retail_points_expiry_months": 0,
    "retail_tier_basis": "points",
}
LINE_NAME = "Hàng hóa"


class RetailCommon(AccountTestInvoicingCommon):
    """A Vietnamese shop's customers and a helper to sell to them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vietnam = cls.env.ref("base.vn")
        cls.env.company.country_id = cls.vietnam
        cls.env.user.group_ids += cls.env.ref("sales_team.group_sale_manager")
        cls.Partner = cls.env["res.partner"].with_context(tracking_disable=True)
        cls.customer = cls.Partner.create({"name": "Nguyễn Văn An", "phone": "0901234567"})
        cls.salesman = new_test_user(
            cls.env, login="retail_salesman", groups="sales_team.group_sale_salesman"
        )
        cls.cashier = new_test_user(
            cls.env, login="retail_cashier",
            groups="sales_team.group_sale_salesman,account.group_account_invoice",
        )
        cls.sales_manager = new_test_user(
            cls.env, login="retail_manager", groups="sales_team.group_sale_manager"
        )

    @classmethod
    def _sell(cls, partner, amount, date="2026-01-15", move_type="out_invoice", post=True,
              due=None, company=None, currency=None):
        """An invoice (or ``move_type``) of one untaxed line of ``amount``, dated ``date``,
        due on ``due`` (by default Odoo's: from the payment terms, today without any), in
        ``company`` and ``currency`` (by default the current company's)."""
        return cls._create_invoice_one_line(
            name=LINE_NAME, price_unit=amount, tax_ids=cls.env["account.tax"],
            move_type=move_type, partner_id=partner, invoice_date=date, invoice_date_due=due,
            company_id=company, currency_id=currency, post=post,
        )

    def assertStats(self, partner, total, count, last_date):
        # Statistics are refreshed when the transaction is flushed, as at every request's end.
        self.env.cr.flush()
        self.assertRecordValues(partner, [{
            "retail_total_sales": total,
            "retail_purchase_count": count,
            "retail_last_purchase_date": last_date and fields.Date.to_date(last_date),
        }])

    @contextmanager
    def _cron_progress(self):
        """The cron's progress API, which commits, recorded instead."""
        with patch.object(
            type(self.env["ir.cron"]), "_commit_progress", return_value=float("inf")
        ) as progress:
            yield progress

    @contextmanager
    def _record_queries(self):
        """The SQL this block runs on the test cursor, as text, in order (their number
        is the cursor's ``sql_log_count`` increase)."""
        queries = []
        execute = self.env.cr.execute

        def recording_execute(query, params=None, log_exceptions=True):
            queries.append(query.code if isinstance(query, SQL) else str(query))
            return execute(query, params, log_exceptions)

        with patch.object(self.env.cr, "execute", recording_execute):
            yield queries


class RetailHttpCommon(HttpCase):
    """Tours and click tests in the main company, as its users."""

    @classmethod
    def _sell(cls, partner, amount, date, due=None):
        """``RetailCommon._sell``'s posted invoice, built with the values Odoo's
        ``_create_invoice_one_line`` gives it (this class has not that helper)."""
        invoice = cls.env["account.move"].create({
            "move_type": "out_invoice",
            "partner_id": partner.id,
            "invoice_date": date,
            "date": date,
            # None is left out, as _create_invoice does: Odoo's due date then
            **({"invoice_date_due": due} if due else {}),
            "invoice_line_ids": [Command.create({
                "name": LINE_NAME, "quantity": 1, "price_unit": amount,
                "tax_ids": [Command.set([])],
            })],
        })
        invoice.action_post()
        cls.env.flush_all()
        return invoice
