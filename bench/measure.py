"""One trial of ``make bench`` (run by scripts/bench.sh through ``odoo shell`` on a fresh
copy of the benchmark database). Prints one ``BENCH_RESULT {json}`` line:

- ``floor``: one hand-written SQL statement per company computing, per customer, every
  fact the segment rules read (birthday for the age, gender, province, points, tier, debt
  and payment status, net sales, purchases and last purchase date over all time and over
  each window the active segments use, and the RFM scores and type), each row tested
  whole so that every column is computed, nothing written; checked equal, customer by
  customer, to the facts of the recompute (``_facts_query``);
- ``recompute``: ``env['retail.segment']._cron_recompute()`` from no membership at all
  (the first run after install: every membership written; any membership found is cleared
  first, untimed), then again with the memberships in place and nothing changed (the
  nightly run), with their query counts; ``write_floor``: the first run's tag and
  membership rows inserted alone, from a copy, the way the first run inserts them (what
  it cannot go below);
- ``phone``: ``res.partner.name_search`` (what a many2one field and the customer search
  box call) with a customer's phone typed in another format than the stored one, for
  ``LOOKUPS`` customers, as the administrator (not superuser); also ``search`` on
  Odoo's phone filter field; each must find its customer;
- ``customer_list``: the queries and time of ``web_search_read`` of the customer list
  (the list view's fields) for 80 and 800 rows, as the administrator;
- ``debt_refresh``: the nightly debt refresh (``_cron_retail_refresh_debt``).
"""
# ruff: noqa: F821  (``env`` is given by odoo shell)
import json
import os
import random
import re
import statistics
import time
from datetime import timedelta

from odoo import fields
from odoo.tools import SQL

from odoo.addons.crm_retail.models.retail_segment_diff import TAG_TABLE, insert_in_bulk

LOOKUPS = 200
TRIAL = int(os.environ.get("BENCH_TRIAL", 1))
cr = env.cr
today = fields.Date.context_today(env.user)


def log(message):
    print(f"[bench trial {TRIAL}] {message}", flush=True)


def timed_call(function, *args):
    """(seconds, queries, result) of ``function(*args)``."""
    queries = cr.sql_log_count
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, cr.sql_log_count - queries, result


# ----------------------------------------------------------------------------------
# The floor: the facts, in one hand-written statement
# ----------------------------------------------------------------------------------

