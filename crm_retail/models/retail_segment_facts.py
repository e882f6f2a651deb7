"""Customer segments: the facts the rules read, one row per customer of a company (age,
province, sales, purchases, debt, points, tier, RFM type), as one SQL query.

One aggregate, the company's sales per customer (the ``_customer_sales`` building block
of ``retail.sql.facts``: what a sale and a purchase are is defined there), joined to the
customers, plus the RFM scores when a rule asks for them."""

from odoo.tools import SQL


def flush_for_facts(env):
    """Flush what the facts query reads."""
    env["retail.sql.facts"]._sales_flush()
    env["res.partner"].flush_model([
        "active", "commercial_partner_id", "company_id", "customer_rank", "retail_birthday",
        "retail_gender", "state_id", "retail_debt_amount", "retail_debt_status",
        "retail_loyalty_points",
        "retail_loyalty_tier_id", "category_id"])
    env["sale.order"].flush_model(["partner_id", "company_id"])
    env["crm.lead"].flush_model(["partner_id", "company_id", "active", "type"])


def customer_condition(company):
    """Whether the contact ``p`` (with its sales ``s``) is a customer of ``company``, as
    Odoo counts them: marked customer (``customer_rank``: created as one, or invoiced), or
    with a posted invoice or credit note, a quotation or order, or an opportunity in the
    company. A prospect with a quotation or an opportunity is a customer who has not bought yet; a
    contact that is only a contact (a vendor, a user) is not. The documents are looked up
    only for the contacts not marked customer, through indexes."""
    return SQL(
        """(p.customer_rank > 0 OR s.partner_id IS NOT NULL
            OR EXISTS (SELECT 1 FROM res_partner c JOIN sale_order so ON so.partner_id = c.id
                        WHERE c.commercial_partner_id = p.id
                          AND so.company_id = %(company)s)
            OR EXISTS (SELECT 1 FROM res_partner c JOIN crm_lead lead ON lead.partner_id = c.id
                        WHERE c.commercial_partner_id = p.id
                          AND lead.active AND lead.type = 'opportunity'
                          AND (lead.company_id IS NULL OR lead.company_id = %(company)s)))""",
        company=company.id,
    )


def facts_query(company, today, windows=(), rfm=False, partner_ids=None):
    """SELECT one row per customer of ``company`` (optionally only ``partner_ids``,
    commercial partners) with what the rules read.

    Customers are the commercial contacts of the company or shared between companies
    that are customers (:func:`customer_condition`). Sales and purchases are those of the
    ``_customer_sales`` building block in the company (posted invoices less credit notes
    in company currency; a purchase is a posted invoice not fully reversed by a credit
    note). ``windows`` adds ``sales_<N>d`` and ``purchases_<N>d`` over the last N days,
    today included.

    With ``rfm``, ``rfm_type`` is the customer type from the R, F and M scores (1 to 5)
    of the customers who bought: each is the quintile of the customer's mid-rank among
    the ``n`` buyers, ``1 + floor(5 * (below + ties / 2) / n)``, where ``below`` counts
    the buyers with a worse value and ``ties`` those with the same value (the customer
    included). Tied customers get the same score; alone, or all tied, a buyer scores 3.
    R ranks the last purchase date, F the number of purchases, M the net sales."""
    # The partner and company filters go into the block, onto the documents (through
    # indexes), not onto its per-customer rows.
    sales = company.env["retail.sql.facts"]._customer_sales(
        partner_ids, [company.id], today, windows)
    partner_filter = SQL("AND p.id = ANY(%s)", partner_ids) if partner_ids is not None \
        else SQL()
    company_key = str(company.id)
    facts = SQL(
        """
        WITH sales AS (%(sales)s)
        SELECT p.id AS partner_id, p.retail_birthday AS birthday, p.retail_gender AS gender,
               p.state_id,
               COALESCE((p.retail_loyalty_points ->> %(company_key)s)::int, 0) AS points,
               (p.retail_loyalty_tier_id ->> %(company_key)s)::int AS tier_id,
               COALESCE((p.retail_debt_amount ->> %(company_key)s)::numeric, 0) AS debt,
               COALESCE(p.retail_debt_status ->> %(company_key)s, 'none') AS debt_status,
               COALESCE(s.total, 0) AS sales, COALESCE(s.purchases, 0) AS purchases,
               s.last_date AS last_purchase %(window_values)s
          FROM res_partner p
          LEFT JOIN sales s ON s.partner_id = p.id
         WHERE p.active AND p.id = p.commercial_partner_id
           AND (p.company_id IS NULL OR p.company_id = %(company)s)
           AND %(customer)s %(partner_filter)s
        """,
        sales=sales,
        customer=customer_condition(company),
        company=company.id,
        company_key=company_key,
        partner_filter=partner_filter,
        window_values=SQL("").join(
            SQL(", COALESCE(s.%s, 0) AS %s", SQL.identifier(name), SQL.identifier(name))
            for days in windows for name in (f"sales_{days}d", f"purchases_{days}d")),
    )
    if not rfm:
        return facts
    return SQL(
        """
        WITH base AS MATERIALIZED (%(facts)s),
             r AS (%(r)s), f AS (%(f)s), m AS (%(m)s)
        SELECT base.*, r.score AS r_score, f.score AS f_score, m.score AS m_score,
               CASE WHEN base.purchases = 0 THEN NULL
                    WHEN r.score >= 3 AND f.score + m.score >= 8 THEN 'loyal'
                    WHEN r.score >= 3 THEN 'high_potential'
                    WHEN f.score + m.score >= 6 THEN 'at_risk'
                    ELSE 'low_value' END AS rfm_type
          FROM base
          LEFT JOIN r ON base.purchases > 0 AND r.value = base.last_purchase
          LEFT JOIN f ON base.purchases > 0 AND f.value = base.purchases
          LEFT JOIN m ON base.purchases > 0 AND m.value = base.sales
        """,
        facts=facts, r=_scores("last_purchase"), f=_scores("purchases"), m=_scores("sales"),
    )


def _scores(column):
    """The RFM score (1 to 5) of each distinct value of ``column`` among the buyers of
    ``base``: per value, its ties and, cumulated, the buyers at or below it; a few hundred
    rows to sort, not one per customer."""
    return SQL(
        """
        SELECT value,
               1 + 5 * (2 * (SUM(ties) OVER (ORDER BY value ROWS UNBOUNDED PRECEDING))
                            ::bigint - ties)
                   / (2 * (SUM(ties) OVER ())::bigint) AS score
          FROM (SELECT %s AS value, COUNT(*) AS ties FROM base
                 WHERE purchases > 0 GROUP BY 1) per_value
        """,
        SQL.identifier(column),
    )
