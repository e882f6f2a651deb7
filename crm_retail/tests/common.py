from contextlib import contextmanager
from unittest.mock import patch

from odoo import Command, fields
from odoo.tests import new_test_user
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
    def _sell(cls, partner, amount, date="2026-01-15", move_type="out_invoice", post=True):
        move = cls.env["account.move"].create({
            "move_type": move_type,
            "partner_id": partner.id,
            "invoice_date": date,
            "invoice_line_ids": [Command.create({
                "name": "Hàng hóa",
                "quantity": 1,
                "price_unit": amount,
                "tax_ids": [Command.clear()],
            })],
        })
        if post:
            move.action_post()
        return move

    def assertStats(self, partner, total, count, last_date):
        # Statistics are refreshed when the transaction is flushed, as at every request's end.
        self.env.cr.flush()
        self.assertRecordValues(partner, [{
            "retail_total_sales": total,
            "retail_purchase_count": count,
            "retail_last_purchase_date": last_date and fields.Date.to_date(last_date),
        }])

    @contextmanager
    def _record_queries(self):
        """The SQL this block runs, as text, in order."""
        queries = []
        execute = self.env.cr.execute

        def recording_execute(query, params=None, log_exceptions=True):
            queries.append(query.code if isinstance(query, SQL) else str(query))
            return execute(query, params, log_exceptions)

        with patch.object(self.env.cr, "execute", recording_execute):
            yield queries
