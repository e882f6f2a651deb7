"""Customer segments: the memberships and tags written set-based, in SQL.

Each customer's segment ids by rule (``retail.segment.member``) are compared with the
ones the rules give now (a hash full join), and only the customers whose segments changed
are written: their memberships and the contact tags that back the segments. A tag the
customer already had (set by hand) is never taken away by a rule.

Callers flush what the queries read before and these functions invalidate the caches they
change after (:func:`invalidate_members`)."""

import logging

from psycopg2 import errors as pg_errors

from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# Memberships changed in one run above which the tables' statistics are refreshed.
BULK_CHANGES = 10_000
# Rows inserted in one statement from which the table's keys and indexes are dropped and
# built again after the insert instead of kept up to date row by row (PostgreSQL's advice
# for bulk loads, "Populating a Database"): the first run on a shop with history adds a
# tag row per customer and segment and a membership row per customer, and their index
# entries and key checks cost several times the rows themselves.
BULK_ROWS = 50_000
# Building again passes over the whole table, the rows already there included: it pays
# from new rows half as many as those (at 100k customers, 0.3 s to build again what cost
# 0.85 s to keep up to date, with the table empty of others).
BULK_SHARE = 0.5
# How long a bulk insert waits for the locks it needs (the table and those its keys
# point to, contacts included, exclusively until commit) before inserting row by row
# instead: shorter than PostgreSQL's deadlock_timeout (1 s), so that a deadlock never
# cancels another transaction than this one.
BULK_LOCK_TIMEOUT = "500ms"
TAG_TABLE = "res_partner_res_partner_category_rel"


