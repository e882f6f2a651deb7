import logging
import re
from collections import Counter
from contextlib import ExitStack
from unittest.mock import patch

from odoo import Command
from odoo.tests import tagged

from .common import LINE_NAME, POINTS_SETTINGS, RetailCommon

_logger = logging.getLogger(__name__)

# What crm_retail adds to posting, confirming, paying and commit: the points (history,
# balances, tiers), the opportunities of the funnel, the credit limit, the customers whose
# debt changed, and the facts refreshed at commit (statistics, debt, funnel stage,
# segments). Skipping them leaves Odoo's own work. (model, method, what it returns then)
ADDON_HOOKS = [
    ("account.move", "_retail_sync_points", None),
    ("sale.order", "_retail_sync_points", None),
    ("res.partner", "_retail_funnel_from_purchases", None),
    ("crm.lead", "_retail_advance", None),
    ("res.partner", "_retail_enforce_credit_limit", None),
    ("account.move.line", "_retail_receivable_partner_ids", []),
    ("account.partial.reconcile", "_retail_mark_customers", None),
    ("retail.customer.facts", "_mark", None),
]


def _post(moves):
    moves.action_post()


def _confirm(orders):
    orders.action_confirm()


def _pay(invoices):
    """One payment per invoice, registered for all of them at once (the wizard of the
    invoice list), each reconciled with its invoice."""
    invoices.env["account.payment.register"].with_context(
        active_model="account.move", active_ids=invoices.ids,
    ).create({"group_payment": False})._create_payments()


