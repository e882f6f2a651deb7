"""Customer segments: running the rules, the recompute of the memberships.

The segment decides what runs and keeps what failed; the SQL comes from the engines:
the rules from :mod:`.retail_segment_rule_compiler`, the customers' facts from
:mod:`.retail_segment_facts`, the set-based writes from :mod:`.retail_segment_diff`. A
rule that fails never fails the posting or the cron that runs it: it is skipped with its
exclusive group, and why is kept on the segment for the manager."""

import logging

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL, mute_logger

from . import retail_segment_diff as diff
from . import retail_segment_facts as facts
from . import retail_segment_rule_compiler as compiler

_logger = logging.getLogger(__name__)


def _complaint(error):
    """What the database said about a failing query, in plain words (without the
    query)."""
    return (error.diag.message_primary or str(error)).strip()


class RetailSegment(models.Model):
    _inherit = "retail.segment"

    # ------------------------------------------------------------------
    # Running rules without letting them fail the transaction
    # ------------------------------------------------------------------

    def _build_rules(self, today):
        """The SQL condition of each of these segments' rules, and why each rule that no
        longer builds fails (a field of its domain gone since it was saved...):
        ``({segment: condition}, {segment: message})``. The fields the conditions read
        are flushed now, not under the savepoint that runs them (a rollback would lose the
        flush)."""
        conditions, failures = {}, {}
        for segment in self:
            try:
                condition = segment._rule_condition(today)
            except (ValidationError, ValueError, OverflowError) as error:
                failures[segment] = str(error.args[0] if error.args else error)
                continue
            if condition is not None:
                self.env.flush_query(condition)
                conditions[segment] = condition
        return conditions, failures

    @api.model
    def _execute_guarded(self, query):
        """Run ``query`` under a savepoint: ``(rows, None)``, or ``(None, complaint)``
        with what the database said when it fails. Concurrency errors belong to the
        transaction, not to the query: they go up, for it to be retried."""
        cr = self.env.cr
        try:
            with cr.savepoint(flush=False):
                cr.execute(query, log_exceptions=False)
                return cr.fetchall(), None
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:  # pylint: disable=catching-non-exception
            raise
        except psycopg2.Error as error:
            return None, _complaint(error)

    @api.model
    def _count_matches(self, company, today, conditions, partner_ids=None):
        """The customers of ``company`` each rule of ``conditions`` ({segment: condition})
        matches, one query: ``([count, ...], None)``, or ``(None, complaint)``."""
        query = self._facts_query(
            company, today, self._facts_windows(conditions),
            rfm=any(s.rfm_type for s in conditions), partner_ids=partner_ids)
        rows, complaint = self._execute_guarded(SQL(
            "WITH facts AS (%s) SELECT %s FROM facts f",
            query,
            SQL(", ").join(SQL("COUNT(*) FILTER (WHERE %s)", c) for c in conditions.values()),
        ))
        return (list(rows[0]) if rows else None), complaint

    # ------------------------------------------------------------------
    # The engines, as hooks: the rule, the facts, the memberships
    # ------------------------------------------------------------------

    def _rule_conditions(self, today):
        """The checked conditions of the rule, each an SQL condition on the facts (the
        hook for a new kind of condition)."""
        return compiler.rule_conditions(self, today)

    def _rule_condition(self, today):
        """The whole rule as one SQL condition; None for a segment without a rule."""
        self.ensure_one()
        conditions = self._rule_conditions(today) if self.match != "manual" else []
        return compiler.rule_condition(conditions, self.match)

    @api.model
    def _facts_windows(self, segments):
        return compiler.facts_windows(segments)

    @api.model
    def _flush_for_facts(self):
        facts.flush_for_facts(self.env)

    @api.model
    def _facts_query(self, company, today, windows=(), rfm=False, partner_ids=None):
        """One row per customer of ``company`` with what the rules read (see
        :func:`.retail_segment_facts.facts_query`)."""
        return facts.facts_query(company, today, windows, rfm=rfm, partner_ids=partner_ids)

    def _clear_members(self):
        """Take these segments' customers out: the tags their rules added go, those set
        by hand stay."""
        diff.clear_members(self)

    # ------------------------------------------------------------------
    # Recompute
    # ------------------------------------------------------------------

    def _rule_groups(self):
        """The rule segments in exclusive groups (a segment without group is alone),
        each group ordered by sequence: the first that matches wins."""
        groups = {}
        for segment in self.filtered(lambda s: s.match != "manual").sorted(
                lambda s: (s.sequence, s.id)):
            key = (segment.company_id.id, segment.exclusive_group or f"segment-{segment.id}")
            groups[key] = groups.get(key, self.browse()) | segment
        return list(groups.values())

    def _recompute(self):
        """Recompute every active rule segment of these segments' companies (exclusive
        groups decide together) for all the customers. Returns the number of memberships
        added and removed (:meth:`_recompute_rule_segments`)."""
        return self.sudo().search([
            ("match", "!=", "manual"), ("company_id", "in", self.company_id.ids),
        ])._recompute_rule_segments()

    def _recompute_rule_segments(self, partner_ids=None, commercial=False):
        """Recompute exactly these segments, every active rule segment of their companies,
        for all the customers or only ``partner_ids`` (with ``commercial``, already
        commercial partners). Returns the number of memberships added and removed.

        A rule that fails is skipped with its exclusive group, and the error kept on the
        segment for the manager (:meth:`_recompute_company_guarded`): it never fails the
        posting or the cron that runs the recompute."""
        segments = self
        if partner_ids is not None:
            # RFM quintiles are relative to all the customers, and a rule that failed is
            # retried by the full recompute only (not at every posting): those groups
            # wait for it (nightly or "Recompute now").
            segments = segments.browse(
                s.id for group in segments._rule_groups()
                if not any(group.mapped("rfm_type")) and not any(group.mapped("last_error"))
                for s in group)
            partner_ids = list(partner_ids)
        if not segments or partner_ids == []:
            return 0, 0
        segments._flush_for_facts()
        segments.flush_model()
        self.env["retail.segment.member"].flush_model()
        if partner_ids is not None and not commercial:
            self.env.cr.execute(SQL(
                "SELECT DISTINCT commercial_partner_id FROM res_partner WHERE id = ANY(%s)",
                partner_ids))
            partner_ids = [row[0] for row in self.env.cr.fetchall()]
        today = fields.Date.context_today(self)
        added = removed = 0
        recomputed = segments.browse()
        failures = {}
        for company, company_segments in segments.grouped("company_id").items():
            (company_added, company_removed), done, failed = (
                company_segments._recompute_company_guarded(company, today, partner_ids))
            added += company_added
            removed += company_removed
            recomputed |= done
            failures.update(failed)
        segments._record_failures(failures)
        if partner_ids is None:
            diff.sync_tags(segments)
            recomputed.write({
                "last_recompute": fields.Datetime.now(),
                "last_error": False,
                "last_error_date": False,
            })
            # Written now, like the memberships: SQL run after the recompute sees it.
            recomputed.flush_recordset(["last_recompute", "last_error", "last_error_date"])
        if added or removed:
            diff.invalidate_members(self.env)
        return added, removed

    def _recompute_company_guarded(self, company, today, partner_ids):
        """:meth:`_recompute_company` under a savepoint. When it fails, each rule is run
        alone to find those that fail; their exclusive groups are skipped (the customers
        keep the segments they had: a group decides together) and the others are
        recomputed. Returns the counts, the segments recomputed and
        ``{segment: why it was skipped}``."""
        conditions, failures = self._build_rules(today)
        segments = self._without_groups_of(failures)
        counts = (0, 0)
        while segments:
            try:
                with self.env.cr.savepoint(flush=False):
                    counts = segments._recompute_company(
                        company, today, partner_ids, conditions, self - segments)
                break
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:  # pylint: disable=catching-non-exception
                raise
            except psycopg2.Error as error:
                failing = {}
                for segment in segments.filtered(lambda s: s in conditions):
                    _counts, complaint = self._count_matches(
                        company, today, {segment: conditions[segment]}, partner_ids)
                    if complaint:
                        failing[segment] = complaint
                # Not one rule of its own: the segments cannot be recomputed together.
                failures.update(failing or dict.fromkeys(segments, _complaint(error)))
                segments = self._without_groups_of(failures)
        for group in self._rule_groups():
            if failed := group.filtered(lambda s: s in failures):
                for segment in group - failed:
                    failures[segment] = self.env._(
                        "Not recomputed: the segment %(segment)s of the same exclusive "
                        "group fails.", segment=failed[0].display_name)
        return counts, segments, failures

    def _without_groups_of(self, failures):
        return self.browse(
            s.id for group in self._rule_groups()
            if not any(s in failures for s in group) for s in group)

    def _record_failures(self, failures):
        """Log the segments skipped and keep why on each for the manager; rewritten
        only when the reason changes (each posting would otherwise write the segment)."""
        now = fields.Datetime.now()
        for segment, message in failures.items():
            _logger.warning("Segment %r (id %s) of %s skipped: %s",
                            segment.name, segment.id, segment.company_id.name, message)
            if segment.last_error != message:
                segment.sudo().write({"last_error": message, "last_error_date": now})

    def _recompute_company(self, company, today, partner_ids, conditions, skipped):
        """The memberships of these segments (one company), in a constant number of
        statements, with the rule ``conditions`` ({segment: SQL}); the segments
        ``skipped`` keep their members. The facts are computed once, each exclusive
        group is one ``CASE``, and only the customers whose segments changed are written
        (:func:`.retail_segment_diff.apply_memberships`)."""
        groups = [[(segment.id, conditions.get(segment, SQL("FALSE"))) for segment in group]
                  for group in self._rule_groups()]
        query = self._facts_query(
            company, today, self._facts_windows(self), rfm=any(self.mapped("rfm_type")),
            partner_ids=partner_ids)
        return diff.apply_memberships(
            self.env, company, query, groups, partner_ids=partner_ids,
            recomputed_ids=self.ids, skipped_ids=skipped.ids)

    @api.model
    def _recompute_partners(self, partner_ids, commercial=False):
        """Recompute the segments of these customers only (after one of their invoices
        was posted or reversed; with ``commercial``, already commercial partners), in
        every company; RFM types follow at the next full recompute."""
        segments = self.sudo().search([("match", "!=", "manual")])
        return segments._recompute_rule_segments(list(partner_ids), commercial)

    @api.model
    def _cron_recompute(self):
        """Nightly: every active segment of every company, one company per commit, the
        companies least recently computed first (a run cut short resumes with them)."""
        segments = self.sudo().search([("match", "!=", "manual")])

        def staleness(item):
            dates = item[1].mapped("last_recompute")
            return (1, min(dates), item[0].id) if all(dates) else (0, item[0].id)

        by_company = sorted(segments.grouped("company_id").items(), key=staleness)
        ir_cron = self.env["ir.cron"]
        ir_cron._commit_progress(remaining=len(segments))
        for company, company_segments in by_company:
            try:
                # Another transaction (a cashier's posting, another server) may have changed
                # some of these memberships since this one began: the company is left for
                # the scheduler's next call (counted as not done) instead of failing the run.
                with self.env.cr.savepoint(), mute_logger("odoo.sql_db"):
                    added, removed = company_segments._recompute()
            # psycopg2's error classes are C types pylint cannot see into.
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:  # pylint: disable=catching-non-exception
                _logger.info("Segments of %s: changed meanwhile, left for the next call",
                             company.name)
                self.env.invalidate_all()
                if not ir_cron._commit_progress(0):
                    break
                continue
            _logger.info("Segments of %s recomputed: %s memberships added, %s removed",
                         company.name, added, removed)
            if not ir_cron._commit_progress(len(company_segments)):
                break
