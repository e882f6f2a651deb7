from odoo import Command, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount


class RetailPointsRedeemMixin(models.AbstractModel):
    """Paying part of a draft invoice or a quotation with points: a discount line worth
    the points, and a redemption line in the history, both or neither."""

    _name = "retail.points.redeem.mixin"
    _description = "Pay with Loyalty Points"
    # The redemption wizard's field for documents of this model.
    _retail_redeem_wizard_field = None

    def _retail_can_redeem(self):
        raise NotImplementedError

    def _retail_discount_line_command(self, values):
        raise NotImplementedError

    def _retail_check_customer_change(self, vals):
        # The points paid belong to the customer: they cannot follow another one.
        if "partner_id" in vals and any(self.mapped("retail_points_redeemed")):
            raise UserError(self.env._(
                "Remove the points discount before changing the customer."))

    def retail_redeem_points(self, points):
        """Redeem ``points`` of the customer's balance on this document (public: callable
        over the external API)."""
        if len(self) != 1:
            raise UserError(self.env._("Redeem points on one document at a time."))
        self.env["res.partner"]._retail_check_points_number(points, positive=True)
        # Nothing of a document the user may not change is read, nor told in an error.
        self.check_access("write")
        partner = self.partner_id.commercial_partner_id
        company = self.company_id
        if not self._retail_can_redeem():
            raise UserError(self.env._(
                "Points can only be redeemed on a draft customer invoice or a quotation."))
        if partner.company_id and partner.company_id != company:
            raise UserError(self.env._(
                "%(customer)s is a customer of %(company)s: their points cannot pay "
                "a document of %(document_company)s.",
                customer=partner.display_name, company=partner.company_id.name,
                document_company=company.name))
        product = company.retail_points_product_id
        if not product or not company.retail_point_value:
            raise UserError(self.env._(
                "Set the value of a point and the redemption product in the settings."))
        # The point value is in company currency; the document may be in another one.
        amount = company.currency_id._convert(
            points * company.retail_point_value, self.currency_id, company,
            fields.Date.context_today(self))
        if self.currency_id.compare_amounts(amount, self.amount_total) > 0:
            raise UserError(self.env._(
                "%(points)s points are worth %(amount)s, more than the %(due)s due.",
                points=points, amount=format_amount(self.env, amount, self.currency_id),
                due=format_amount(self.env, self.amount_total, self.currency_id)))
        # Points are spent in the company that gave them.
        balance = partner.sudo().with_company(company).retail_loyalty_points
        if points > balance:
            raise UserError(self.env._(
                "%(customer)s has %(balance)s points; %(points)s cannot be used.",
                customer=partner.display_name, balance=balance, points=points))
        # Only this method writes points on a line (the lines refuse it otherwise).
        self.sudo().write(self._retail_discount_line_command({
            "product_id": product.id,
            "name": self.env._("Paid with %(points)s loyalty points", points=points),
            "price_unit": -amount,
            "tax_ids": [Command.clear()],
            "retail_points_redeemed": points,
        }))
        # The balance check that counts is this one, under the customer's row lock.
        self._retail_sync_points()
        return True

    def action_retail_redeem_points(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_retail.action_retail_points_redeem")
        # The wizard proposes the most that may be used: one more click redeems it.
        action["context"] = {
            f"default_{self._retail_redeem_wizard_field}": self.id,
            "default_points": self.retail_redeemable_points,
        }
        return action