def floor_facts(company, windows):
    """SELECT, per customer of ``company``, every fact the segment rules read."""
    purchase = SQL("(m.move_type = 'out_invoice' AND m.payment_state != 'reversed')")
    window_sums, window_values = [], []
    for days in windows:
        since = today - timedelta(days=days)
        window_sums.append(SQL(
            ", SUM(m.amount_total_signed) FILTER (WHERE m.invoice_date > %(since)s) AS %(s)s"
            ", COUNT(*) FILTER (WHERE %(purchase)s AND m.invoice_date > %(since)s) AS %(p)s",
            since=since, purchase=purchase,
            s=SQL.identifier(f"sales_{days}d"), p=SQL.identifier(f"purchases_{days}d")))
        window_values.append(SQL(
            ", COALESCE(s.%(s)s, 0) AS %(s)s, COALESCE(s.%(p)s, 0) AS %(p)s",
            s=SQL.identifier(f"sales_{days}d"), p=SQL.identifier(f"purchases_{days}d")))
    # R, F, M: the quintile of a buyer's mid-rank among the company's buyers (those with a
    # worse value, plus half of those with the same), ranked per distinct value.
    scores = SQL(", ").join(
        SQL(
            """%(name)s AS (
                SELECT value, 1 + floor(5 * (SUM(n) OVER (ORDER BY value) - n / 2.0)
                                        / SUM(n) OVER ())::int AS score
                  FROM (SELECT %(column)s AS value, COUNT(*) AS n FROM facts
                         WHERE purchases > 0 GROUP BY 1) per_value
            )""",
            name=SQL.identifier(name), column=SQL.identifier(column))
        for name, column in (("r", "last_purchase"), ("fr", "purchases"), ("m", "sales")))
    return SQL(
        """
        WITH sales AS (
            SELECT m.commercial_partner_id AS partner_id,
                   SUM(m.amount_total_signed) AS sales,
                   COUNT(*) FILTER (WHERE %(purchase)s) AS purchases,
                   MAX(m.invoice_date) FILTER (WHERE %(purchase)s) AS last_purchase
                   %(window_sums)s
              FROM account_move m
             WHERE m.state = 'posted' AND m.move_type IN ('out_invoice', 'out_refund')
               AND m.company_id = %(company)s
             GROUP BY m.commercial_partner_id
        ), facts AS MATERIALIZED (
            SELECT p.id AS partner_id, p.retail_birthday AS birthday, p.retail_gender AS gender,
                   p.state_id,
                   COALESCE((p.retail_loyalty_points ->> %(key)s)::int, 0) AS points,
                   (p.retail_loyalty_tier_id ->> %(key)s)::int AS tier_id,
                   COALESCE((p.retail_debt_amount ->> %(key)s)::numeric, 0) AS debt,
                   COALESCE(p.retail_debt_status ->> %(key)s, 'none') AS debt_status,
                   COALESCE(s.sales, 0) AS sales, COALESCE(s.purchases, 0) AS purchases,
                   s.last_purchase %(window_values)s
              FROM res_partner p
              LEFT JOIN sales s ON s.partner_id = p.id
             WHERE p.active AND p.id = p.commercial_partner_id
               AND (p.company_id IS NULL OR p.company_id = %(company)s)
               AND (p.customer_rank > 0 OR s.partner_id IS NOT NULL
                    OR EXISTS (SELECT 1 FROM res_partner c
                                 JOIN sale_order so ON so.partner_id = c.id
                                WHERE c.commercial_partner_id = p.id
                                  AND so.company_id = %(company)s)
                    OR EXISTS (SELECT 1 FROM res_partner c
                                 JOIN crm_lead lead ON lead.partner_id = c.id
                                WHERE c.commercial_partner_id = p.id AND lead.active
                                  AND lead.type = 'opportunity'
                                  AND (lead.company_id IS NULL
                                       OR lead.company_id = %(company)s)))
        ), %(scores)s
        SELECT f.*, r.score AS r_score, fr.score AS f_score, m.score AS m_score,
               CASE WHEN f.purchases = 0 THEN NULL
                    WHEN r.score >= 3 AND fr.score + m.score >= 8 THEN 'loyal'
                    WHEN r.score >= 3 THEN 'high_potential'
                    WHEN fr.score + m.score >= 6 THEN 'at_risk'
                    ELSE 'low_value' END AS rfm_type
          FROM facts f
          LEFT JOIN r ON f.purchases > 0 AND r.value = f.last_purchase
          LEFT JOIN fr ON f.purchases > 0 AND fr.value = f.purchases
          LEFT JOIN m ON f.purchases > 0 AND m.value = f.sales
        """,
        purchase=purchase,
        window_sums=SQL("").join(window_sums),
        window_values=SQL("").join(window_values),
        scores=scores,
        company=company.id,
        key=str(company.id),
    )


def measure_floor(segments, windows):
    """Seconds and queries of the floor, one statement per company: every fact of every
    customer computed (the row tested whole), nothing written. Then, untimed, its facts
    checked equal to the recompute's own, customer by customer."""
    seconds = queries = rows = 0
    for company in segments.company_id:
        facts = floor_facts(company, windows)
        company_seconds, company_queries, _result = timed_call(lambda facts=facts: cr.execute(
            SQL("SELECT COUNT(*) FROM (%s) f WHERE f IS DISTINCT FROM NULL", facts)))
        seconds += company_seconds
        queries += company_queries
        rows += cr.fetchone()[0]
    rfm = any(segments.mapped("rfm_type"))
    compared = ["birthday", "gender", "state_id", "sales", "purchases", "last_purchase",
                "debt", "debt_status", "points", "tier_id"] + (["rfm_type"] if rfm else []) \
        + [f"{kind}_{days}d" for days in windows for kind in ("sales", "purchases")]
    for company in segments.company_id:
        cr.execute(SQL(
            """
            WITH theirs AS (%(theirs)s), ours AS (%(ours)s)
            SELECT (SELECT COUNT(*) FROM theirs), (SELECT COUNT(*) FROM ours),
                   (SELECT COUNT(*) FROM theirs t JOIN ours o USING (partner_id)
                     WHERE (%(their_columns)s) IS DISTINCT FROM (%(our_columns)s))
            """,
            theirs=env["retail.segment"]._facts_query(company, today, windows, rfm=rfm),
            ours=floor_facts(company, windows),
            their_columns=SQL(", ").join(SQL("t.%s", SQL.identifier(c)) for c in compared),
            our_columns=SQL(", ").join(SQL("o.%s", SQL.identifier(c)) for c in compared),
        ))
        theirs, ours, differing = cr.fetchone()
        assert theirs == ours and not differing, (
            f"floor and recompute facts differ for {company.name}: {theirs} vs {ours} "
            f"customers, {differing} with other facts")
    return seconds, queries, rows


