import logging
from collections.abc import Callable
from typing import NamedTuple

from psycopg2 import errors as pg_errors

from odoo import api, fields, models
from odoo.http import request
from odoo.sql_db import Cursor
from odoo.tools import SQL, mute_logger

_logger = logging.getLogger(__name__)

# Customers whose facts this transaction changed, refreshed once when it is flushed.
MARKED = "crm_retail.facts_partners"
# In an HTTP request, the documents that became purchases: {model name: ids}, published
# (:meth:`_on_purchases`) with their customers' refresh after the response.
MARKED_PURCHASES = "crm_retail.facts_purchases"
# Customers queued by this transaction, refreshed right after it commits.
QUEUED = "crm_retail.facts_queued"
# Customers queued by an HTTP request's transaction, refreshed once its response is sent.
AFTER_RESPONSE = "crm_retail.facts_after_response"
# What documents, payments and opportunities change, refreshed when the transaction is flushed.
LEDGER_FACTS = frozenset({"stats", "stage", "debt", "segments"})
# Errors of a row that another transaction holds or has changed since our snapshot.
BUSY_ERRORS = (pg_errors.LockNotAvailable, pg_errors.SerializationFailure,
               pg_errors.DeadlockDetected)


class LedgerFactUpdate(NamedTuple):
    """How one ledger fact is written on the customers' rows by the refresh, which writes
    all of them in one UPDATE (:meth:`RetailCustomerFacts._write_ledger_facts`): a row
    rewritten once per refresh, not once per fact."""

    figures: SQL  # SELECT partner_id and the figure columns: one row per customer
    columns: dict  # res_partner column -> its figure column (NULL without figures)
    returning: tuple = ()  # figure columns returned for the customers whose fact changed
    # Called with {partner id: returned figures} of the customers whose fact changed.
    on_written: Callable | None = None


