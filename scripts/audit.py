"""Audit of the derived facts, run by `make audit` through `odoo shell`.

Every fact that crm_retail derives from the ledgers is recomputed here from the source
tables and compared with the value the ORM reads, in each company for a company-dependent
field. What a sale, a purchase and a receivable item are comes from the addon's named SQL
building blocks (``retail.sql.facts``: ``_sales_documents``, ``_receivable_items``), the
one definition every fact is made of; the aggregation into each figure and the comparison
are this script's own queries (never the addon's refresh or per-customer helpers):

- points    a customer's balance and lifetime points against its points history;
- invoice   a customer invoice or credit note carries exactly its points in the history;
- debt      the debt against the open receivable items of the commercial partner, the
            payment status and the overdue figures consistent with it;
- stats     total sales, purchases and last purchase date against the posted invoices;
- segments  every membership by rule has its segment's tag;
- stage     a customer's funnel stage is the stage of the opportunity that follows it.

Customers waiting in the facts queue (refreshed after a commit or by the cron) are not
checked but counted. Prints each mismatch on a line starting with its kind, then the
counts; exits non-zero if there is any mismatch."""
# ruff: noqa: F821  (``env`` is given by odoo shell)
import sys
from collections import defaultdict

from odoo import fields
from odoo.tools import SQL, float_compare

from odoo.addons.crm_retail.models.retail_fields import SALE_MOVE_TYPES

KINDS = ("points", "invoice", "debt", "stats", "segments", "stage")
BATCH = 5000

env = env(context=dict(env.context, active_test=False))
env.flush_all()
cr = env.cr
Partner = env["res.partner"]
facts = env["retail.sql.facts"]
companies = env["res.company"].search([], order="id")
mismatches = dict.fromkeys(KINDS, 0)


def report(kind, text):
    mismatches[kind] += 1
    print(f"{kind}: {text}")


cr.execute("SELECT id, commercial_partner_id, ref, name FROM res_partner ORDER BY id")
partners = {pid: (commercial_id or pid, ref, name) for pid, commercial_id, ref, name
            in cr.fetchall()}
partner_ids = list(partners)


def label(pid, company_id=None):
    _commercial, ref, name = partners[pid]
    where = f" in company {company_id}" if company_id else ""
    return f"partner {pid} {ref or ''} {name}{where}".replace("  ", " ")


# Customers whose refresh is pending: their facts are stale until it runs.
queued = set()
if "retail.customer.facts.queue" in env:
    queued = {row["partner_id"] for row in env["retail.customer.facts.queue"].search_read(
        [], ["partner_id"], load=None)}
skipped = {pid for pid, (commercial, _ref, _name) in partners.items()
           if pid in queued or commercial in queued}


# ----------------------------------------------------------------------
# What is stored, as the ORM reads it
# ----------------------------------------------------------------------

FACT_FIELDS = [
    "retail_loyalty_points", "retail_loyalty_points_total",
    "retail_debt_amount", "retail_debt_overdue_amount", "retail_debt_overdue_days",
    "retail_debt_status",
    "retail_total_sales", "retail_purchase_count", "retail_last_purchase_date",
    "retail_stage_id",
]
company_dependent = {name for name in FACT_FIELDS if Partner._fields[name].company_dependent}


def read_partners(names, company=None):
    """{partner id: {field: value}} of every partner, read in batches."""
    model = Partner.with_company(company) if company else Partner
    values = {}
    for start in range(0, len(partner_ids), BATCH):
        batch = model.browse(partner_ids[start:start + BATCH])
        for row in batch.read(names, load=None):
            values[row["id"]] = tuple(row[name] for name in names)
        env.invalidate_all()
    return {pid: dict(zip(names, row, strict=True)) for pid, row in values.items()}


shared_names = [name for name in FACT_FIELDS if name not in company_dependent]
company_names = [name for name in FACT_FIELDS if name in company_dependent]
stored_shared = read_partners(shared_names)
stored_by_company = {company.id: read_partners(company_names, company)
                     for company in companies} if company_names else {}


# Where each field is read: None for one value per partner, else each company id.
SCOPES = {name: companies.ids if name in company_dependent else [None] for name in FACT_FIELDS}
ROUNDING = {company.id: company.currency_id.rounding for company in companies}
# Sums over the companies (a field that is not company-dependent) at the finest rounding.
ROUNDING[None] = min(ROUNDING.values())


def stored(pid, name, company_id):
    if name in company_dependent:
        return stored_by_company[company_id][pid][name]
    return stored_shared[pid][name]


def expected(per_company, pid, company_id, combine=sum, default=0):
    """The value recomputed per (partner, company), combined over the companies for a
    field that is not company-dependent."""
    if company_id is not None:
        return per_company.get((pid, company_id), default)
    values = [value for (partner_id, _cid), value in per_company.items() if partner_id == pid]
    return combine(values) if values else default


