from unittest.mock import patch

from psycopg2 import errors as pg_errors

from odoo.tests import tagged

from .common import RetailCommon


@tagged("post_install", "-at_install")
class TestCustomerFacts(RetailCommon):
    """A customer another cashier holds is queued, never an error, and refreshed later."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.write({"retail_points_amount": 10000, "retail_points_min_amount": 0})
        cls.Facts = cls.env["retail.customer.facts"]
        cls.Queue = cls.env["retail.customer.facts.queue"]

    def _busy(self):
        """Every customer row held by another transaction (NOWAIT fails)."""
        def refuse(*_args, **_kwargs):
            raise pg_errors.LockNotAvailable()
        return patch.object(type(self.Facts), "_refresh", autospec=True, side_effect=refuse)

    def test_busy_customer_is_queued_then_refreshed(self):
        invoice = self._sell(self.customer, 200000, post=False)
        with self._busy():
            invoice.action_post()
            self.env.cr.flush()
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(self.Queue.search([]).partner_id, self.customer)
        self.customer.invalidate_recordset()
        self.assertEqual(self.customer.retail_purchase_count, 0, "not refreshed yet")
        self.assertEqual(self.customer.retail_loyalty_points, 0, "not refreshed yet")
        # What runs right after the commit, in a transaction of its own.
        with self.enter_registry_test_mode():
            self.assertEqual(self.Facts._drain_in_new_transaction(self.customer.ids), 1)
        self.customer.invalidate_recordset()
        self.assertFalse(self.Queue.search([]))
        self.assertStats(self.customer, 200000, 1, "2026-01-15")
        self.assertEqual(self.customer.retail_loyalty_points, 20)
        self.assertEqual(self.customer.retail_debt_amount, 200000)

    def test_cron_drains_what_a_crash_left(self):
        other = self.Partner.create({"name": "Trần Thị Bình"})
        with self._busy():
            self._sell(self.customer, 100000)
            self._sell(other, 300000)
            self.env.cr.flush()
        self.assertEqual(len(self.Queue.search([]).partner_id), 2)
        # Outside a cron run, progress would commit: the test's transaction must not.
        with self.enter_registry_test_mode(), patch.object(
                type(self.env["ir.cron"]), "_commit_progress", return_value=60.0):
            self.Facts._cron_drain_queue(batch_size=1)
        self.assertFalse(self.Queue.search([]))
        self.assertStats(other, 300000, 1, "2026-01-15")
        self.assertEqual(other.retail_loyalty_points, 30)

    def test_free_customer_is_refreshed_at_once(self):
        self._sell(self.customer, 150000)
        self.env.cr.flush()
        self.assertFalse(self.Queue.search([]))
        self.assertEqual(self.customer.retail_loyalty_points, 15)
        self.assertStats(self.customer, 150000, 1, "2026-01-15")


@tagged("post_install", "-at_install")
class TestLockedBatches(RetailCommon):
    """The crons' batches: customers another transaction holds are skipped, never an
    error; the run stops when the cron's time is up only when it can resume."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Facts = cls.env["retail.customer.facts"]
        cls.other = cls.Partner.create({"name": "Trần Thị Bình"})

    def _customer_busy(self, busy):
        Partner = type(self.env["res.partner"])
        try_lock = Partner.try_lock_for_update

        def lock(records, *args, **kwargs):
            if busy & records:
                raise pg_errors.LockNotAvailable()
            return try_lock(records, *args, **kwargs)
        return patch.object(Partner, "try_lock_for_update", autospec=True, side_effect=lock)

    def test_busy_batch_is_skipped_and_undone(self):
        done = []

        def rename(locked):
            done.append(locked)
            self.Partner.browse(locked).write({"comment": "seen"})
            self.env.flush_all()
            # What a concurrent update makes of the batch's own statements.
            raise pg_errors.SerializationFailure()

        with self._customer_busy(self.customer), self._cron_progress() as progress:
            complete = self.Facts._run_in_locked_batches(
                [(self.customer.ids, done.append), (self.other.ids, rename)])
        self.assertFalse(complete)
        self.assertEqual(done, [self.other.ids], "the busy customer's work never ran")
        self.other.invalidate_recordset()
        self.assertFalse(self.other.comment, "the failed batch was rolled back")
        self.assertEqual(progress.call_args_list[0].kwargs, {"remaining": 2})
        self.assertEqual([call.args for call in progress.call_args_list[1:]], [(0,), (0,)])

    def test_time_up_stops_only_what_can_resume(self):
        batches_done = []
        batches = [(self.customer.ids, batches_done.append), (self.other.ids, batches_done.append)]
        with self._cron_progress() as progress:
            progress.return_value = 0  # no time left after the first batch
            self.assertFalse(self.Facts._run_in_locked_batches(batches))
            self.assertEqual(batches_done, [self.customer.ids])
            self.assertTrue(self.Facts._run_in_locked_batches(batches, resumable=False))
        self.assertEqual(batches_done, [self.customer.ids, self.customer.ids, self.other.ids])


