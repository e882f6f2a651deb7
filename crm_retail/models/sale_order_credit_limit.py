"""Confirming an order enforces the customer's credit limit."""

from odoo import models

from .res_partner_debt import DebtLimitCheck


class SaleOrder(models.Model):
    _inherit = "sale.order"

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_confirm(self):
        self.env["res.partner"]._retail_enforce_credit_limit([
            DebtLimitCheck(
                document=order, company=order.company_id,
                partner=order.partner_id.commercial_partner_id,
                amount=order.amount_total / (order.currency_rate or 1.0), counted=0.0)
            for order in self.filtered(
                lambda order: order.state in ("draft", "sent")
                and order.company_id._retail_blocks_over_credit_limit())])
        return super().action_confirm()
