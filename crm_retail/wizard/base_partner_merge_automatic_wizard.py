from odoo import models


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
        # As superuser on both sides: the destination is written as such (derived facts
        # are refused to users), so every field is copied, and the sources must then be
        # read as such too (a user cannot read debt, points or signup fields of others).
        result = super()._update_values(src_partners.sudo(), dst_partner.sudo())
        if merged_codes and not dst_partner.ref:
            dst_partner.ref = merged_codes.pop(0)
        if merged_codes:
            dst_partner.message_post(body=self.env._(
                "Merged customer codes: %(codes)s", codes=", ".join(merged_codes)
            ))
        return result

    def _merge(self, partner_ids, dst_partner=None, extra_checks=True):
        result = super()._merge(partner_ids, dst_partner=dst_partner, extra_checks=extra_checks)
        # The merge moved invoices, journal items and points history by SQL: the
        # destination's statistics, points, tier, debt and segments follow them.
        partners = self.env["res.partner"].browse(partner_ids).exists()
        self.env["account.move"].invalidate_model(["partner_id", "commercial_partner_id"])
        self.env["account.move.line"].invalidate_model(["partner_id"])
        self.env["retail.points.line"].invalidate_model(["partner_id"])
        partners.invalidate_recordset(["retail_invoice_ids"])
        self.env["retail.customer.facts"].sudo()._refresh(partners.ids)
        return result