def measure_write_floor():
    """What writing the first run's memberships costs by itself: the segments' tag rows
    (Odoo's ``res_partner_res_partner_category_rel``, with its two foreign keys and two
    indexes) and the membership rows, inserted from a copy, each in one statement, in the
    order and the way the recompute writes them (``insert_in_bulk``: the keys and indexes
    built again after the insert); undone after."""
    tags = segments.tag_id.ids
    cr.execute(SQL(
        """
        CREATE TEMPORARY TABLE bench_tag_rows AS
        SELECT category_id, partner_id FROM res_partner_res_partner_category_rel
         WHERE category_id = ANY(%(tags)s);
        CREATE TEMPORARY TABLE bench_member_rows AS
        SELECT partner_id, company_id, segment_ids, manual_ids FROM retail_segment_member;
        ANALYZE bench_tag_rows, bench_member_rows;
        SELECT (SELECT COUNT(*) FROM bench_tag_rows), (SELECT COUNT(*) FROM bench_member_rows);
        """,
        tags=tags,
    ))
    tag_rows, member_rows = cr.fetchone()
    cr.execute(SQL(
        """
        SAVEPOINT bench_write_floor;
        DELETE FROM res_partner_res_partner_category_rel WHERE category_id = ANY(%(tags)s);
        DELETE FROM retail_segment_member;
        """,
        tags=tags,
    ))

    def write():
        insert_in_bulk(cr, TAG_TABLE, SQL(
            """
            INSERT INTO res_partner_res_partner_category_rel (category_id, partner_id)
            SELECT category_id, partner_id FROM bench_tag_rows ORDER BY partner_id, category_id
            """
        ), tag_rows)
        insert_in_bulk(cr, "retail_segment_member", SQL(
            """
            INSERT INTO retail_segment_member (partner_id, company_id, segment_ids, manual_ids)
            SELECT * FROM bench_member_rows ORDER BY partner_id
            """
        ), member_rows)

    seconds, _count, _result = timed_call(write)
    cr.execute("ROLLBACK TO SAVEPOINT bench_write_floor; "
               "DROP TABLE bench_tag_rows, bench_member_rows")
    cr.commit()
    return seconds


def memberships():
    """Customers tagged by rule segments, whatever table layout the addon keeps them in."""
    cr.execute(SQL(
        "SELECT COUNT(*) FROM res_partner_res_partner_category_rel WHERE category_id = ANY(%s)",
        segments.tag_id.ids))
    return cr.fetchone()[0]


def recompute():
    # The cron's own code: commits per company, as it does at night.
    env["retail.segment"]._cron_recompute()
    env.cr.commit()


def measure_recompute():
    env.invalidate_all()
    return timed_call(recompute)[:2]


# ----------------------------------------------------------------------------------
# Phone lookup
# ----------------------------------------------------------------------------------

def other_format(phone, rng):
    """The customer's number written another way than stored."""
    national = "0" + re.sub(r"\D", "", phone)[2:] if phone.strip().startswith("+") \
        else re.sub(r"\D", "", phone)
    rest = national[1:]
    formats = [
        national,
        f"{national[:3]} {national[3:6]} {national[6:]}",
        f"{national[:4]} {national[4:7]} {national[7:]}",
        f"{national[:3]}.{national[3:6]}.{national[6:]}",
        f"+84 {rest[:2]} {rest[2:5]} {rest[5:]}",
        f"+84{rest}",
        f"84{rest}",
        f"({national[:3]}) {national[3:6]}-{national[6:]}",
    ]
    return rng.choice([f for f in formats if f != phone])


def measure_phone():
    rng = random.Random(f"crm_retail-bench-phone-{TRIAL}")
    cr.execute("SELECT id, phone FROM res_partner WHERE phone IS NOT NULL "
               "AND customer_rank > 0 ORDER BY id")
    customers = cr.fetchall()
    sample = [(pid, other_format(phone, rng))
              for pid, phone in rng.sample(customers, LOOKUPS + 10)]
    admin = env.ref("base.user_admin")
    Partner = env(user=admin, su=False)["res.partner"]
    results = {}
    for label, lookup in (
        ("name_search", lambda term: [pid for pid, _name in Partner.name_search(term, limit=8)]),
        ("search", lambda term: Partner.search([("phone_mobile_search", "ilike", term)],
                                               limit=8).ids),
    ):
        for _pid, term in sample[:10]:  # warm-up: caches, plans
            lookup(term)
        times, queries = [], []
        for pid, term in sample[10:]:
            env.invalidate_all()
            seconds, count, found = timed_call(lookup, term)
            assert pid in found, f"{label} of {term!r} did not find customer {pid}: {found}"
            times.append(seconds)
            queries.append(count)
        results[label] = {
            "median": statistics.median(times),
            "p95": sorted(times)[int(len(times) * 0.95)],
            "queries": statistics.median(queries),
            "queries_max": max(queries),
            "lookups": len(times),
        }
        log(f"phone {label}: median {results[label]['median'] * 1000:.1f} ms, "
            f"{results[label]['queries']:.0f} queries, over {len(times)} lookups")
    return results


