"""Debt and purchase statistics follow the posted documents; posting an invoice
enforces the customer's credit limit."""

from odoo import models

from .res_partner_debt import DebtLimitCheck
from .retail_fields import SALE_MOVE_TYPES


class AccountMove(models.Model):
    _inherit = "account.move"

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    def write(self, vals):
        # Posting, resetting and cancelling add or remove open items.
        was_open = self.line_ids._retail_receivable_partner_ids() if "state" in vals else []
        result = super().write(vals)
        if "state" in vals:
            # Sales statistics and debt follow posted documents.
            self.env["retail.customer.facts"]._mark(
                was_open + self.line_ids._retail_receivable_partner_ids()
                + self.filtered(lambda move: move.move_type in SALE_MOVE_TYPES)
                .commercial_partner_id.ids)
        return result

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def _post(self, soft=True):
        invoices = self.filtered(
            lambda move: move.move_type == "out_invoice" and move.state == "draft"
            and move.commercial_partner_id and move.company_id._retail_blocks_over_credit_limit())
        self.env["res.partner"]._retail_enforce_credit_limit([
            DebtLimitCheck(
                document=move, company=move.company_id, partner=move.commercial_partner_id,
                amount=move.amount_total_signed,
                counted=move._get_partner_credit_warning_exclude_amount())
            for move in invoices])
        return super()._post(soft=soft)