def apply_memberships(env, company, facts, groups, partner_ids=None, recomputed_ids=(),
                      skipped_ids=()):
    """Write the memberships of one company from ``facts`` (the facts query) and
    ``groups``: the exclusive groups, each a list of ``(segment id, SQL condition)`` in
    priority order (the first that matches wins; a segment alone is a group of one).

    ``partner_ids`` limits the run to these customers: their other segments than
    ``recomputed_ids`` stay. On a full run, the segments ``skipped_ids`` keep their
    members. Returns ``(added, removed)`` memberships.

    The full run goes through temporary tables with fresh statistics, which keep the plans
    right whatever the number of changes; the run for a few customers (after a posting)
    is one statement, without any table to create."""
    cr = env.cr
    cases = SQL(", ").join(
        SQL("CASE %s END", SQL(" ").join(
            SQL("WHEN %s THEN %s", condition, segment_id) for segment_id, condition in group))
        for group in groups)
    stored = SQL("SELECT * FROM retail_segment_member WHERE company_id = %s", company.id)
    kept = SQL("'{}'::int[]")
    if partner_ids is not None:
        stored = SQL("%s AND partner_id = ANY(%s)", stored, partner_ids)
        # The segments not recomputed (RFM types, failing rules) stay as they are.
        kept = SQL("ARRAY(SELECT x FROM unnest(o.segment_ids) x WHERE x <> ALL(%s))",
                   list(recomputed_ids))
    elif skipped_ids:
        kept = SQL("ARRAY(SELECT x FROM unnest(o.segment_ids) x WHERE x = ANY(%s))",
                   list(skipped_ids))
    # The customers whose segments change, with their old and new segment ids.
    diff = SQL(
        """
        WITH facts AS (%(facts)s),
        matched AS (
            SELECT f.partner_id, array_remove(ARRAY[%(cases)s]::int[], NULL) AS ids
              FROM facts f
        ),
        compared AS (
            SELECT COALESCE(n.partner_id, o.partner_id) AS partner_id,
                   COALESCE(o.segment_ids, '{}') AS old_ids,
                   COALESCE(%(kept)s, '{}') || COALESCE(n.ids, '{}') AS new_ids,
                   COALESCE(o.manual_ids, '{}') AS manual_ids
              FROM matched n FULL JOIN (%(stored)s) o ON o.partner_id = n.partner_id
        )
        SELECT * FROM compared WHERE NOT (old_ids @> new_ids AND old_ids <@ new_ids)
        """,
        facts=facts, cases=cases, kept=kept, stored=stored,
    )
    # Memberships added: whether the customer already had the tag (set by hand) decides
    # whether the rule may take it away later.
    added = SQL(
        """
        SELECT d.partner_id, s.tag_id, a.segment_id,
               -- One lookup by both keys (joined, a plan on fresh statistics read every
               -- customer of the tag for each membership added).
               EXISTS (SELECT 1 FROM res_partner_res_partner_category_rel rel
                        WHERE rel.category_id = s.tag_id AND rel.partner_id = d.partner_id)
                 AS manual
          FROM retail_segment_diff d
         CROSS JOIN LATERAL unnest(d.new_ids) AS a(segment_id)
          JOIN retail_segment s ON s.id = a.segment_id
         WHERE a.segment_id <> ALL(d.old_ids)
        """
    )
    # Memberships removed: the tag goes unless it was set by hand.
    gone = SQL(
        """
        SELECT d.partner_id, s.tag_id, g.segment_id = ANY(d.manual_ids) AS manual
          FROM retail_segment_diff d
         CROSS JOIN LATERAL unnest(d.old_ids) AS g(segment_id)
          LEFT JOIN retail_segment s ON s.id = g.segment_id
         WHERE g.segment_id <> ALL(d.new_ids)
        """
    )
    remove_tags = SQL(
        """
        DELETE FROM res_partner_res_partner_category_rel rel
         USING retail_segment_gone g
         WHERE NOT g.manual
           AND rel.category_id = g.tag_id AND rel.partner_id = g.partner_id
        """
    )
    add_tags = SQL(
        """
        INSERT INTO res_partner_res_partner_category_rel (category_id, partner_id)
        SELECT tag_id, partner_id FROM retail_segment_added WHERE NOT manual
         ORDER BY partner_id, tag_id
        """
    )
    # A tag row another transaction committed meanwhile stays as it is.
    tags_conflict = SQL("ON CONFLICT DO NOTHING")
    remove_members = SQL(
        """
        DELETE FROM retail_segment_member mem
         USING retail_segment_diff d
         WHERE mem.company_id = %s AND mem.partner_id = d.partner_id
           AND d.new_ids = '{}'
        """,
        company.id,
    )

    def write_members(which):
        """The memberships of the customers ``which`` selects among those whose segments
        change and who keep some (with ``members_conflict``: written over)."""
        return SQL(
            """
            INSERT INTO retail_segment_member
                   (partner_id, company_id, segment_ids, manual_ids)
            SELECT d.partner_id, %s, d.new_ids,
                   ARRAY(SELECT x FROM unnest(d.manual_ids) x WHERE x = ANY(d.new_ids))
                   || COALESCE(m.ids, '{}')
              FROM retail_segment_diff d
              LEFT JOIN (SELECT partner_id, array_agg(segment_id) AS ids
                           FROM retail_segment_added WHERE manual
                          GROUP BY partner_id) m ON m.partner_id = d.partner_id
             WHERE d.new_ids != '{}' AND %s
             ORDER BY d.partner_id
            """,
            company.id, which,
        )

    members_conflict = SQL(
        """
        ON CONFLICT (partner_id, company_id) DO UPDATE
           SET segment_ids = EXCLUDED.segment_ids, manual_ids = EXCLUDED.manual_ids
        """
    )
    counts = SQL("""SELECT (SELECT COUNT(*) FROM retail_segment_added),
                           (SELECT COUNT(*) FROM retail_segment_gone)""")
    if partner_ids is not None:
        cr.execute(SQL(
            """
            WITH retail_segment_diff AS MATERIALIZED (%s),
                 retail_segment_added AS MATERIALIZED (%s),
                 retail_segment_gone AS MATERIALIZED (%s),
                 %s
            %s
            """,
            diff, added, gone,
            SQL(", ").join(SQL("%s AS (%s)", SQL.identifier(f"write_{i}"), w)
                          for i, w in enumerate([
                              remove_tags, SQL("%s %s", add_tags, tags_conflict),
                              remove_members,
                              SQL("%s %s", write_members(SQL("TRUE")), members_conflict)])),
            counts,
        ), log_exceptions=False)  # a failing rule is logged by the caller, once
        return cr.fetchone()
    cr.execute(SQL("CREATE TEMPORARY TABLE retail_segment_diff ON COMMIT DROP AS %s", diff),
               log_exceptions=False)
    if not cr.rowcount:
        cr.execute(SQL("DROP TABLE retail_segment_diff"))
        return 0, 0
    cr.execute(SQL(
        """
        ANALYZE retail_segment_diff;
        CREATE TEMPORARY TABLE retail_segment_added ON COMMIT DROP AS %s;
        CREATE TEMPORARY TABLE retail_segment_gone ON COMMIT DROP AS %s;
        ANALYZE retail_segment_added;
        ANALYZE retail_segment_gone;
        SELECT (SELECT COUNT(*) FROM retail_segment_added),
               (SELECT COUNT(*) FROM retail_segment_gone),
               (SELECT COUNT(*) FROM retail_segment_added WHERE NOT manual),
               (SELECT COUNT(*) FROM retail_segment_diff
                 WHERE new_ids != '{}' AND old_ids = '{}')
        """,
        added, gone,
    ))
    added_count, removed_count, tag_rows, member_rows = cr.fetchone()
    # The customers who had memberships get theirs written over, the others new rows
    # (on the first run, all of them: in bulk).
    cr.execute(SQL("%s; %s; %s %s", remove_tags, remove_members,
                   write_members(SQL("d.old_ids != '{}'")), members_conflict))
    insert_in_bulk(cr, TAG_TABLE, add_tags, tag_rows, tags_conflict)
    insert_in_bulk(cr, "retail_segment_member", write_members(SQL("d.old_ids = '{}'")),
                   member_rows, members_conflict)
    cr.execute(SQL(
        "DROP TABLE retail_segment_diff, retail_segment_added, retail_segment_gone"))
    if added_count + removed_count > BULK_CHANGES:
        analyze_members(env)
    return added_count, removed_count