@tagged("post_install", "-at_install")
class TestPostingQueries(RetailCommon):
    """Posting a batch of invoices costs crm_retail the same queries whatever the batch
    holds. Measured: ``action_post`` plus what commit runs (``cr.flush()``: the ORM's
    pending writes, then the precommit hooks, where the customer facts are refreshed and
    the chatter's tracking is written), in a request's context (the test classes switch
    the chatter off in theirs), points and tiers on, opportunities created on first purchase.

    Odoo's own posting grows per invoice (a number from the journal's sequence, a
    tracking message on each invoice: about a dozen queries each, measured here at
    ~13), so the totals cannot be equal for 10 and 100 invoices. What is asserted is
    crm_retail's part: the same posting is measured with the addon's hooks skipped
    (``ADDON_HOOKS``: Odoo alone, as near as one database allows), and per statement,
    what 100 invoices run beyond what 10 run must be no more than Odoo alone adds. Less
    is allowed: the addon's batch reads (the customers, their users) leave in the cache
    what Odoo alone reads again for each invoice. Each trial starts from the same
    database (a savepoint rolled back), the caches cleared.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.write({**POINTS_SETTINGS, "retail_create_lead_on_purchase": True})
        # A first purchase (10+ points) reaches the first tier, a repeat one the second.
        cls.env["retail.tier"].create([
            {"name": "Hạng Bạc", "threshold": 5, "company_id": cls.env.company.id},
            {"name": "Hạng Vàng", "threshold": 20, "company_id": cls.env.company.id},
        ])

    def _drafts(self, partners, count, date="2026-02-10"):
        moves = self.env["account.move"].create([{
            "move_type": "out_invoice",
            "partner_id": partners[i % len(partners)].id,
            "invoice_date": date,
            "date": date,
            "invoice_line_ids": [Command.create({
                "name": LINE_NAME, "quantity": 1, "price_unit": 100000 + 1000 * i,
                "tax_ids": [Command.clear()],
            })],
        } for i in range(count)])
        self.env.cr.flush()
        return moves

    def _customers(self, count):
        return self.Partner.create([{"name": f"Khách {i}"} for i in range(count)])

    def _first_purchases(self, count, date="2026-02-10"):
        return self._drafts(self._customers(count), count, date=date)

    def _repeat_purchases(self, count, date="2026-02-10"):
        partners = self._customers(10)
        self._drafts(partners, 10, date="2026-01-10").action_post()
        self.env.cr.flush()
        return self._drafts(partners, count, date=date)

    def _action_queries(self, action, records, vanilla=False):
        """The queries of ``action(records)`` and committing (with ``vanilla``, the
        addon's hooks skipped)."""
        self.env.invalidate_all()
        records = records.with_env(records.env(context={}))
        # A request has read its user before it posts: the step that reads it first
        # depends on the batch, and would count it or not.
        records.env.user.partner_id.mapped("display_name")
        records.env.user.mapped("display_name")
        with ExitStack() as stack:
            if vanilla:
                for model, method, returned in ADDON_HOOKS:
                    stack.enter_context(patch.object(
                        type(self.env[model]), method,
                        lambda *args, returned=returned, **kwargs: returned))
            queries = stack.enter_context(self._record_queries())
            action(records)
            self.env.cr.flush()
        return queries

    def _post_queries(self, moves, vanilla=False):
        queries = self._action_queries(lambda moves: moves.action_post(), moves, vanilla)
        self.assertEqual(set(moves.mapped("state")), {"posted"})
        return queries

    def _measure(self, scenario, count, action, vanilla=False):
        """The queries of ``action`` on ``count`` records of ``scenario``, on the database
        as it was before: whatever a trial leaves (the journal's last number, the lead
        scoring's tables) would make the next one read other things."""
        savepoint = self.env.cr.savepoint()
        try:
            return self._action_queries(action, scenario(count), vanilla=vanilla)
        finally:
            savepoint.close(rollback=True)
            self.env.invalidate_all()

    def _growth(self, scenario, action, vanilla=False):
        """Per statement, how many more times 100 records run it than 10 (with
        ``vanilla``, the addon's hooks skipped), and the two totals."""
        small = self._measure(scenario, 10, action, vanilla=vanilla)
        large = self._measure(scenario, 100, action, vanilla=vanilla)
        growth = Counter(map(_statement, large))
        growth.subtract(Counter(map(_statement, small)))
        return growth, len(small), len(large)

    def _assert_constant(self, scenario, action=_post):
        # Warm the caches (xmlids, ormcaches) both ways first, and leave what a first
        # run leaves (numbers, lead scoring). Dated before the batches: Odoo numbers
        # an invoice from the journal's latest one, any of those of the same date.
        self._action_queries(action, scenario(3, date="2026-02-01"))
        self._action_queries(action, scenario(3, date="2026-02-01"), vanilla=True)
        growth, small, large = self._growth(scenario, action)
        vanilla_growth, vanilla_small, vanilla_large = self._growth(scenario, action,
                                                                    vanilla=True)
        _logger.info("%s: 10 records %s queries (Odoo alone %s), 100 records %s (%s)",
                     scenario.__name__, small, vanilla_small, large, vanilla_large)
        # What crm_retail adds per invoice: statements 100 invoices run more often than
        # 10 do, beyond what Odoo alone adds for them.
        growth.subtract(vanilla_growth)
        self.assertEqual({query: count for query, count in growth.items() if count > 0}, {},
                         "crm_retail's queries grow with the batch")

    def test_first_purchases_constant_queries(self):
        """100 first purchases (100 new opportunities moved, 100 customers reaching a tier) cost
        crm_retail what 10 cost."""
        self._assert_constant(self._first_purchases)

    def test_repeat_purchases_constant_queries(self):
        """100 repeat purchases of 10 customers (opportunities moved to Repeat, tiers moved) cost
        crm_retail what 10 purchases of them cost."""
        self._assert_constant(self._repeat_purchases)

    def _quotations(self, count, date="2026-02-10"):
        """Quotations of ``count`` new customers, each linked to an opportunity: confirming
        moves it forward."""
        customers = self._customers(count)
        opportunities = self.env["crm.lead"].create([{
            "name": f"Cơ hội {i}", "type": "opportunity", "partner_id": customer.id,
        } for i, customer in enumerate(customers)])
        orders = self.env["sale.order"].create([{
            "partner_id": customer.id,
            "opportunity_id": opportunity.id,
            "date_order": date,
            "order_line": [Command.create({
                "product_id": self.product_a.id, "product_uom_qty": 1,
                "price_unit": 100000 + 1000 * i, "tax_ids": [Command.clear()],
            })],
        } for i, (customer, opportunity) in enumerate(zip(customers, opportunities,
                                                           strict=True))])
        self.env.cr.flush()
        return orders

    def _open_invoices(self, count, date="2026-02-10"):
        """Posted invoices of ``count`` new customers, to be paid."""
        invoices = self._first_purchases(count, date=date)
        invoices.action_post()
        self.env.cr.flush()
        return invoices

    def test_confirming_orders_constant_queries(self):
        """Confirming 100 quotations (credit limits, 100 opportunities moved) costs
        crm_retail what confirming 10 costs."""
        self._assert_constant(self._quotations, _confirm)

    def test_paying_invoices_constant_queries(self):
        """Registering and reconciling 100 payments (100 customers' debt refreshed) costs
        crm_retail what 10 cost."""
        self._assert_constant(self._open_invoices, _pay)

    def test_rank_raise_after_commit_constant_queries(self):
        """Odoo raises the customers' ranks after a posting commits, one customer at a time
        and without prefetching fields: the tracked fields of all of them are read in one
        query, for 20 customers as for 5."""

        def raise_ranks(count):
            partners = self._customers(count)
            self.env.cr.flush()
            self.env.invalidate_all()
            # As account's increase_partner_rank does after the commit: with tracking (the
            # tests' environment disables it).
            partners = self.env(context={}, su=True)["res.partner"].browse(
                partners.ids).with_context(prefetch_fields=False)
            with self._record_queries() as queries:
                for partner in partners:
                    partner.customer_rank += 1
                self.env.cr.flush()
            self.assertEqual(partners.mapped("customer_rank"), [1] * count)
            return len(queries)

        raise_ranks(2)  # warm caches
        self.assertEqual(raise_ranks(5), raise_ranks(20))

    def test_engine_figures_write_no_chatter(self):
        """Posting first purchases creates their opportunities at Contract with one batch of
        notes (one note each, no tracking message of their own), and writes no tracking
        message on the customer for its points or tier (the points history is their
        record). The engine's later moves carry the stage's tracking value
        (TestFunnel.test_funnel_report_counts_the_engines_moves)."""
        self.env.cr.execute("SELECT COALESCE(MAX(id), 0) FROM mail_message")
        last_message = self.env.cr.fetchone()[0]
        moves = self._first_purchases(3)
        self._post_queries(moves)
        partners = moves.partner_id
        self.assertTrue(all(partners.mapped("retail_loyalty_tier_id")))
        messages = self.env["mail.message"].search([("id", ">", last_message)])
        self.assertFalse(messages.filtered(lambda m: m.model == "res.partner"))
        opportunities = self.env["crm.lead"].search([("partner_id", "in", partners.ids)])
        self.assertEqual(len(opportunities), 3)
        self.assertEqual(set(opportunities.mapped("retail_funnel_step")), {"4"})
        opportunity_messages = messages.filtered(lambda m: m.model == "crm.lead")
        self.assertEqual(sorted(opportunity_messages.mapped("res_id")), sorted(opportunities.ids))
        self.assertFalse(opportunity_messages.tracking_value_ids)
        self.assertEqual(set(opportunity_messages.subtype_id.mapped("internal")), {True})


def _statement(query):
    """A statement's text without what varies with the batch (savepoint names, the
    number of values, the ids Odoo writes into some statements: the trials' ids differ)."""
    query = re.sub(r"\s+", " ", query)
    query = re.sub(r"SAVEPOINT \S+", "SAVEPOINT", query)
    query = re.sub(r"\b\d+\b", "0", query)
    return re.sub(r"(%s, )+%s", "%s...", query)[:300]
