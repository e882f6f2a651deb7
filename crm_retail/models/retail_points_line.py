from collections import defaultdict
from functools import partial

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, split_every

# Customers per transaction of the nightly expiry.
EXPIRY_BATCH_SIZE = 1000

LINE_TYPES = [
    ("invoice", "Invoice"),
    ("refund", "Credit Note"),
    ("redemption", "Redemption"),
    ("adjustment", "Adjustment"),
    ("expiry", "Expiry"),
]


def _changes_balance(vals):
    return bool(vals.get("points_earned") or vals.get("points_used"))


def _change(vals):
    return vals.get("points_earned", 0) - vals.get("points_used", 0)


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
    date = fields.Datetime(
        string="Recorded On", required=True, default=fields.Datetime.now, readonly=True)
    document_date = fields.Date(
        string="Date", readonly=True, index=True,
        help="Date of the document: the invoice or credit note date, the order date; for "
        "an adjustment or an expiry, the day it was recorded.",
    )
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
    balance_after = fields.Integer(
        compute="_compute_balance_after",
        help="The customer's balance after this line: the sum of the history up to it.",
    )
    description = fields.Char(required=True, readonly=True)
    user_id = fields.Many2one(
        "res.users", string="Done By", default=lambda self: self.env.user, readonly=True,
    )

    _points_not_both = models.Constraint(
        "CHECK(points_earned = 0 OR points_used = 0)",
        "A history line either earns or uses points, not both.",
    )

    def _compute_balance_after(self):
        """A running sum rather than a stored column: earning lines are added without
        locking the customer, so only the history itself knows the order of lines."""
        line_ids = [line_id for line_id in self.ids if line_id]
        running = {}
        if line_ids:
            self.flush_model(["partner_id", "points_earned", "points_used"])
            self.env.cr.execute(SQL(
                """
                SELECT id, balance FROM (
                    SELECT id, SUM(points_earned - points_used)
                               OVER (PARTITION BY partner_id, company_id ORDER BY id) AS balance
                      FROM retail_points_line
                     WHERE partner_id IN (SELECT partner_id FROM retail_points_line
                                           WHERE id = ANY(%s))
                ) history
                 WHERE id = ANY(%s)
                """,
                line_ids, line_ids,
            ))
            running = dict(self.env.cr.fetchall())
        for line in self:
            line.balance_after = running.get(line.id, 0)

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
    def _record(self, vals_list, clamp=False, from_documents=False):
        """Append history lines; the customers' stored balances and tiers follow.

        Each vals holds ``partner_id``, ``points_earned`` or ``points_used`` and the
        rest of the line. With ``clamp``, a decrease larger than the balance is cut to
        the balance (a credit note for points already spent); otherwise it fails with
        a clear error and nothing is written. ``from_documents``: the lines of posted
        documents, whose balances follow with the customers' other facts (in an HTTP
        request, right after its response); a person adjusting points sees the balance
        at once.

        Earning needs no lock: lines are only added, and the stored balance is
        refreshed from them without waiting (queued when another cashier holds the
        customer). A decrease must see every line already committed, so it locks the
        customers and waits; a customer changed since this transaction began makes it
        retry (Odoo retries the request), which only redemptions, credit notes and
        expiry can meet."""
        vals_list = [vals for vals in vals_list if _changes_balance(vals)]
        if not vals_list:
            return self.browse()
        partner_ids = sorted({vals["partner_id"] for vals in vals_list})
        Partner = self.env["res.partner"].sudo()
        decreasing = any(_change(vals) < 0 for vals in vals_list)
        if decreasing:
            # Ordered locks: two transactions locking the same customers cannot deadlock.
            # NO KEY: other documents of these customers can still be inserted meanwhile
            # (their foreign key checks take KEY SHARE locks).
            self.env.cr.execute(SQL(
                "SELECT id FROM res_partner WHERE id IN %s ORDER BY id FOR NO KEY UPDATE",
                tuple(partner_ids),
            ))
        for vals in vals_list:
            vals.setdefault("company_id", self.env.company.id)
        # Only a decrease can take a balance below zero: earning reads no balance.
        balances = self._balances(partner_ids) if decreasing else defaultdict(int)
        for vals in vals_list:
            change = _change(vals)
            key = (vals["partner_id"], vals["company_id"])
            if balances[key] + change < 0:
                if not clamp:
                    partner = Partner.browse(vals["partner_id"])
                    raise ValidationError(self.env._(
                        "%(customer)s has %(balance)s points; %(points)s cannot be used.",
                        customer=partner.display_name,
                        balance=balances[key],
                        points=-change,
                    ))
                change = -balances[key]
                if vals.get("points_earned"):
                    vals["points_earned"] = change
                else:
                    vals["points_used"] = -change
            balances[key] += change
        # A clamped decrease may have come down to nothing.
        vals_list = [vals for vals in vals_list if _changes_balance(vals)]
        self._set_document_dates(vals_list)
        lines = self.sudo().create(vals_list)
        facts = self.env["retail.customer.facts"]
        if decreasing:
            Partner._retail_points_refresh(partner_ids)
        elif from_documents and facts._in_http_request():
            facts._mark(partner_ids)
        else:
            facts._refresh_or_queue(partner_ids, facts={"points"})
        return lines

    @api.model
    def _set_document_dates(self, vals_list):
        """Date each line by its document, not by when it was recorded: a batch posted
        today for last week's invoices reads last week."""
        today = fields.Date.context_today(self)
        moves = self.env["account.move"].sudo().browse(
            {vals["move_id"] for vals in vals_list if vals.get("move_id")})
        orders = self.env["sale.order"].sudo().browse(
            {vals["sale_order_id"] for vals in vals_list if vals.get("sale_order_id")})
        for vals in vals_list:
            if vals.get("document_date"):
                continue
            if vals.get("move_id"):
                move = moves.browse(vals["move_id"])
                vals["document_date"] = move.invoice_date or move.date or today
            elif vals.get("sale_order_id"):
                order = orders.browse(vals["sale_order_id"])
                vals["document_date"] = fields.Date.context_today(self, order.date_order)
            else:
                vals["document_date"] = today

    def init(self):
        # Lines recorded before they had a document date take their document's.
        self.env.cr.execute("""
            UPDATE retail_points_line line
               SET document_date = COALESCE(
                       (SELECT COALESCE(m.invoice_date, m.date) FROM account_move m
                         WHERE m.id = line.move_id),
                       (SELECT so.date_order::date FROM sale_order so
                         WHERE so.id = line.sale_order_id),
                       line.date::date)
             WHERE line.document_date IS NULL
        """)

    @api.model
    def _balances(self, partner_ids):
        """{(customer id, company id): points balance} from the history this transaction
        sees: points are earned and spent in each company apart."""
        self.flush_model(["partner_id", "company_id", "points_earned", "points_used"])
        self.env.cr.execute(SQL(
            """
            SELECT partner_id, company_id, SUM(points_earned - points_used)
              FROM retail_points_line WHERE partner_id = ANY(%s)
             GROUP BY partner_id, company_id
            """,
            list(partner_ids),
        ))
        balances = defaultdict(int)
        balances.update({(pid, cid): balance for pid, cid, balance in self.env.cr.fetchall()})
        return balances

    @api.model
    def _cron_expire_points(self):
        """Expire, first in first out, the points earned more than the company's expiry
        period ago and not used since; running it twice expires nothing more. In batches
        committed with the cron's progress, each locking its customers first
        (:meth:`~.retail_customer_facts.RetailCustomerFacts._run_in_locked_batches`): what
        a customer a cashier holds spends meanwhile changes what expires, so the
        scheduler's next call expires theirs."""
        today = fields.Date.context_today(self)
        batches = []
        for company in self.env["res.company"].sudo().search(
                [("retail_points_expiry_months", ">", 0)]):
            cutoff = fields.Date.subtract(today, months=company.retail_points_expiry_months)
            expiring = [partner_id for partner_id, _points
                        in self._points_to_expire(company, cutoff)]
            # Read again under the locks: what was spent since counts.
            expire = partial(self._expire_points, company, cutoff, today)
            batches += [(batch, expire) for batch in split_every(EXPIRY_BATCH_SIZE, expiring)]
        self.env["retail.customer.facts"]._run_in_locked_batches(batches)

    @api.model
    def _points_to_expire(self, company, cutoff, partner_ids=None):
        """[(customer id, points to expire)] of the company at the cutoff, in one query."""
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
                 WHERE company_id = %(company)s %(partner_filter)s
                 GROUP BY partner_id
            ) per_customer
             WHERE to_expire > 0
             ORDER BY partner_id
            """,
            cutoff=cutoff,
            company=company.id,
            partner_filter=SQL("AND partner_id = ANY(%s)", list(partner_ids))
            if partner_ids is not None else SQL(),
        ))
        return self.env.cr.fetchall()

    @api.model
    def _expire_points(self, company, cutoff, today, partner_ids=None):
        self._record([{
            "partner_id": partner_id,
            "company_id": company.id,
            "line_type": "expiry",
            "points_used": to_expire,
            "earned_on": today,
            "description": self.env._("Points earned before %(date)s expired", date=cutoff),
            "user_id": self.env.user.id,
        } for partner_id, to_expire in self._points_to_expire(company, cutoff, partner_ids)],
            clamp=True)