def insert_in_bulk(cr, table, insert, rows, on_conflict=None):
    """Run ``insert`` (an ``INSERT ... SELECT``), which writes ``rows`` rows into ``table``
    that this transaction does not see there, with ``on_conflict`` for the rows another
    transaction committed meanwhile.

    From ``BULK_ROWS`` rows (and ``BULK_SHARE`` of those already there), the table's keys
    and indexes are dropped for the insert and built again after it: one sort per index
    and one pass per foreign key instead of their work at every row. That holds the table
    and those its keys point to (contacts included) exclusively until commit; all in a
    savepoint, so that they are back whatever fails. When the locks are not free soon
    (another transaction is using contacts), or what another transaction committed
    meanwhile fails a key built again (a row added, a contact deleted), the rows are
    inserted with everything in place."""
    statement = SQL("%s %s", insert, on_conflict or SQL())
    if rows < BULK_ROWS:
        cr.execute(statement)
        return
    # PostgreSQL's estimate of the rows there (-1 before any ANALYZE).
    cr.execute(SQL("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", table))
    if rows < BULK_SHARE * cr.fetchone()[0]:
        cr.execute(statement)
        return
    # Its foreign keys, and its primary and unique keys unless another table's keys
    # point to them; then the indexes of no constraint. Each with PostgreSQL's own text
    # of it, and its comment: Odoo keeps a constraint's definition there, and rebuilds
    # the constraint at the next update when the two differ.
    cr.execute(SQL(
        """
        SELECT conname, pg_get_constraintdef(oid), contype = 'f',
               obj_description(oid, 'pg_constraint')
          FROM pg_constraint
         WHERE conrelid = %(table)s::regclass
           AND (contype = 'f' OR contype IN ('p', 'u') AND NOT EXISTS (
                SELECT 1 FROM pg_constraint WHERE confrelid = %(table)s::regclass))
         ORDER BY conname
        """,
        table=table,
    ))
    constraints = cr.fetchall()
    cr.execute(SQL(
        """
        SELECT ix.relname, pg_get_indexdef(i.indexrelid),
               obj_description(i.indexrelid, 'pg_class')
          FROM pg_index i JOIN pg_class ix ON ix.oid = i.indexrelid
         WHERE i.indrelid = %s::regclass AND NOT EXISTS (
               SELECT 1 FROM pg_constraint c
                WHERE c.conrelid = i.indrelid AND c.conindid = i.indexrelid)
         ORDER BY 1
        """,
        table,
    ))
    indexes = cr.fetchall()
    if not constraints and not indexes:
        cr.execute(statement)
        return
    table_sql = SQL.identifier(table)

    def add_constraints(foreign):
        chosen = [(name, definition, comment)
                  for name, definition, is_foreign, comment in constraints
                  if is_foreign == foreign]
        if chosen:
            cr.execute(SQL("ALTER TABLE %s %s", table_sql, SQL(", ").join(
                SQL("ADD CONSTRAINT %s %s", SQL.identifier(name), _verbatim(definition))
                for name, definition, _comment in chosen)), log_exceptions=False)
        for name, _definition, comment in chosen:
            if comment is not None:
                cr.execute(SQL("COMMENT ON CONSTRAINT %s ON %s IS %s",
                               SQL.identifier(name), table_sql, comment))

    try:
        with cr.savepoint(flush=False):
            # SET LOCAL inside the savepoint, RESET after the wait: the session's own
            # timeout holds for the rest of the transaction.
            cr.execute(SQL("SET LOCAL lock_timeout = %s", BULK_LOCK_TIMEOUT))
            if constraints:
                cr.execute(SQL("ALTER TABLE %s %s", table_sql, SQL(", ").join(
                    SQL("DROP CONSTRAINT %s", SQL.identifier(name))
                    for name, *_rest in constraints)), log_exceptions=False)
            if indexes:
                cr.execute(SQL("DROP INDEX %s", SQL(", ").join(
                    SQL.identifier(name) for name, *_rest in indexes)),
                    log_exceptions=False)
            cr.execute("RESET lock_timeout")
            cr.execute(insert)
            # The unique keys first (a row committed meanwhile fails them), the foreign
            # keys last (they check the rows).
            add_constraints(foreign=False)
            for name, definition, comment in indexes:
                cr.execute(_verbatim(definition))
                if comment is not None:
                    cr.execute(SQL("COMMENT ON INDEX %s IS %s", SQL.identifier(name), comment))
            add_constraints(foreign=True)
    except pg_errors.LockNotAvailable:
        _logger.info("%s: tables busy, %s rows inserted with the keys in place", table, rows)
        cr.execute(statement)
    # PostgreSQL checks keys built again against what is committed now, not against this
    # transaction's snapshot: a row added or a contact deleted by another transaction
    # since fails them. Inserted with the keys in place, the rows meet it as a conflict
    # (``on_conflict``) or a concurrent update, which the caller retries.
    except (pg_errors.UniqueViolation, pg_errors.ForeignKeyViolation):
        _logger.info("%s: changed meanwhile, %s rows inserted with the keys in place",
                     table, rows)
        cr.execute(statement)