def by_partner(per_company):
    """Index {(partner, company): value} by partner, for `expected` on shared fields."""
    index = defaultdict(dict)
    for (pid, company_id), value in per_company.items():
        index[pid][(pid, company_id)] = value
    return index


def same_money(a, b, company_id):
    return float_compare(a or 0.0, b or 0.0, precision_rounding=ROUNDING[company_id]) == 0


def check(kind, checks):
    """``checks``: [(field, {(partner, company): expected value}, combine, default, same)];
    one line per partner (and company) with all its differing fields."""
    indexes = [by_partner(per_company) for _name, per_company, *_rest in checks]
    for scope in dict.fromkeys(scope for name, *_rest in checks for scope in SCOPES[name]):
        for pid in partner_ids:
            if pid in skipped:
                continue
            differences = []
            for (name, _per_company, combine, default, same), index in zip(
                    checks, indexes, strict=True):
                if scope not in SCOPES[name]:
                    continue
                want = expected(index.get(pid, {}), pid, scope, combine, default)
                have = stored(pid, name, scope)
                if not same(have, want, scope):
                    differences.append(f"{name} stored {have!r}, expected {want!r}")
            if differences:
                report(kind, f"{label(pid, scope)}: " + "; ".join(differences))


def same_int(a, b, _company_id):
    return (a or 0) == (b or 0)


def same_date(a, b, _company_id):
    return (fields.Date.to_date(a) or None) == (fields.Date.to_date(b) or None)


def same_id(a, b, _company_id):
    return (a or None) == (b or None)


def latest(dates):
    dates = [d for d in dates if d]
    return max(dates) if dates else None


# ----------------------------------------------------------------------
# points: balance and lifetime points against the history, per company
# ----------------------------------------------------------------------

cr.execute("""
    SELECT partner_id, company_id,
           SUM(COALESCE(points_earned, 0) - COALESCE(points_used, 0)),
           SUM(COALESCE(points_earned, 0))
      FROM retail_points_line
     GROUP BY partner_id, company_id
""")
points_balance, points_earned = {}, {}
for pid, company_id, balance, earned in cr.fetchall():
    points_balance[pid, company_id] = balance
    points_earned[pid, company_id] = earned
check("points", [
    ("retail_loyalty_points", points_balance, sum, 0, same_int),
    ("retail_loyalty_points_total", points_earned, sum, 0, same_int),
])
for pid in partner_ids:
    for scope in SCOPES["retail_loyalty_points"]:
        if pid not in skipped and (stored(pid, "retail_loyalty_points", scope) or 0) < 0:
            report("points", f"{label(pid, scope)}: negative balance "
                             f"{stored(pid, 'retail_loyalty_points', scope)}")

# ----------------------------------------------------------------------
# invoice: each customer document carries exactly its points in the history
# ----------------------------------------------------------------------

cr.execute("""
    SELECT move_id, SUM(COALESCE(points_earned, 0))
      FROM retail_points_line
     WHERE line_type IN ('invoice', 'refund') AND move_id IS NOT NULL
     GROUP BY move_id
""")
move_points = dict(cr.fetchall())
Move = env["account.move"]
move_ids = Move.search([("move_type", "in", SALE_MOVE_TYPES)], order="id").ids
posted = kept = 0
for start in range(0, len(move_ids), BATCH):
    for row in Move.browse(move_ids[start:start + BATCH]).read(
            ["retail_points", "state", "name"], load=None):
        carried, history = row["retail_points"] or 0, move_points.get(row["id"], 0)
        posted += row["state"] == "posted"
        # Reset or cancelled documents keep points only where taking them back would
        # have made the balance negative (the customer had spent them): not an error.
        kept += row["state"] != "posted" and carried != 0
        if carried != history:
            report("invoice", f"move {row['id']} {row['name']} ({row['state']}): carries "
                              f"{carried} points, history has {history}")
    env.invalidate_all()

# ----------------------------------------------------------------------
# debt: per company, the open receivable items of the commercial partner
# ----------------------------------------------------------------------

cr.execute(SQL("""
    SELECT item.partner_id, item.company_id, SUM(item.residual)
      FROM (%s) item
     GROUP BY item.partner_id, item.company_id
""", facts._receivable_items()))
receivable = {(pid, company_id): float(residual) for pid, company_id, residual in cr.fetchall()}
check("debt", [("retail_debt_amount", receivable, sum, 0.0, same_money)])
# The status and overdue figures, in each company, agree with the debt stored there.
for scope in SCOPES["retail_debt_amount"]:
    rounding = ROUNDING[scope]
    for pid in partner_ids:
        if pid in skipped:
            continue
        debt = stored(pid, "retail_debt_amount", scope) or 0.0
        overdue = stored(pid, "retail_debt_overdue_amount", scope) or 0.0
        days = stored(pid, "retail_debt_overdue_days", scope) or 0
        status = stored(pid, "retail_debt_status", scope)
        owes = float_compare(debt, 0.0, precision_rounding=rounding) > 0
        is_overdue = float_compare(overdue, 0.0, precision_rounding=rounding) > 0
        problems = []
        if not owes and status not in (False, None, "none"):
            problems.append(f"status {status!r} with a debt of {debt}")
        if owes and status != ("overdue" if is_overdue else "owes"):
            problems.append(f"status {status!r} with a debt of {debt}, overdue {overdue}")
        if float_compare(overdue, 0.0, precision_rounding=rounding) < 0 or float_compare(
                overdue, max(debt, 0.0), precision_rounding=rounding) > 0:
            problems.append(f"overdue {overdue} outside 0..{max(debt, 0.0)}")
        if days < 0 or (days > 0) != is_overdue:
            problems.append(f"{days} days overdue with an overdue amount of {overdue}")
        if problems:
            report("debt", f"{label(pid, scope)}: " + "; ".join(problems))