# ----------------------------------------------------------------------------------
# The customer list, and the nightly debt refresh
# ----------------------------------------------------------------------------------

def list_specification(Partner):
    """What the web client asks for the customer list: the list view's fields, with the
    display name of each relation (and the colour of tags)."""
    view = Partner.get_views([(False, "list")])
    arch_fields = set(re.findall(r'<field name="([a-z_0-9]+)"', view["views"]["list"]["arch"]))
    spec = {}
    for name in arch_fields & set(Partner._fields):
        field = Partner._fields[name]
        if field.type == "many2one":
            spec[name] = {"fields": {"display_name": {}}}
        elif field.type in ("one2many", "many2many"):
            comodel = env[field.comodel_name]
            spec[name] = {"fields": {"display_name": {}, **(
                {"color": {}} if "color" in comodel._fields else {})}}
        else:
            spec[name] = {}
    return spec


def measure_customer_list():
    """``web_search_read`` of the Customers list (Odoo's filter ``customer_rank > 0``) as
    the administrator, 80 rows (a page) and 800: the queries must not grow with the rows."""
    admin = env.ref("base.user_admin")
    Partner = env(user=admin, su=False)["res.partner"]
    spec = list_specification(Partner)
    domain = [("customer_rank", ">", 0)]
    Partner.web_search_read(domain, spec, limit=80)  # warm-up
    results = {}
    for rows in (80, 800):
        env.invalidate_all()
        seconds, count, result = timed_call(
            Partner.web_search_read, domain, spec, 0, rows, None, 10_000)
        assert len(result["records"]) == rows, len(result["records"])
        results[str(rows)] = {"seconds": seconds, "queries": count}
        log(f"customer list, {rows} rows: {seconds * 1000:.0f} ms, {count} queries")
    return results


def measure_debt_refresh():
    """The nightly debt refresh (its cron's code), every customer's debt recomputed from the
    journal items and written where it changed."""
    env.invalidate_all()
    seconds, count, _result = timed_call(env["res.partner"]._cron_retail_refresh_debt)
    env.cr.commit()
    log(f"nightly debt refresh: {seconds:.2f} s, {count} queries")
    return {"seconds": seconds, "queries": count}


# ----------------------------------------------------------------------------------

segments = env["retail.segment"].sudo().search([("match", "!=", "manual")])
windows = env["retail.segment"]._facts_windows(segments)
cr.execute("SELECT COUNT(*) FROM res_partner WHERE customer_rank > 0")
customer_count = cr.fetchone()[0]
log(f"{len(segments)} rule segments in {len(segments.company_id)} companies, windows "
    f"{windows} days, {customer_count:,} customers")


# Not timed: the first recompute starts from no membership at all.
cleared = memberships()
segments._clear_members()
cr.commit()
log(f"{cleared:,} memberships there before the first recompute, cleared")
# Warm-up, not timed: the same pages for both.
measure_floor(segments, windows)
floor_seconds, floor_queries, floor_rows = measure_floor(segments, windows)
log(f"floor: {floor_seconds:.2f} s, {floor_queries} query, {floor_rows:,} customer facts")
first_seconds, first_queries = measure_recompute()
members = memberships()
log(f"recompute (all memberships new): {first_seconds:.2f} s, {first_queries} queries, "
    f"{members:,} memberships")
again_seconds, again_queries = measure_recompute()
log(f"recompute (nothing changed): {again_seconds:.2f} s, {again_queries} queries")
# Last of the recompute figures: its rolled-back rows leave dead tuples behind.
write_floor = measure_write_floor()
log(f"write floor (the first run's tag and membership rows inserted alone): "
    f"{write_floor:.2f} s")
phone = measure_phone()
customer_list = measure_customer_list()
debt_refresh = measure_debt_refresh()
print("BENCH_RESULT " + json.dumps({
    "trial": TRIAL,
    "customers": customer_count,
    "segments": len(segments),
    "windows": windows,
    "members": members,
    "floor": floor_seconds,
    "floor_queries": floor_queries,
    "floor_rows": floor_rows,
    "recompute": first_seconds,
    "write_floor": write_floor,
    "recompute_queries": first_queries,
    "recompute_again": again_seconds,
    "recompute_again_queries": again_queries,
    "phone": phone,
    "customer_list": customer_list,
    "debt_refresh": debt_refresh,
}), flush=True)
