"""Points audit, run by `make audit` through `odoo shell`: every customer's stored
balance equals the sum of its history, and every customer invoice or credit note has
exactly its points in the history (posted: what it carries; not posted: nothing).
Prints the mismatches and their count; exits non-zero if there is any."""
# ruff: noqa: F821  (``env`` is given by odoo shell)
import sys

env.flush_all()
cr = env.cr

cr.execute("""
    SELECT p.id, p.ref, p.name, COALESCE(p.loyalty_points, 0),
           COALESCE(p.loyalty_points_total, 0),
           COALESCE(h.balance, 0), COALESCE(h.earned, 0)
      FROM res_partner p
      LEFT JOIN (SELECT partner_id, SUM(COALESCE(points_earned, 0) - COALESCE(points_used, 0))
                        AS balance, SUM(COALESCE(points_earned, 0)) AS earned
                   FROM retail_points_line GROUP BY partner_id) h ON h.partner_id = p.id
     WHERE COALESCE(p.loyalty_points, 0) != COALESCE(h.balance, 0)
        OR COALESCE(p.loyalty_points_total, 0) != COALESCE(h.earned, 0)
        OR COALESCE(p.loyalty_points, 0) < 0
""")
balance_mismatches = cr.fetchall()
for pid, ref, name, stored, total, balance, earned in balance_mismatches:
    print(f"balance  partner {pid} {ref or ''} {name}: stored {stored} / lifetime {total}, "
          f"history {balance} / {earned}")

cr.execute("""
    SELECT m.id, m.name, m.state, COALESCE(m.retail_points, 0), COALESCE(h.earned, 0)
      FROM account_move m
      JOIN res_company c ON c.id = m.company_id
      LEFT JOIN (SELECT move_id, SUM(points_earned) AS earned
                   FROM retail_points_line
                  WHERE line_type IN ('invoice', 'refund') AND move_id IS NOT NULL
                  GROUP BY move_id) h ON h.move_id = m.id
     WHERE m.move_type IN ('out_invoice', 'out_refund')
       AND COALESCE(m.retail_points, 0) != COALESCE(h.earned, 0)
""")
move_mismatches = cr.fetchall()
for mid, name, state, carried, earned in move_mismatches:
    print(f"invoice  {mid} {name} ({state}): carries {carried} points, history has {earned}")

# Reset or cancelled documents keep points only where taking them back would have
# made the balance negative (the customer had spent them): reported, not an error.
cr.execute("""
    SELECT COUNT(*) FROM account_move
     WHERE move_type IN ('out_invoice', 'out_refund') AND state != 'posted'
       AND COALESCE(retail_points, 0) != 0
""")
kept = cr.fetchone()[0]
cr.execute("SELECT COUNT(*) FROM res_partner WHERE COALESCE(loyalty_points, 0) != 0")
customers_with_points = cr.fetchone()[0]
cr.execute("SELECT COUNT(*) FROM account_move WHERE move_type IN ('out_invoice', 'out_refund')"
           " AND state = 'posted'")
posted = cr.fetchone()[0]
mismatches = len(balance_mismatches) + len(move_mismatches)
print(f"audit: {customers_with_points} customers with points, {posted} posted customer "
      f"invoices and credit notes checked, {kept} unposted documents keeping points already "
      f"spent; {mismatches} mismatches")
sys.exit(1 if mismatches else 0)
