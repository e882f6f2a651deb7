from odoo import models
from odoo.tools import SQL


class BasePartnerMergeAutomaticWizard(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _update_values(self, src_partners, dst_partner):
        """Keep the destination's customer code (or the first source's) and note the
        codes of the merged customers, so that a printed code still leads somewhere."""
        merged_codes = [p.ref for p in src_partners if p.ref and p.ref != dst_partner.ref]
        # Source partners are deleted after the merge; clearing their codes first lets
        # the destination take one without tripping the uniqueness check.
        src_partners.sudo().write({"ref": False})
        # The points balance is set from the merged history in _merge, not copied here.
        result = super()._update_values(src_partners, dst_partner.sudo())
        if merged_codes and not dst_partner.ref:
            dst_partner.ref = merged_codes.pop(0)
        if merged_codes:
            dst_partner.message_post(body=self.env._(
                "Merged customer codes: %(codes)s", codes=", ".join(merged_codes)
            ))
        return result

    def _merge(self, partner_ids, dst_partner=None, extra_checks=True):
        result = super()._merge(partner_ids, dst_partner=dst_partner, extra_checks=extra_checks)
        # The merge moved invoices by SQL: recompute the destination's statistics.
        partners = self.env["res.partner"].browse(partner_ids).exists()
        self.env["account.move"].invalidate_model(["partner_id", "commercial_partner_id"])
        partners.invalidate_recordset(["retail_invoice_ids"])
        for fname in ("retail_total_sales", "retail_purchase_count", "retail_last_purchase_date"):
            self.env.add_to_compute(partners._fields[fname], partners)
        # The merged customers' points history now belongs to the destination.
        self.env["retail.points.line"].flush_model()
        self.env.cr.execute(SQL(
            """
            SELECT COALESCE(SUM(COALESCE(points_earned, 0) - COALESCE(points_used, 0)), 0),
                   COALESCE(SUM(points_earned), 0)
              FROM retail_points_line WHERE partner_id = %s
            """,
            partners.id,
        ))
        balance, total = self.env.cr.fetchone()
        partners.sudo().write(
            {"loyalty_points": balance, "loyalty_points_total": total})
        partners._retail_update_tiers()
        return result
