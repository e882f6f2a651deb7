"""Points on invoices and credit notes: earned on posting, paid with (redemption),
given back on reset, cancel or deletion."""

import math
from collections import defaultdict

from odoo import Command, api, fields, models
from odoo.tools import SQL

from .retail_fields import SALE_MOVE_TYPES, check_derived_fields

# Facts only the points engine writes, as superuser.
DERIVED_FIELDS = {"retail_points": "invoice_points"}


def _without_points_lines(commands, points_product):
    """Line commands of a copied document, less its points discount: a copy is not paid
    with points."""
    return [command for command in commands
            if not (command[0] == Command.CREATE and points_product
                    and command[2].get("product_id") == points_product.id
                    and command[2].get("price_unit", 0) < 0)]


class AccountMove(models.Model):
    _name = "account.move"
    _inherit = [
        "account.move", "retail.points.redeem.mixin", "retail.document.customer.mixin"]
    _retail_redeem_wizard_field = "move_id"

    retail_points = fields.Integer(
        string="Points", readonly=True, copy=False,
        help="Points this document added to (or took from) the customer's balance.",
    )
    retail_points_redeemed = fields.Integer(
        string="Points Redeemed", compute="_compute_retail_points_redeemed",
    )

    @api.depends("invoice_line_ids.retail_points_redeemed")
    def _compute_retail_points_redeemed(self):
        for move in self:
            move.retail_points_redeemed = sum(
                move.invoice_line_ids.mapped("retail_points_redeemed"))

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            check_derived_fields(self, vals, DERIVED_FIELDS)
        return super().create(vals_list)

    def write(self, vals):
        check_derived_fields(self, vals, DERIVED_FIELDS)
        self._retail_check_customer_change(vals)
        result = super().write(vals)
        if "state" in vals:
            self._retail_sync_points()
        return result

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        if not (default or {}).get("reversed_entry_id"):
            for move, vals in zip(self, vals_list, strict=True):
                vals["line_ids"] = _without_points_lines(
                    vals.get("line_ids", []), move.company_id.retail_points_product_id)
        return vals_list

    def unlink(self):
        # A draft invoice deleted with a redemption on it gives the points back.
        self._retail_sync_points(unlinking=True)
        return super().unlink()

    # ------------------------------------------------------------------
    # Points: the history always holds, per document, exactly its points
    # ------------------------------------------------------------------

    def _retail_points_moves(self):
        return self.filtered(
            lambda move: move.move_type in SALE_MOVE_TYPES
            and move.commercial_partner_id
            and move.commercial_partner_id not in move.company_id.partner_id
        )

    def _retail_expected_points(self, earned_by_move, multipliers):
        """Points each posted document should carry (invoices earn, credit notes take
        back their share of the invoice they refund); 0 for the others. ``multipliers``:
        {move id: its customer's tier multiplier} (:meth:`_retail_points_history`)."""
        expected = {}
        for move in self:
            company = move.company_id
            # Empty (a company created without crm_retail loaded) means the default, total.
            base = (move.amount_total_signed if company.retail_points_base != "untaxed"
                    else move.amount_untaxed_signed)
            paid_with_points = any(move.invoice_line_ids.mapped("retail_points_redeemed")) or (
                company.retail_points_product_id
                and company.retail_points_product_id in move.invoice_line_ids.product_id
            )
            if move.state != "posted" or paid_with_points:
                expected[move.id] = 0
                continue
            if not company.retail_points_amount:
                # Points switched off: nothing new is earned, nothing earned is lost.
                expected[move.id] = earned_by_move[move.id][0]
                continue
            multiplier = multipliers.get(move.id) or 1.0
            if move.move_type == "out_invoice":
                if base < company.retail_points_min_amount:
                    expected[move.id] = 0
                else:
                    # Rounded down, with a margin for float noise (9,999.9999 is 10,000).
                    expected[move.id] = math.floor(
                        base / company.retail_points_amount * multiplier + 1e-6)
            else:
                origin = move.reversed_entry_id
                origin_base = origin and (
                    origin.amount_total_signed if company.retail_points_base != "untaxed"
                    else origin.amount_untaxed_signed)
                if origin and origin_base:
                    # In proportion to the points the refunded invoice earned.
                    origin_points = earned_by_move[origin.id][0]
                    expected[move.id] = -min(
                        origin_points, math.floor(origin_points * -base / origin_base + 1e-6))
                else:
                    expected[move.id] = -math.floor(
                        -base / company.retail_points_amount * multiplier + 1e-6)
        return expected

    def _retail_points_history(self):
        """``(net, multipliers)`` of these documents, in one query whoever posts (an
        accountant may not read tiers): ``net`` {move id: (points earned, points used)} in
        the points history, ``multipliers`` {move id: the points multiplier of its
        customer's tier in its company}. Read through the ORM, the company-dependent tier
        would fetch every company-dependent field of the customer."""
        self.flush_recordset(["commercial_partner_id", "company_id"])
        self.env["retail.points.line"].flush_model(["move_id", "points_earned", "points_used"])
        self.env["res.partner"].flush_model(["retail_loyalty_tier_id"])
        self.env["retail.tier"].flush_model(["points_multiplier"])
        self.env.cr.execute(SQL(
            """
            SELECT move.id, COALESCE(history.earned, 0), COALESCE(history.used, 0),
                   tier.points_multiplier
              FROM account_move move
              LEFT JOIN (SELECT move_id, SUM(points_earned) AS earned,
                                SUM(points_used) AS used
                           FROM retail_points_line WHERE move_id = ANY(%(ids)s)
                          GROUP BY move_id) history ON history.move_id = move.id
              LEFT JOIN res_partner partner ON partner.id = move.commercial_partner_id
              LEFT JOIN retail_tier tier
                ON tier.id = (partner.retail_loyalty_tier_id ->> move.company_id::text)::int
             WHERE move.id = ANY(%(ids)s)
            """,
            ids=self.ids,
        ))
        net, multipliers = defaultdict(lambda: (0, 0)), {}
        for move_id, earned, used, multiplier in self.env.cr.fetchall():
            net[move_id] = (earned, used)
            if multiplier is not None:
                multipliers[move_id] = multiplier
        return net, multipliers

    def _retail_sync_points(self, unlinking=False):
        """Bring the points history in line with these documents' state, set-based:
        one read of the history, one locked write for all the customers concerned.
        Idempotent: posting, resetting and posting again never counts twice."""
        moves = self._retail_points_moves()
        if not moves:
            return
        Line = self.env["retail.points.line"]
        # Earning lines and redemption lines of a document never mix: the first sum
        # is what it earned, the second what was paid with points on it.
        net, multipliers = (moves + moves.reversed_entry_id)._retail_points_history()
        expected = {} if unlinking else moves._retail_expected_points(net, multipliers)
        vals_list = []
        for move in moves:
            partner = move.commercial_partner_id
            common = {
                "partner_id": partner.id,
                "company_id": move.company_id.id,
                "move_id": move.id,
                "earned_on": (move.reversed_entry_id.invoice_date or move.invoice_date
                              or fields.Date.context_today(self)),
                "user_id": self.env.user.id,
            }
            earn_change = expected.get(move.id, 0) - net[move.id][0]
            if earn_change:
                vals_list.append({
                    **common,
                    "line_type": "invoice" if move.move_type == "out_invoice" else "refund",
                    "points_earned": earn_change,
                    "description": self._retail_points_description(move, earn_change),
                })
            # Points paid on a document come back when it is cancelled or deleted.
            redeemed = 0 if unlinking or move.state == "cancel" else move.retail_points_redeemed
            refund_share = move._retail_refunded_points(net)
            use_change = redeemed - refund_share - net[move.id][1]
            if use_change:
                # Points are paid on a draft, which has no number yet: its display name
                # ("Draft Invoice") would stay in the history for good.
                number = move.name if move.name and move.name != "/" else False
                if use_change > 0 and number:
                    description = self.env._("Points paid on %(document)s", document=number)
                elif use_change > 0:
                    description = self.env._("Points paid on a new invoice")
                elif refund_share:
                    description = self.env._("Points returned by credit note %(document)s",
                                             document=move.display_name)
                elif number:
                    description = self.env._("Points returned: %(document)s cancelled",
                                             document=number)
                else:
                    description = self.env._(
                        "Points returned: new invoice cancelled or deleted")
                vals_list.append({
                    **common,
                    "line_type": "redemption",
                    "points_used": use_change,
                    "description": description,
                })
        # Taking back points already spent stops at zero; paying with points never does.
        lines = Line._record([v for v in vals_list if v.get("points_earned")], clamp=True,
                             from_documents=True)
        lines |= Line._record([v for v in vals_list if v.get("points_used")])
        if not unlinking:
            actual = defaultdict(int)
            for line in lines.filtered("points_earned"):
                actual[line.move_id.id] += line.points_earned
            points = {move.id: net[move.id][0] + actual[move.id]
                      for move in moves.filtered(lambda m: m.id in actual)}
            if points:
                # One statement whatever the batch: a write per points figure would be
                # one per invoice, each running the invoice's write (balance check...).
                self.env.cr.execute(SQL(
                    """UPDATE account_move m SET retail_points = v.points
                         FROM unnest(%s::int[], %s::int[]) AS v(id, points)
                        WHERE m.id = v.id""",
                    list(points), list(points.values())))
                moves.browse(points).invalidate_recordset(["retail_points"])

    def _retail_refunded_points(self, net):
        """Points a posted credit note gives back of those that paid the invoice it
        refunds, in proportion to the amount refunded."""
        origin = self.reversed_entry_id
        origin_used = net[origin.id][1] if origin else 0
        if self.move_type != "out_refund" or self.state != "posted" or origin_used <= 0 \
                or not origin.amount_total:
            return 0
        return min(origin_used,
                   math.floor(origin_used * self.amount_total / origin.amount_total + 1e-6))

    def _retail_points_description(self, move, change):
        if move.move_type == "out_refund":
            return self.env._("Credit note %(document)s", document=move.display_name)
        if change > 0:
            return self.env._("Invoice %(document)s", document=move.display_name)
        return self.env._("Invoice %(document)s reset or cancelled", document=move.display_name)

    def _retail_can_redeem(self):
        return self.state == "draft" and self.move_type == "out_invoice"

    def _retail_shows_customer_figures(self):
        return self.partner_id and self.move_type in ("out_invoice", "out_refund")

    def _retail_amount_to_pay(self):
        # While the form is edited, the journal items (hence amount_total) are synced from
        # the invoice lines only when it is saved; the tax totals follow the lines live.
        if self.tax_totals:
            return self.tax_totals["total_amount_currency"]
        return self.amount_total

    @api.depends("partner_id", "company_id", "amount_total", "state", "move_type", "tax_totals")
    def _compute_retail_customer_loyalty(self):
        return super()._compute_retail_customer_loyalty()

    def _retail_discount_line_command(self, values):
        return {"invoice_line_ids": [Command.create({**values, "quantity": 1})]}