@tagged("post_install", "-at_install")
class TestFactsAfterResponse(RetailCommon):
    """In an HTTP request, the facts other than points are queued with the transaction and
    refreshed once the response is sent."""

    def test_request_refreshes_its_customers_after_its_response(self):
        self.env.company.write({"retail_points_amount": 10000, "retail_points_min_amount": 0})
        Facts = self.env["retail.customer.facts"]
        closing = []
        response = type("Response", (), {"call_on_close": lambda _self, f: closing.append(f)})()
        with patch.object(type(Facts), "_in_http_request", return_value=True):
            invoice = self._sell(self.customer, 200000)
            self.assertEqual(invoice.retail_points, 20, "the invoice's points at once")
            # ir.http, once the response is built; then the transaction commits.
            Facts._defer_to_response(response)
            self.env.cr.flush()
            self.env.cr.postcommit.run()
        self.customer.invalidate_recordset()
        self.assertEqual(self.customer.retail_purchase_count, 0, "not refreshed yet")
        self.assertEqual(self.customer.retail_loyalty_points, 0, "not refreshed yet")
        self.assertEqual(self.env["retail.customer.facts.queue"].search([]).partner_id,
                         self.customer, "queued with the transaction")
        self.assertEqual(len(closing), 1)
        # The response is sent.
        with self.enter_registry_test_mode():
            closing[0]()
        self.customer.invalidate_recordset()
        self.assertFalse(self.env["retail.customer.facts.queue"].search([]))
        self.assertStats(self.customer, 200000, 1, "2026-01-15")
        self.assertEqual(self.customer.retail_debt_amount, 200000)
        self.assertEqual(self.customer.retail_loyalty_points, 20)

    def _post_in_request(self, partner, amount):
        """An invoice posted in an HTTP request whose transaction committed and whose
        server died before the response was sent: what it queued waits for the cron."""
        with patch.object(type(self.env["retail.customer.facts"]), "_in_http_request",
                          return_value=True):
            invoice = self._sell(partner, amount)
            self.env.cr.flush()
        return invoice

    def _run_queue_cron(self):
        # Outside a cron run, progress would commit: the test's transaction must not.
        with self.enter_registry_test_mode(), patch.object(
                type(self.env["ir.cron"]), "_commit_progress", return_value=60.0):
            self.env["retail.customer.facts"]._cron_drain_queue()

    def test_purchase_made_in_a_request_moves_the_funnel_after_its_response(self):
        newcomer = self.Partner.create({"name": "Khách mới ở quầy"})
        Lead = self.env["crm.lead"]
        invoice = self._post_in_request(newcomer, 100000)
        self.assertFalse(Lead.search([("partner_id", "=", newcomer.id)]), "not yet")
        self.assertRecordValues(self.env["retail.customer.facts.queue"].search([]), [
            {"partner_id": newcomer.id, "res_model": "account.move", "res_id": invoice.id},
        ])
        self._run_queue_cron()
        self.assertFalse(self.env["retail.customer.facts.queue"].search([]))
        contract = self.env.ref("crm_retail.stage_contract")
        opportunity = Lead.search([("partner_id", "=", newcomer.id)])
        self.assertEqual(opportunity.stage_id, contract)
        self.assertIn(invoice.name, opportunity.message_ids[0].body)
        newcomer.invalidate_recordset()
        self.assertEqual(newcomer.retail_stage_id, contract)

    def test_funnel_that_fails_after_a_response_leaves_the_facts_refreshed(self):
        newcomer = self.Partner.create({"name": "Khách mới ở quầy"})
        self._post_in_request(newcomer, 100000)
        with patch.object(type(self.Partner), "_retail_funnel_from_purchases",
                          side_effect=RuntimeError("broken")), \
                self.assertLogs("odoo.addons.crm_retail.models.retail_customer_facts",
                                "ERROR"):
            self._run_queue_cron()
        self.assertFalse(self.env["retail.customer.facts.queue"].search([]))
        self.assertStats(newcomer, 100000, 1, "2026-01-15")

    def test_points_a_person_adjusts_show_at_once_in_a_request(self):
        with patch.object(type(self.env["retail.customer.facts"]), "_in_http_request",
                          return_value=True):
            self.customer.retail_adjust_points(30, "Tặng khách")
        self.assertEqual(self.customer.retail_loyalty_points, 30)

    def test_request_that_changed_no_customer_adds_nothing_to_its_response(self):
        closing = []
        response = type("Response", (), {"call_on_close": lambda _self, f: closing.append(f)})()
        with patch.object(type(self.env["retail.customer.facts"]), "_in_http_request",
                          return_value=True):
            self.Partner.create({"name": "Khách chưa mua"})
            self.env["retail.customer.facts"]._defer_to_response(response)
        self.assertEqual(closing, [])