class RetailCustomerFacts(models.AbstractModel):
    """The customer facts derived from the ledgers — points balance and tier, purchase
    statistics, funnel stage, debt, segments — kept up to date without ever failing the
    transaction that changed them.

    The facts live on the customer's row, which every posting for that customer would
    rewrite: two cashiers posting for one customer would collide (a serialization
    failure under REPEATABLE READ). So a refresh first tries the customers' rows
    without waiting (NOWAIT in a savepoint, as Odoo's ``_increase_rank`` does). The
    customers it cannot take now are queued in the same transaction and refreshed
    right after it commits, in a READ COMMITTED transaction that waits for the rows
    instead of failing; the cron catches whatever a crash left in the queue.

    In an HTTP request (a cashier posting from the browser or over the API), the facts
    of the customers its documents changed, points balance included (each document's
    own points are set at once), are queued with its transaction and refreshed right
    after its response is sent (:meth:`_defer_to_response`), so that the cashier does not
    wait for them; a client reading them back at once may see them a few milliseconds
    behind. So are the purchases its documents made (:meth:`_publish_purchases`): the
    queue carries each document with its customer. Points a person adjusts or spends are
    refreshed in the request. The test runner's requests share the test's transaction and
    keep refreshing everything in it.

    Another addon adds a ledger fact by overriding :meth:`_ledger_fact_updates`, a fact
    derived from them by overriding :meth:`_on_facts_changed`, what follows a purchase by
    overriding :meth:`_on_purchases` (calling super); a bridge whose documents make purchases (a
    point of sale's orders) calls :meth:`_publish_purchases` with them."""

    _name = "retail.customer.facts"
    _description = "Customer Facts"

    @api.model
    def _mark(self, partner_ids):
        """Refresh these customers' facts when the transaction is flushed: documents and
        payments change in many steps, the refresh runs once."""
        partner_ids = {pid for pid in partner_ids if pid}
        if not partner_ids:
            return
        data = self.env.cr.precommit.data
        pending = data.get(MARKED)
        if pending is None:
            pending = data[MARKED] = set()
            self.env.cr.precommit.add(self._flush_marked)
        pending.update(partner_ids)

    @api.model
    def _flush_marked(self):
        partner_ids = self.env.cr.precommit.data.pop(MARKED, set())
        purchases = self.env.cr.precommit.data.pop(MARKED_PURCHASES, {})
        if self._in_http_request() and (partner_ids or purchases):
            # The request has read these customers: their commercial partners are cached.
            commercial_ids = self.env["res.partner"].sudo().browse(
                partner_ids).commercial_partner_id.ids
            self.sudo()._queue(commercial_ids, [
                self.env[model].browse(ids) for model, ids in purchases.items()])
        elif partner_ids:
            # Points are refreshed by the points history itself as it is written.
            self.sudo()._refresh_or_queue(partner_ids, facts=LEDGER_FACTS)

    @api.model
    def _publish_purchases(self, documents):
        """These documents (posted invoices, confirmed orders) have just become purchases:
        publish them to what follows purchases (:meth:`_on_purchases`), at once, or in an
        HTTP request with its customers' refresh after the response."""
        if not documents:
            return
        if not self._in_http_request():
            self._on_purchases(documents)
            return
        data = self.env.cr.precommit.data
        if data.get(MARKED) is None and data.get(MARKED_PURCHASES) is None:
            self.env.cr.precommit.add(self._flush_marked)
        data.setdefault(MARKED_PURCHASES, {}).setdefault(documents._name, set()).update(
            documents.ids)
        # The customers' facts are refreshed along, under the same locks.
        data.setdefault(MARKED, set()).update(documents.partner_id.ids)

    @api.model
    def _on_purchases(self, documents):
        """Event: these documents of one model have just become purchases (their customers'
        rows held, in an HTTP request's refresh after its response). The funnel subscribes
        by overriding this method in its own file and calling super."""

    @api.model
    def _in_http_request(self):
        """Whether this transaction is an HTTP request's, which refreshes the ledger facts
        after its response (the test runner's requests excepted: see the class)."""
        # A test cursor is no Cursor.
        return bool(request) and request.db and request.env is not None \
            and request.env.cr is self.env.cr and isinstance(self.env.cr, Cursor)

    @api.model
    def _defer_to_response(self, response):
        """Called by ``ir.http`` with the request's response, before its transaction
        commits: the customers it queues are refreshed once the response is sent."""
        cr = self.env.cr
        if not self._in_http_request() or not (
                cr.precommit.data.get(MARKED) or cr.precommit.data.get(MARKED_PURCHASES)
                or cr.postcommit.data.get(QUEUED)):
            return
        # Filled when the transaction commits (:meth:`_drain_after_commit`); a retried
        # request starts again from an empty one.
        pending = cr.postcommit.data[AFTER_RESPONSE] = set()
        response.call_on_close(lambda: self._drain_safely(pending))

    @api.model
    def _commercial_ids(self, partner_ids):
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env.cr.execute(SQL(
            "SELECT DISTINCT commercial_partner_id FROM res_partner WHERE id = ANY(%s)",
            list(partner_ids)))
        return sorted(row[0] for row in self.env.cr.fetchall() if row[0])

    @api.model
    def _refresh_or_queue(self, partner_ids, facts=None):
        """Refresh ``facts`` (None: all) of these customers now if their rows are free,
        else queue them. Returns True when refreshed now."""
        # What the transaction marked for its flush so far is refreshed along, under the
        # same locks, rather than by the flush the savepoint below would run first; in an
        # HTTP request, that flush queues it for after the response instead.
        marked = None if self._in_http_request() else self.env.cr.precommit.data.pop(MARKED, None)
        if marked:
            partner_ids = set(partner_ids) | marked
            facts = None if facts is None else set(facts) | LEDGER_FACTS
        partner_ids = self._commercial_ids(partner_ids)
        if not partner_ids:
            return True
        try:
            with self.env.cr.savepoint(), mute_logger("odoo.sql_db"):
                self.env.cr.execute(SQL(
                    """SELECT id FROM res_partner WHERE id = ANY(%s)
                       ORDER BY id FOR NO KEY UPDATE NOWAIT""", partner_ids))
                self._refresh(partner_ids, facts)
            return True
        # psycopg2's error classes are C types pylint cannot see into.
        except BUSY_ERRORS:  # pylint: disable=catching-non-exception
            self._queue(partner_ids)
            return False

    @api.model
    def _refresh(self, partner_ids, facts=None):
        """Recompute the ledger facts of these commercial partners (points, statistics,
        debt), set-based, in one statement, then publish the change to what derives from
        them (:meth:`_on_facts_changed`); the caller holds their rows."""
        self._write_ledger_facts(partner_ids, self._ledger_fact_updates(partner_ids, facts))
        self._on_facts_changed(partner_ids, facts)

    @api.model
    def _ledger_fact_updates(self, partner_ids, facts):
        """{fact: :class:`LedgerFactUpdate`} of the ledger ``facts`` (None: all) of these
        commercial partners. Extension point: a ledger of another addon adds its fact
        (calling super)."""
        Partner = self.env["res.partner"].sudo()
        updates = {}
        if facts is None or "points" in facts:
            updates["points"] = Partner._retail_points_update(partner_ids)
        if facts is None or "stats" in facts:
            updates["stats"] = Partner._retail_stats_update(partner_ids)
        if facts is None or "debt" in facts:
            updates["debt"] = Partner._retail_debt_update(partner_ids)
        return updates

    @api.model
    def _write_ledger_facts(self, partner_ids, updates):
        """Write the figures of ``updates`` ({fact: :class:`LedgerFactUpdate`}) on these
        commercial partners (ids, or an SQL query selecting them, which may read the
        figures of a fact as ``fact_<fact>``) in one UPDATE, only where a figure changed;
        each fact's ``on_written`` hears of its changes. Returns {fact: ids of the partners
        whose fact changed}."""
        if isinstance(partner_ids, SQL):
            targets = partner_ids
        elif partner_ids:
            targets = SQL("SELECT id FROM unnest(%s::int[]) AS id", list(partner_ids))
        else:
            targets = None
        if not updates or targets is None:
            return {fact: [] for fact in updates}
        facts = list(updates)

        def figure_column(fact, figure=None):
            """The figures of ``fact`` (``fact_<fact>``), or one of their columns."""
            return SQL.identifier(f"fact_{fact}", figure) if figure \
                else SQL.identifier(f"fact_{fact}")

        def changed(fact):
            # The row as it was (``old``): RETURNING sees the new values on ``p``.
            return SQL("(%s)", SQL(" OR ").join(
                SQL("old.%s IS DISTINCT FROM %s",
                    SQL.identifier(column), figure_column(fact, figure))
                for column, figure in updates[fact].columns.items()))

        self.env.cr.execute(SQL(
            """
            WITH %(figures)s
            UPDATE res_partner p SET %(assignments)s
              FROM (%(targets)s) AS target(id)
              JOIN res_partner old ON old.id = target.id
              %(joins)s
             WHERE p.id = target.id AND (%(any_change)s)
            RETURNING p.id, %(returning)s
            """,
            figures=SQL(", ").join(
                SQL("%s AS (%s)", figure_column(fact), updates[fact].figures)
                for fact in facts),
            assignments=SQL(", ").join(
                SQL("%s = %s", SQL.identifier(column), figure_column(fact, figure))
                for fact in facts for column, figure in updates[fact].columns.items()),
            targets=targets,
            joins=SQL(" ").join(
                SQL("LEFT JOIN %(fact)s ON %(fact)s.partner_id = target.id",
                    fact=figure_column(fact))
                for fact in facts),
            any_change=SQL(" OR ").join(changed(fact) for fact in facts),
            returning=SQL(", ").join(
                [changed(fact) for fact in facts]
                + [figure_column(fact, figure)
                   for fact in facts for figure in updates[fact].returning]),
        ))
        rows = self.env.cr.fetchall()
        written = {}
        offset = 1 + len(facts)
        for index, fact in enumerate(facts):
            update = updates[fact]
            returned = {row[0]: row[offset:offset + len(update.returning)]
                        for row in rows if row[1 + index]}
            offset += len(update.returning)
            written[fact] = list(returned)
            if returned:
                self.env["res.partner"].invalidate_model(list(update.columns))
                if update.on_written:
                    update.on_written(returned)
        return written

    @api.model
    def _on_facts_changed(self, partner_ids, facts):
        """Event: the ledger facts of these commercial partners were just refreshed
        (``facts``: which ones, None: all). What derives from them — the funnel stage, the
        segments — subscribes by overriding this method in its own file and calling
        super; the ledgers never call their subscribers."""

    @api.model
    def _run_in_locked_batches(self, batches, resumable=True):
        """Under the scheduler: for each ``(customer ids, work)`` of ``batches``, lock the
        customers and call ``work(locked ids)``, committing each batch with the cron's
        progress. A batch first locks its customers without waiting: those another
        transaction holds (a cashier, a cron on another server) are skipped, since writing
        them after it committed would fail the whole batch, and are left to the
        scheduler's next call.

        ``resumable``: the cron's own query selects only what is left, so the run stops
        when the cron's time is up; otherwise it carries on past it, since a next call
        would start again from the first batch. Returns False when customers were skipped
        or the run stopped early."""
        if not batches:
            return True
        cron = self.env["ir.cron"]
        cron._commit_progress(remaining=sum(len(customer_ids) for customer_ids, _work in batches))
        complete = True
        for customer_ids, work in batches:
            try:
                # Savepoint: what another transaction committed since this one began
                # fails the lock; the batch is then left as a whole.
                with self.env.cr.savepoint():
                    with mute_logger("odoo.sql_db"):
                        locked = self.env["res.partner"].sudo().browse(
                            customer_ids).try_lock_for_update(allow_referencing=True).ids
                    if locked:
                        work(locked)
            # psycopg2's error classes are C types pylint cannot see into.
            except BUSY_ERRORS:  # pylint: disable=catching-non-exception
                locked = []
            complete = complete and len(locked) == len(set(customer_ids))
            if not cron._commit_progress(len(locked)) and resumable:
                return False
        return complete

    # ------------------------------------------------------------------
    # The queue: customers refreshed after commit, or by the cron
    # ------------------------------------------------------------------

    @api.model
    def _queue(self, partner_ids, purchases=()):
        """Queue these customers, and the documents of ``purchases`` (recordsets) to publish
        (:meth:`_on_purchases`) with their customers' refresh."""
        # Inserts only: queueing never conflicts with another transaction.
        vals_list = [{"partner_id": document.partner_id.commercial_partner_id.id,
                      "res_model": document._name, "res_id": document.id}
                     for documents in purchases for document in documents
                     if document.partner_id]
        # A customer queued with a document needs no row of its own.
        with_documents = {vals["partner_id"] for vals in vals_list}
        vals_list += [{"partner_id": pid} for pid in partner_ids if pid not in with_documents]
        self.env["retail.customer.facts.queue"].sudo().create(vals_list)
        self.env.flush_all()
        queued = self.env.cr.postcommit.data.get(QUEUED)
        if queued is None:
            queued = self.env.cr.postcommit.data[QUEUED] = set()
            self.env.cr.postcommit.add(self._drain_after_commit)
        queued.update(vals["partner_id"] for vals in vals_list)

    @api.model
    def _drain_after_commit(self):
        partner_ids = self.env.cr.postcommit.data.pop(QUEUED, set())
        after_response = self.env.cr.postcommit.data.get(AFTER_RESPONSE)
        if after_response is not None:
            after_response.update(partner_ids)
        else:
            self._drain_safely(partner_ids)

    @api.model
    def _drain_safely(self, partner_ids):
        if not partner_ids:
            return
        try:
            self._drain_in_new_transaction(partner_ids)
        except Exception:  # whatever it is, the cron refreshes what is left
            _logger.warning("Customer facts of %s left for the cron", sorted(partner_ids),
                            exc_info=True)

    @api.model
    def _drain_in_new_transaction(self, partner_ids=None, limit=None):
        """Refresh queued customers in a transaction of its own that waits for their rows
        (READ COMMITTED: it reads what the transactions it waited for committed)."""
        with self.env.registry.cursor() as cr:
            # A test cursor shares the test's transaction: nothing to set there.
            if isinstance(cr, Cursor):
                cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            return self.with_env(self.env(cr=cr, su=True))._drain(partner_ids, limit)

    @api.model
    def _drain(self, partner_ids=None, limit=None):
        """Refresh the queued customers (of ``partner_ids``, None: any; at most ``limit``),
        oldest first, after publishing their queued purchases, and drop their queue rows.
        Returns how many were refreshed (or found refreshed by another transaction)."""
        cr = self.env.cr
        cr.execute(SQL(
            """
            SELECT id FROM res_partner
             WHERE id IN (SELECT partner_id FROM retail_customer_facts_queue %s
                           GROUP BY partner_id ORDER BY MIN(id) %s)
             ORDER BY id FOR NO KEY UPDATE
            """,
            SQL("WHERE partner_id = ANY(%s)", list(partner_ids)) if partner_ids else SQL(),
            SQL("LIMIT %s", limit) if limit else SQL(),
        ))
        # Read once their rows are held: another refresh of these customers, waited for,
        # has dropped what it published (a statement sees what committed before it).
        locked = [row[0] for row in cr.fetchall()]
        cr.execute(SQL(
            """SELECT id, partner_id, res_model, res_id FROM retail_customer_facts_queue
                WHERE partner_id = ANY(%s) ORDER BY id""", locked))
        rows = cr.fetchall()
        if not rows:
            return len(locked)
        partner_ids = sorted({row[1] for row in rows})
        purchases = {}
        for _id, _pid, model, res_id in rows:
            if model in self.env:
                purchases.setdefault(model, []).append(res_id)
        for model, ids in purchases.items():
            self._publish_queued_purchases(self.env[model].browse(ids).exists())
        self._refresh(partner_ids)
        self.env.flush_all()
        cr.execute(SQL("DELETE FROM retail_customer_facts_queue WHERE id = ANY(%s)",
                       [row[0] for row in rows]))
        return len(partner_ids)

    @api.model
    def _publish_queued_purchases(self, documents):
        """Publish queued purchases, each in its own company's environment (its settings:
        the loyalty rule...). What follows a purchase failing is logged and left, never
        the customers' refresh nor the rest of the queue."""
        for company in documents.company_id:
            company_documents = documents.filtered(
                lambda doc, c=company: doc.company_id == c).with_company(company)
            try:
                with self.env.cr.savepoint():
                    self.with_company(company)._on_purchases(company_documents)
            except Exception:  # whatever it is, the facts are still refreshed
                _logger.exception("What follows the purchases %s failed", company_documents)

    @api.model
    def _cron_drain_queue(self, batch_size=500):
        """What a crash left between a commit and its refresh."""
        self.env.cr.execute("SELECT COUNT(DISTINCT partner_id) FROM retail_customer_facts_queue")
        remaining = self.env.cr.fetchone()[0]
        while remaining:
            done = self._drain_in_new_transaction(limit=batch_size)
            if not done:
                break
            remaining = max(remaining - done, 0)
            if not self.env["ir.cron"]._commit_progress(done, remaining=remaining):
                break


class RetailCustomerFactsQueue(models.Model):
    _name = "retail.customer.facts.queue"
    _description = "Customers Whose Facts Await a Refresh"
    _log_access = False

    partner_id = fields.Many2one(
        "res.partner", required=True, index=True, ondelete="cascade", readonly=True)
    # A document that became a purchase, published with its customer's refresh.
    res_model = fields.Char(string="Document Model", readonly=True)
    res_id = fields.Many2oneReference(
        string="Document", model_field="res_model", readonly=True)
