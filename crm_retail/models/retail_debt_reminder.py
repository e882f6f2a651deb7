from odoo import api, fields, models
from odoo.exceptions import UserError


class RetailDebtReminder(models.Model):
    """What was sent (lịch sử nhắc nợ): append-only, one line per level in a reminder,
    covering the invoices that reached that level. An invoice is reminded at a level
    only if no line of that level or a higher one covers it yet."""

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
