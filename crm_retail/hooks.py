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
    # Opportunities that existed before the addon: their customers' funnel stage.
    env.cr.execute("SELECT DISTINCT partner_id FROM crm_lead WHERE partner_id IS NOT NULL")
    Partner._retail_stage_refresh(Partner.browse(
        [row[0] for row in env.cr.fetchall()]).commercial_partner_id.ids)
    # Tiers: every existing customer gets the one its history reaches (Member at least)
    # now, not at the first nightly run.
    Partner._retail_update_all_tiers()

    # Segments: existing customers get theirs now rather than at the first nightly run;
    # after the facts above, which the rules read (a rule that fails is skipped).
    env["retail.segment"].search([("match", "!=", "manual")])._recompute()


def uninstall_hook(env):
    """Leave what the uninstall cannot delete in a state Odoo can live with: opportunities off the
    funnel's own stages and Odoo's stages under their names again (see
    crm.stage._retail_release_stages); the redemption product, when documents still use
    it, archived and kept (an invoice line cannot lose its product)."""
    env["crm.stage"]._retail_release_stages()
    product = env.ref("crm_retail.product_points_redemption", raise_if_not_found=False)
    if product and _retail_is_referenced(env, product, product.product_tmpl_id):
        product.product_tmpl_id.action_archive()
        # without its xmlids, the uninstall leaves it alone
        env["ir.model.data"].search([
            ("module", "=", "crm_retail"),
            "|", "&", ("model", "=", "product.product"), ("res_id", "=", product.id),
            "&", ("model", "=", "product.template"), ("res_id", "=", product.product_tmpl_id.id),
        ]).unlink()


def _retail_is_referenced(env, *recordsets):
    """Whether any row points at these records through a foreign key that forbids deleting
    them (ondelete restrict), whichever module owns it."""
    env.flush_all()
    for records in recordsets:
        env.cr.execute(SQL(
            """
            SELECT rel.relname, att.attname
              FROM pg_constraint con
              JOIN pg_class rel ON rel.oid = con.conrelid
              JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1]
             WHERE con.contype = 'f' AND con.confrelid = %s::regclass
               AND con.confdeltype IN ('r', 'a')
            """,
            records._table,
        ))
        for table, column in env.cr.fetchall():
            env.cr.execute(SQL(
                "SELECT 1 FROM %s WHERE %s IN %s LIMIT 1",
                SQL.identifier(table), SQL.identifier(column), tuple(records.ids),
            ))
            if env.cr.rowcount:
                return True
    return False