# ----------------------------------------------------------------------
# stats: the sales of the commercial partner (posted invoices and credit notes)
# ----------------------------------------------------------------------

cr.execute(SQL("""
    SELECT sale.partner_id, sale.company_id, SUM(sale.amount),
           COUNT(*) FILTER (WHERE sale.is_purchase),
           MAX(sale.date) FILTER (WHERE sale.is_purchase)
      FROM (%s) sale
     GROUP BY sale.partner_id, sale.company_id
""", facts._sales_documents()))
sales, purchases, last_purchase = {}, {}, {}
for pid, company_id, total, count, last_date in cr.fetchall():
    sales[pid, company_id] = float(total or 0)
    purchases[pid, company_id] = count
    last_purchase[pid, company_id] = last_date
check("stats", [
    ("retail_total_sales", sales, sum, 0.0, same_money),
    ("retail_purchase_count", purchases, sum, 0, same_int),
    ("retail_last_purchase_date", last_purchase, latest, None, same_date),
])

# ----------------------------------------------------------------------
# segments: each membership by rule has its segment's tag
# ----------------------------------------------------------------------

segments = {row["id"]: row for row in env["retail.segment"].search_read(
    [], ["name", "tag_id", "company_id", "active", "match"], load=None)}
cr.execute("SELECT partner_id, category_id FROM res_partner_res_partner_category_rel")
tags = set(cr.fetchall())
Member = env["retail.segment.member"]
member_ids = Member.search([], order="id").ids
for start in range(0, len(member_ids), BATCH):
    for row in Member.browse(member_ids[start:start + BATCH]).read(
            ["partner_id", "company_id", "segment_ids"], load=None):
        pid, company_id = row["partner_id"], row["company_id"]
        # Rows of deleted customers wait for the next full recompute.
        if pid not in partners or pid in skipped:
            continue
        for segment_id in row["segment_ids"]:
            segment = segments.get(segment_id)
            if not segment or not segment["active"] or segment["match"] == "manual" \
                    or segment["company_id"] != company_id:
                report("segments", f"{label(pid, company_id)}: member of segment "
                                   f"{segment_id}, which has no rule there")
            elif (pid, segment["tag_id"]) not in tags:
                report("segments", f"{label(pid, company_id)}: member of segment "
                                   f"{segment_id} {segment['name']} without its tag "
                                   f"{segment['tag_id']}")
    env.invalidate_all()

# ----------------------------------------------------------------------
# stage: the stage of the opportunity that follows the customer (the most recent won active
# opportunity, else the most recent active one), per company if the stage is
# ----------------------------------------------------------------------

cr.execute("""
    SELECT l.partner_id, l.company_id, l.stage_id
      FROM crm_lead l
      LEFT JOIN crm_stage s ON s.id = l.stage_id
     WHERE l.active AND l.type = 'opportunity' AND l.partner_id IS NOT NULL
     ORDER BY COALESCE(s.is_won, FALSE) DESC, l.create_date DESC, l.id DESC
""")
opportunity_stage = {}
for pid, company_id, stage_id in cr.fetchall():
    # The first row of each partner (and company) is its opportunity.
    opportunity_stage.setdefault((pid, company_id), stage_id)
    opportunity_stage.setdefault((pid, "any"), stage_id)
if "retail_stage_id" in company_dependent:
    stage_expected = {key: value for key, value in opportunity_stage.items() if key[1] != "any"}
else:
    stage_expected = {(pid, None): value for (pid, key), value in opportunity_stage.items()
                      if key == "any"}
check("stage", [("retail_stage_id", stage_expected, lambda values: values[0], None, same_id)])

# ----------------------------------------------------------------------

if skipped:
    print(f"note: {len(skipped)} customers (and contacts) await a refresh of their facts: "
          "not checked")
print(f"note: {len(partner_ids)} partners in {len(companies)} companies, {posted} posted "
      f"customer invoices and credit notes, {kept} unposted documents keeping points "
      "already spent")
total = sum(mismatches.values())
print(f"audit: {total} mismatches ("
      + ", ".join(f"{kind} {mismatches[kind]}" for kind in KINDS) + ")")
sys.exit(1 if total else 0)
