from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

LINE_TYPES = [
    ("invoice", "Invoice"),
    ("refund", "Credit Note"),
    ("redemption", "Redemption"),
    ("adjustment", "Adjustment"),
    ("expiry", "Expiry"),
]


def _changes_balance(vals):
    return bool(vals.get("points_earned") or vals.get("points_used"))


class RetailPointsLine(models.Model):
    """The points history (lịch sử tích điểm): append-only, one line per change.

    A customer's balance is the sum of its lines; corrections are new lines. Lines are
    only written through :meth:`_record`, which locks the customers' rows, so that the
    balance stored on the partner always equals the history and never goes negative,
    however many cashiers work at once."""

    _name = "retail.points.line"
    _description = "Loyalty Points History"
    _order = "date desc, id desc"
    _rec_name = "description"

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="restrict",
        readonly=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True,
        default=lambda self: self.env.company,
    )
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    earned_on = fields.Date(
        required=True, readonly=True, default=fields.Date.context_today,
        help="Date the points were earned on: for a reversal or a credit note, the date "
        "of the invoice it corrects. Expiry counts from it.",
    )
    line_type = fields.Selection(LINE_TYPES, string="Source", required=True, readonly=True)
    move_id = fields.Many2one(
        "account.move", string="Invoice", index="btree_not_null", ondelete="set null",
        readonly=True,
    )
    sale_order_id = fields.Many2one(
        "sale.order", string="Sales Order", index="btree_not_null", ondelete="set null",
        readonly=True,
    )
    points_earned = fields.Integer(readonly=True, default=0)
    points_used = fields.Integer(readonly=True, default=0)
    balance_after = fields.Integer(readonly=True)
    description = fields.Char(required=True, readonly=True)
    user_id = fields.Many2one(
        "res.users", string="Done By", default=lambda self: self.env.user, readonly=True,
    )

    _points_not_both = models.Constraint(
        "CHECK(points_earned = 0 OR points_used = 0)",
        "A history line either earns or uses points, not both.",
    )
    _balance_after_positive = models.Constraint(
        "CHECK(balance_after >= 0)",
        "A customer's points balance cannot go negative.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise UserError(self.env._(
                "Points history lines are written by invoices, redemptions, adjustments "
                "and expiry only."
            ))
        return super().create(vals_list)

    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(self.env._(
            "The points history cannot be changed: record a correcting adjustment instead."
        ))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._(
            "The points history cannot be deleted: record a correcting adjustment instead."
        ))

    @api.model
    def _record(self, vals_list, clamp=False, update_tiers=True):
        """Append history lines and move the customers' balances, under a row lock.

        Each vals holds ``partner_id``, ``points_earned`` or ``points_used`` and the
        rest of the line. With ``clamp``, a decrease larger than the balance is cut to
        the balance (a credit note for points already spent); otherwise it fails with
        a clear error and nothing is written."""
        vals_list = [vals for vals in vals_list if _changes_balance(vals)]
        if not vals_list:
            return self.browse()
        partner_ids = sorted({vals["partner_id"] for vals in vals_list})
        Partner = self.env["res.partner"].sudo()
        Partner.flush_model(["loyalty_points", "loyalty_points_total"])
        # Ordered locks: two transactions locking the same customers cannot deadlock.
        # NO KEY: balances are not keys, so other documents of these customers can still
        # be inserted meanwhile (their foreign key checks take KEY SHARE locks).
        self.env.cr.execute(SQL(
            """
            SELECT id, COALESCE(loyalty_points, 0), COALESCE(loyalty_points_total, 0)
              FROM res_partner WHERE id IN %s ORDER BY id FOR NO KEY UPDATE
            """,
            tuple(partner_ids),
        ))
        balances = {pid: [points, total] for pid, points, total in self.env.cr.fetchall()}
        for vals in vals_list:
            balance = balances[vals["partner_id"]]
            change = vals.get("points_earned", 0) - vals.get("points_used", 0)
            if balance[0] + change < 0:
                if not clamp:
                    partner = Partner.browse(vals["partner_id"])
                    raise ValidationError(self.env._(
                        "%(customer)s has %(balance)s points; %(points)s cannot be used.",
                        customer=partner.display_name,
                        balance=balance[0],
                        points=-change,
                    ))
                change = -balance[0]
                if vals.get("points_earned"):
                    vals["points_earned"] = change
                else:
                    vals["points_used"] = -change
            balance[0] += change
            balance[1] += vals.get("points_earned", 0)
            vals["balance_after"] = balance[0]
        # A clamped decrease may have come down to nothing.
        vals_list = [vals for vals in vals_list if _changes_balance(vals)]
        lines = self.sudo().create(vals_list)
        for partner in Partner.browse(partner_ids):
            partner.write(dict(zip(("loyalty_points", "loyalty_points_total"),
                                   balances[partner.id], strict=True)))
        if update_tiers:
            lines._retail_update_tiers()
        return lines

    def _retail_update_tiers(self):
        """Update the tiers of these lines' customers, per company."""
        partner_ids_by_company = defaultdict(set)
        for line in self:
            partner_ids_by_company[line.company_id.id].add(line.partner_id.id)
        for company_id, partner_ids in partner_ids_by_company.items():
            self.env["res.partner"].sudo().browse(partner_ids).with_company(
                company_id)._retail_update_tiers()

    @api.model
    def _net_by_move(self, moves):
        """{move id: [points earned, points used]} of the history, in one query."""
        groups = self.sudo()._read_group(
            [("move_id", "in", moves.ids)],
            groupby=["move_id"],
            aggregates=["points_earned:sum", "points_used:sum"],
        )
        net = defaultdict(lambda: (0, 0))
        net.update({move.id: (earned, used) for move, earned, used in groups})
        return net

    @api.model
    def _cron_expire_points(self):
        """Expire, first in first out, the points earned more than the company's expiry
        period ago and not used since. One query per company; running it twice expires
        nothing more."""
        today = fields.Date.context_today(self)
        for company in self.env["res.company"].sudo().search(
                [("retail_points_expiry_months", ">", 0)]):
            cutoff = fields.Date.subtract(today, months=company.retail_points_expiry_months)
            self.flush_model(["partner_id", "company_id", "points_earned", "points_used",
                              "earned_on"])
            # Everything used or expired so far consumed the oldest points first, so the
            # part of the old points still unspent is what expires now.
            self.env.cr.execute(SQL(
                """
                SELECT partner_id, to_expire FROM (
                    SELECT partner_id,
                           COALESCE(SUM(points_earned) FILTER (WHERE earned_on < %(cutoff)s), 0)
                           - COALESCE(SUM(points_used), 0) AS to_expire
                      FROM retail_points_line
                     WHERE company_id = %(company)s
                     GROUP BY partner_id
                ) per_customer
                 WHERE to_expire > 0
                """,
                cutoff=cutoff,
                company=company.id,
            ))
            self._record([{
                "partner_id": partner_id,
                "company_id": company.id,
                "line_type": "expiry",
                "points_used": to_expire,
                "earned_on": today,
                "description": self.env._(
                    "Points earned before %(date)s expired", date=cutoff),
                "user_id": self.env.user.id,
            } for partner_id, to_expire in self.env.cr.fetchall()], clamp=True)