def _verbatim(text):
    """PostgreSQL's own text of a definition, run again as it is (a literal % escaped)."""
    return SQL(text.replace("%", "%%"))


def clear_members(segments):
    """Take these segments' customers out (the segments stop matching anyone): the tags
    their rules added go, those set by hand stay."""
    if not segments:
        return
    env = segments.env
    env["res.partner"].flush_model(["category_id"])
    env["retail.segment.member"].flush_model()
    env.cr.execute(SQL(
        """
        CREATE TEMPORARY TABLE retail_segment_gone ON COMMIT DROP AS
        SELECT m.partner_id, s.tag_id, g.segment_id = ANY(m.manual_ids) AS manual
          FROM retail_segment_member m
         CROSS JOIN LATERAL unnest(m.segment_ids) AS g(segment_id)
          JOIN retail_segment s ON s.id = g.segment_id
         WHERE m.segment_ids && %(ids)s AND g.segment_id = ANY(%(ids)s);
        ANALYZE retail_segment_gone;
        DELETE FROM res_partner_res_partner_category_rel rel
         USING retail_segment_gone g
         WHERE NOT g.manual AND rel.category_id = g.tag_id AND rel.partner_id = g.partner_id;
        UPDATE retail_segment_member
           SET segment_ids = ARRAY(SELECT x FROM unnest(segment_ids) x WHERE x != ALL(%(ids)s)),
               manual_ids = ARRAY(SELECT x FROM unnest(manual_ids) x WHERE x != ALL(%(ids)s))
         WHERE segment_ids && %(ids)s;
        DELETE FROM retail_segment_member WHERE segment_ids = '{}';
        SELECT COUNT(*) FROM retail_segment_gone;
        """,
        ids=segments.ids,
    ))
    removed = env.cr.fetchone()[0]
    env.cr.execute(SQL("DROP TABLE retail_segment_gone"))
    if removed > BULK_CHANGES:
        analyze_members(env)
    if removed:
        invalidate_members(env)


def sync_tags(segments):
    """Tags carry the segment's name in every language (translations loaded after the
    segment was created included) and its colour."""
    env = segments.env
    env["res.partner.category"].flush_model(["name", "color"])
    env.cr.execute(SQL(
        """
        UPDATE res_partner_category tag
           SET name = s.name, color = s.color
          FROM retail_segment s
         WHERE s.tag_id = tag.id AND s.id = ANY(%s)
           AND (tag.name IS DISTINCT FROM s.name OR tag.color IS DISTINCT FROM s.color)
        """,
        segments.ids,
    ))
    if env.cr.rowcount:
        env["res.partner.category"].invalidate_model(["name", "color"])


def analyze_members(env):
    """Fresh statistics after a bulk change (the first run writes every membership): the
    planner then sizes the next runs' joins right."""
    env.cr.execute(SQL("ANALYZE retail_segment_member, res_partner_res_partner_category_rel"))


def invalidate_members(env):
    """Forget the cached tags and memberships the SQL above changed."""
    env["res.partner"].invalidate_model(["category_id"])
    env["res.partner.category"].invalidate_model(["partner_ids"])
    env["retail.segment.member"].invalidate_model()
