from odoo import api, fields, models
from odoo.exceptions import ValidationError


class RetailDebtReminderLevel(models.Model):
    """A reminder level (mức nhắc nợ): how many days past due an invoice must be for
    its customer to get this level's mail and activities.

    The levels are configuration: ``retail.debt.reminder`` (the append-only log of what
    was sent) holds the sending engine, the daily cron's and the customers' button."""

    _name = "retail.debt.reminder.level"
    _inherit = ["retail.checked.values.mixin"]
    _description = "Debt Reminder Level"
    _order = "company_id, sequence, days_overdue, id"

    name = fields.Char(required=True, translate=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company,
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    days_overdue = fields.Integer(
        required=True,
        help="An invoice this many days past its due date, or more, reaches this level.",
    )
    mail_template_id = fields.Many2one(
        "mail.template", required=True, ondelete="restrict",
        domain=[("model", "=", "res.partner")],
        help="Sent to the customer (logged as a note when it has no email address); "
        "the customer is the template's record.",
    )
    activity_salesperson = fields.Boolean(
        string="Activity for the Salesperson",
        help="Schedule a to-do for the customer's salesperson.",
    )
    activity_accountant = fields.Boolean(
        string="Activity for the Accountant",
        help="Schedule a to-do for the accountant below.",
    )
    accountant_id = fields.Many2one("res.users", domain=[("share", "=", False)])
    activity_note = fields.Html(
        translate=True, help="Note of the scheduled activities.",
    )

    _days_overdue_positive = models.Constraint(
        "CHECK(days_overdue > 0)", "A reminder level must be at least one day overdue.",
    )
    _days_overdue_unique = models.Constraint(
        "UNIQUE(company_id, days_overdue)",
        "A company already has a reminder level for this number of days overdue.",
    )

    @api.constrains("activity_accountant", "accountant_id")
    def _check_accountant(self):
        for level in self:
            if level.activity_accountant and not level.accountant_id:
                raise ValidationError(self.env._(
                    "Reminder level “%(level)s” creates an activity for the accountant: "
                    "choose the accountant.", level=level.display_name,
                ))

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _schedule_activities(self, partner):
        """The to-dos of this level for a customer just reminded."""
        self.ensure_one()
        users = self.env["res.users"]
        if self.activity_salesperson:
            users |= partner.user_id
        if self.activity_accountant:
            users |= self.accountant_id
        for user in users:
            # In the language of the person who will do it, not of the cron's user.
            level = self.with_context(lang=user.lang)
            partner.activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=user.id,
                summary=level.env._("Debt reminder: %(level)s", level=level.name),
                note=level.activity_note,
            )
