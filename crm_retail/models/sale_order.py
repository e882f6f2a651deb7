"""Points on quotations and orders: paid with (redemption), given back on cancel or
deletion, never copied."""

from odoo import Command, api, fields, models

from .account_move import _without_points_lines


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = [
        "sale.order", "retail.points.redeem.mixin", "retail.document.customer.mixin"]
    _retail_redeem_wizard_field = "sale_order_id"

    retail_points_redeemed = fields.Integer(
        string="Points Redeemed", compute="_compute_retail_points_redeemed",
    )

    @api.depends("order_line.retail_points_redeemed")
    def _compute_retail_points_redeemed(self):
        for order in self:
            order.retail_points_redeemed = sum(order.order_line.mapped("retail_points_redeemed"))

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    def write(self, vals):
        self._retail_check_customer_change(vals)
        result = super().write(vals)
        if "state" in vals:
            self._retail_sync_points()
        return result

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        for order, vals in zip(self, vals_list, strict=True):
            vals["order_line"] = _without_points_lines(
                vals.get("order_line", []), order.company_id.retail_points_product_id)
        return vals_list

    @api.ondelete(at_uninstall=False)
    def _retail_unlink_return_points(self):
        # Order lines go with the order by cascade, not through their unlink.
        self._retail_sync_points(unlinking=True)

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _get_update_prices_lines(self):
        # "Update prices" must not reprice a line paid with points.
        return super()._get_update_prices_lines().filtered(
            lambda line: not line.retail_points_redeemed)

    def _retail_sync_points(self, unlinking=False):
        """Points paid on an order come back when it is cancelled or deleted (unless an
        invoice of it is posted: the discount is then on that invoice), and are taken
        again if it is set back to quotation."""
        Line = self.env["retail.points.line"]
        orders = self
        groups = Line.sudo()._read_group(
            [("sale_order_id", "in", orders.ids), ("line_type", "=", "redemption")],
            groupby=["sale_order_id"], aggregates=["points_used:sum"],
        )
        used = {order.id: points for order, points in groups}
        vals_list = []
        for order in orders:
            invoiced = order.invoice_ids.filtered(lambda move: move.state == "posted")
            gone = unlinking or (order.state == "cancel" and not invoiced)
            redeemed = 0 if gone else order.retail_points_redeemed
            change = redeemed - used.get(order.id, 0)
            if change:
                vals_list.append({
                    "partner_id": order.partner_id.commercial_partner_id.id,
                    "company_id": order.company_id.id,
                    "sale_order_id": order.id,
                    "line_type": "redemption",
                    "points_used": change,
                    "earned_on": fields.Date.context_today(self),
                    "user_id": self.env.user.id,
                    "description": self.env._(
                        "Points paid on %(document)s", document=order.name)
                    if change > 0 else self.env._(
                        "Points returned: %(document)s cancelled", document=order.name),
                })
        Line._record(vals_list)

    def _retail_can_redeem(self):
        return self.state in ("draft", "sent")

    def _retail_discount_line_command(self, values):
        return {"order_line": [Command.create({**values, "product_uom_qty": 1})]}
