from odoo.tools import SQL


def post_init_hook(env):
    """On a database with history: keep the code sequence past the codes customers
    already have, and give a code to every existing customer without one, in one
    statement; fill every customer's debt from the journal items. Existing companies get
    the redemption product (new ones by default)."""
    env["res.company"].search([("retail_points_product_id", "=", False)]).write(
        {"retail_points_product_id": env.ref("crm_retail.product_points_redemption").id})
    Partner = env["res.partner"]
    sequence = Partner._retail_code_sequence()
    prefix, suffix = sequence._get_prefix_suffix()
    env.cr.execute(SQL(
        "SELECT ref FROM res_partner WHERE ref LIKE %s", f"{prefix}%{suffix}"
    ))
    Partner._retail_keep_sequence_ahead([ref for (ref,) in env.cr.fetchall()])
    env.cr.execute(SQL(
        """
        WITH customers AS (
            SELECT partner.id, nextval(%(sequence)s)::text AS number
              FROM res_partner partner
             WHERE partner.ref IS NULL
               AND partner.parent_id IS NULL
               AND partner.customer_rank > 0
               AND NOT EXISTS (SELECT 1 FROM res_users u WHERE u.partner_id = partner.id)
               AND NOT EXISTS (SELECT 1 FROM res_company c WHERE c.partner_id = partner.id)
             ORDER BY partner.id
        )
        UPDATE res_partner
           -- lpad would cut a number longer than the padding: pad, never truncate.
           SET ref = %(prefix)s
                     || CASE WHEN length(customers.number) >= %(padding)s THEN customers.number
                             ELSE lpad(customers.number, %(padding)s, '0') END
                     || %(suffix)s
          FROM customers
         WHERE res_partner.id = customers.id
        """,
        prefix=prefix,
        suffix=suffix,
        padding=sequence.padding,
        sequence=f"ir_sequence_{sequence.id:03d}",
    ))
    Partner.invalidate_model(["ref"])
    Partner._retail_debt_refresh()
