import json
import logging
import time
from collections import defaultdict

from psycopg2.errors import SerializationFailure

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, LockError, UserError
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# A customer whose row another transaction holds (an invoice being posted for it) is
# tried again after the others, this many times, this many seconds apart...
LOCK_RETRIES = 3
LOCK_RETRY_WAIT = 2.0
# ...then left to the cron's next call, made at once by the scheduler as remaining work;
# after this many calls in a row that could send nothing, it waits for the next day.
LOCK_STALLED_RUNS = 3
# The day's run while it leaves customers: {"date", "failed": [[company, customer]],
# "stalled"}. Its next calls skip the customers that failed (one failure note a day).
RUN_PARAM = "crm_retail.debt_reminder_run"


class RetailDebtReminder(models.Model):
    """What was sent (lịch sử nhắc nợ): append-only, one line per level in a reminder,
    covering the invoices that reached that level. An invoice is reminded at a level
    only if no line of that level or a higher one covers it yet.

    The sending engine writes it: the daily cron (or "Send Debt Reminder" on customers)
    sends each overdue customer one message, of the highest level (see
    ``retail.debt.reminder.level``) that one of its invoices reached and that no earlier
    reminder of that level or higher already covered; the message lists all the
    customer's overdue invoices."""

    _name = "retail.debt.reminder"
    _description = "Debt Reminder Sent"
    _order = "date desc, id desc"
    _rec_name = "level_id"

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade",
        readonly=True,
    )
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    level_id = fields.Many2one(
        "retail.debt.reminder.level", index=True, ondelete="set null",
        readonly=True,
    )
    # The level's days when it was sent: what was sent stays known when the level
    # is changed or deleted.
    level_days = fields.Integer(string="Days Overdue", required=True, readonly=True)
    date = fields.Date(required=True, default=fields.Date.context_today, readonly=True)
    move_ids = fields.Many2many(
        "account.move", "retail_debt_reminder_account_move_rel", "reminder_id", "move_id",
        string="Invoices", readonly=True,
    )
    message_id = fields.Many2one(
        "mail.message", index="btree_not_null", ondelete="set null",
        readonly=True,
    )
    emailed = fields.Boolean(
        string="Sent by Email", readonly=True,
        help="Unset when the customer had no valid email address: the reminder was only "
        "noted in its chatter.",
    )
    user_id = fields.Many2one(
        "res.users", string="Sent By", default=lambda self: self.env.user, readonly=True,
    )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise UserError(self.env._("Debt reminders are logged by sending them only."))
        return super().create(vals_list)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    @api.model
    def _action_send_now(self, partners):
        """"Send Reminder Now" on customers: the cron's logic for these customers in
        the current company, reported in a notification."""
        if not self.env.user.has_group("account.group_account_invoice"):
            raise AccessError(self.env._("Only accounting users send debt reminders."))
        Reminder = self.sudo()
        sent = self.browse()
        failed = held = self.env["res.partner"]
        for partner in partners.commercial_partner_id:
            try:
                logs = Reminder._send_reminder_safely(partner.sudo())
            except LockError:
                held |= partner
                continue
            if logs is None:
                failed |= partner
            else:
                sent |= logs
        if failed:
            message, kind = self.env._(
                "The reminder could not be sent to %(customers)s: see their chatter.",
                customers=", ".join(failed.mapped("display_name")),
            ), "danger"
        elif held:
            message, kind = self.env._(
                "The reminder to %(customers)s could not be sent now: another operation is "
                "updating them. Try again in a moment.",
                customers=", ".join(held.mapped("display_name")),
            ), "warning"
        elif sent:
            message, kind = self.env._(
                "Reminder sent to %(customers)s.",
                customers=", ".join(sent.partner_id.mapped("display_name")),
            ), "success"
        else:
            message, kind = self.env._(
                "No reminder is due: no overdue invoice reached a level not yet sent."
            ), "warning"
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "type": kind,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # ------------------------------------------------------------------
    # What is overdue and what is due
    # ------------------------------------------------------------------

    @api.model
    def _overdue_items_query(self, partner_ids=None):
        """Per commercial partner and document of the current company: the oldest
        due date and the residual of its overdue open receivable items."""
        self.env["account.move.line"].flush_model([
            "partner_id", "company_id", "parent_state", "account_id", "amount_residual",
            "amount_residual_currency", "currency_id", "date_maturity", "move_id",
        ])
        self.env["account.account"].flush_model(["account_type"])
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        return SQL(
            """
            SELECT lp.commercial_partner_id AS partner_id,
                   aml.move_id,
                   aml.currency_id,
                   MIN(aml.date_maturity) AS date_due,
                   SUM(aml.amount_residual) AS residual,
                   SUM(aml.amount_residual_currency) AS residual_currency
              FROM account_move_line aml
              JOIN account_account account ON account.id = aml.account_id
              JOIN res_partner lp ON lp.id = aml.partner_id
             WHERE aml.company_id = %(company_id)s
               AND aml.parent_state = 'posted'
               AND account.account_type = 'asset_receivable'
               AND aml.amount_residual > 0
               AND aml.date_maturity < %(today)s
               %(partner_filter)s
             GROUP BY lp.commercial_partner_id, aml.move_id, aml.currency_id
            """,
            company_id=self.env.company.id,
            today=fields.Date.context_today(self),
            partner_filter=SQL("AND lp.commercial_partner_id IN %s", tuple(partner_ids))
            if partner_ids is not None else SQL(),
        )

    @api.model
    def _overdue_invoices(self, partner):
        """The overdue invoices of a customer in the current company, oldest first,
        as the reminder templates list them."""
        self.env.cr.execute(self._overdue_items_query(partner.commercial_partner_id.ids))
        rows = self.env.cr.dictfetchall()
        moves = self.env["account.move"].browse(row["move_id"] for row in rows)
        currencies = self.env["res.currency"].browse(row["currency_id"] for row in rows)
        today = fields.Date.context_today(self)
        invoices = [{
            "move": move,
            "name": move.name,
            "date": move.invoice_date or move.date,
            "date_due": row["date_due"],
            "days_overdue": (today - row["date_due"]).days,
            "residual": row["residual_currency"],
            "currency": currency,
        } for row, move, currency in zip(rows, moves, currencies, strict=True)]
        return sorted(invoices, key=lambda invoice: (invoice["date_due"], invoice["move"].id))

    @api.model
    def _reminders_due(self, partner_ids=None):
        """{commercial partner id: {move id: level id}} for the current company: for
        each overdue invoice of a customer that may be reminded, the highest level it
        reached, unless a reminder of that level or a higher one already covered it."""
        self.env["retail.debt.reminder.level"].flush_model(
            ["company_id", "active", "days_overdue"])
        self.env["res.partner"].flush_model(["retail_no_reminder"])
        self.flush_model(["level_days", "move_ids"])
        self.env.cr.execute(SQL(
            """
            WITH overdue AS (%(overdue)s)
            SELECT overdue.partner_id, overdue.move_id, level.id
              FROM overdue
              JOIN res_partner customer ON customer.id = overdue.partner_id
             CROSS JOIN LATERAL (
                   SELECT l.id, l.days_overdue
                     FROM retail_debt_reminder_level l
                    WHERE l.company_id = %(company_id)s AND l.active
                      AND l.days_overdue <= %(today)s - overdue.date_due
                    ORDER BY l.days_overdue DESC
                    LIMIT 1
                   ) level
             WHERE customer.retail_no_reminder IS NOT TRUE
               AND NOT EXISTS (
                   SELECT 1
                     FROM retail_debt_reminder_account_move_rel covered
                     JOIN retail_debt_reminder reminder ON reminder.id = covered.reminder_id
                    WHERE covered.move_id = overdue.move_id
                      AND reminder.level_days >= level.days_overdue)
            """,
            overdue=self._overdue_items_query(partner_ids),
            company_id=self.env.company.id,
            today=fields.Date.context_today(self),
        ))
        due = defaultdict(dict)
        for partner_id, move_id, level_id in self.env.cr.fetchall():
            due[partner_id][move_id] = level_id
        return dict(due)

    # ------------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------------

    @api.model
    def _cron_send_reminders(self):
        """Daily: every company's overdue customers get the reminder due. Each customer
        is sent and committed on its own, so that one failing customer neither stops
        the run nor makes the others be sent again; it is tried again on the next day.

        A customer held by another transaction is tried again after the others; those
        still held, or not reached in the cron's time, are reported as remaining work,
        for which the scheduler calls the cron again at once. Those calls go on with the
        day's run: what was sent is no longer due, what failed is skipped."""
        Reminder = self.sudo()
        cron = self.env["ir.cron"]
        today = fields.Date.context_today(self)
        run = Reminder._run_state(today)
        failed_before = {tuple(customer) for customer in run["failed"]}
        customers = []
        levels = Reminder.env["retail.debt.reminder.level"]
        for [company] in levels._read_group([("active", "=", True)], ["company_id"]):
            due = Reminder.with_company(company)._reminders_due()
            customers += [[company.id, partner_id] for partner_id in due
                          if (company.id, partner_id) not in failed_before]
        cron._commit_progress(remaining=len(customers))
        failed, held, unreached, time_left = Reminder._send_reminders(customers)
        for _retry in range(LOCK_RETRIES):
            if unreached or not held or time_left < LOCK_RETRY_WAIT:
                break
            time.sleep(LOCK_RETRY_WAIT)
            more_failed, held, unreached, time_left = Reminder._send_reminders(held)
            failed += more_failed
        left = held + unreached
        stalled = run["stalled"] + 1 if left and len(left) == len(customers) else 0
        if left and stalled <= LOCK_STALLED_RUNS:
            Reminder._save_run_state({"date": str(today), "failed": run["failed"] + failed,
                                      "stalled": stalled})
            _logger.info("Debt reminders: %s customers left for the next call (%s held by "
                         "another transaction)", len(left), len(held))
            cron._commit_progress(remaining=len(left))
            return
        Reminder._save_run_state(None)
        if left:
            _logger.warning("Debt reminders: %s customers still held by another transaction "
                            "after %s calls, left for tomorrow", len(left), stalled)
            cron._commit_progress(remaining=0)

    def _send_reminders(self, customers):
        """Send to each [company id, customer id], committing after each. Returns the
        customers that failed, those held by another transaction, those not reached
        for lack of time, and the cron's time left."""
        cron = self.env["ir.cron"]
        failed, held, time_left = [], [], float("inf")
        for index, (company_id, partner_id) in enumerate(customers):
            Reminder = self.with_company(company_id)
            try:
                sent = Reminder._send_reminder_safely(
                    Reminder.env["res.partner"].browse(partner_id))
            except LockError:
                held.append([company_id, partner_id])
                # A new transaction: the retry sees what the holder committed.
                time_left = cron._commit_progress()
            else:
                if sent is None:
                    failed.append([company_id, partner_id])
                time_left = cron._commit_progress(1)
            if not time_left:
                return failed, held, customers[index + 1:], time_left
        return failed, held, [], time_left

    @api.model
    def _run_state(self, today):
        """The state of the day's run still going on, or a fresh one."""
        value = self.env["ir.config_parameter"].sudo().get_param(RUN_PARAM)
        run = json.loads(value) if value else {}
        if run.get("date") != str(today):
            return {"failed": [], "stalled": 0}
        return run

    @api.model
    def _save_run_state(self, run):
        self.env["ir.config_parameter"].sudo().set_param(
            RUN_PARAM, json.dumps(run) if run else False)

    def _send_reminder_safely(self, partner):
        """Send what is due to one customer in a savepoint: a failure leaves nothing
        half done and is noted in the customer's chatter. Returns the logs written,
        or None on failure. Raises LockError, having done nothing, when another
        transaction holds the customer: the caller tries again later."""
        try:
            with self.env.cr.savepoint():
                return self._send_reminder(partner)
        except LockError:
            raise
        except SerializationFailure as error:
            # Changed by a transaction committed since this one began: held as well.
            raise LockError(str(error)) from error
        except Exception as error:  # whatever fails, it is this customer's only
            _logger.warning("Debt reminder to customer %s (company %s) failed",
                            partner.id, self.env.company.id, exc_info=True)
            self._note_failure(partner, error)
            return None

    def _note_failure(self, partner, error):
        """Tell the accountant in the chatter why the customer got nothing."""
        try:
            with self.env.cr.savepoint():
                partner.message_post(body=self.env._(
                    "The debt reminder could not be sent: %(error)s", error=str(error)))
        except Exception:  # the run goes on even if the chatter itself fails
            _logger.warning("Debt reminder failure of customer %s could not be noted",
                            partner.id, exc_info=True)

    def _send_reminder(self, partner):
        """Send one customer the reminder due in the current company: one message
        of the highest level due listing all its overdue invoices, the activities of
        that level, and one log per level covering the invoices that reached it.
        Returns the logs written (empty when nothing is due)."""
        # Whoever else holds this customer (an invoice being posted, another sending)
        # goes first: LockError, and the caller tries again; what another sending sent
        # is then no longer due.
        partner = partner.with_env(self.env).commercial_partner_id
        partner.lock_for_update(allow_referencing=True)
        due = self._reminders_due(partner.ids).get(partner.id)
        if not due:
            return self.browse()
        levels = self.env["retail.debt.reminder.level"].browse(set(due.values()))
        level = max(levels, key=lambda level: level.days_overdue)
        emailed = bool(partner.email_normalized)
        if emailed:
            message = partner.message_post_with_source(
                level.mail_template_id, message_type="comment", subtype_xmlid="mail.mt_comment",
            )
        else:
            # No address to send to: the same text is kept in the chatter as a note.
            message = partner.message_post_with_source(
                level.mail_template_id, subtype_xmlid="mail.mt_note", partner_ids=[],
            )
        level._schedule_activities(partner)
        return self.sudo().create([{
            "partner_id": partner.id,
            "company_id": self.env.company.id,
            "level_id": reached.id,
            "level_days": reached.days_overdue,
            "move_ids": [
                Command.set([mid for mid, lid in due.items() if lid == reached.id])],
            "message_id": message[:1].id,
            "emailed": emailed,
        } for reached in levels])
