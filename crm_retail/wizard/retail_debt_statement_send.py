import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .retail_debt_statement import STATEMENT_REPORT

_logger = logging.getLogger(__name__)


class RetailDebtStatementSend(models.TransientModel):
    """Send the debt statement of a period to many customers at once: one mail per
    customer with its PDF, each logged in the customer's chatter."""

    _name = "retail.debt.statement.send"
    _inherit = ["retail.checked.values.mixin"]
    _description = "Send Debt Statements"

    partner_ids = fields.Many2many(
        "res.partner", string="Customers", required=True,
        default=lambda self: self._default_partner_ids(),
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.user.company_ids.ids)],
    )
    date_from = fields.Date(
        string="From", required=True,
        default=lambda self: self.env[STATEMENT_REPORT]._retail_default_period()[0])
    date_to = fields.Date(
        string="To", required=True,
        default=lambda self: self.env[STATEMENT_REPORT]._retail_default_period()[1])
    template_id = fields.Many2one(
        "mail.template", string="Email Template", required=True,
        domain=[("model", "=", "res.partner")],
        default=lambda self: self.env.ref(
            "crm_retail.mail_template_debt_statement", raise_if_not_found=False),
    )
    only_active = fields.Boolean(
        string="Only Customers with Something to State", default=True,
        help="Leave out customers with no item in the period and nothing owed at its end.",
    )
    send_partner_ids = fields.Many2many(
        "res.partner", string="Will Receive", compute="_compute_recipients")
    no_email_partner_ids = fields.Many2many(
        "res.partner", string="Without Email", compute="_compute_recipients")
    opted_out_partner_ids = fields.Many2many(
        "res.partner", string="Do Not Send Statements", compute="_compute_recipients")
    inactive_count = fields.Integer(
        string="Nothing to State", compute="_compute_recipients")

    @api.model
    def _default_partner_ids(self):
        if self.env.context.get("active_model") != "res.partner":
            return self.env["res.partner"]
        return self.env["res.partner"].browse(
            self.env.context.get("active_ids") or []).commercial_partner_id

    @api.constrains("date_from", "date_to")
    def _check_period(self):
        for wizard in self:
            if wizard.date_from > wizard.date_to:
                raise ValidationError(self.env._("The period must start before it ends."))

    @api.depends("partner_ids", "company_id", "date_from", "date_to", "only_active")
    def _compute_recipients(self):
        for wizard in self:
            partners = wizard.partner_ids.commercial_partner_id
            opted_out = partners.filtered("retail_no_statement")
            no_email = (partners - opted_out).filtered(lambda partner: not partner.email)
            candidates = partners - opted_out - no_email
            active = candidates
            if (wizard.only_active and candidates and wizard.company_id and wizard.date_from
                    and wizard.date_to):
                active = self.env[STATEMENT_REPORT]._retail_statement_activity(
                    candidates, wizard.company_id, wizard.date_from, wizard.date_to)
            wizard.send_partner_ids = active
            wizard.no_email_partner_ids = no_email
            wizard.opted_out_partner_ids = opted_out
            wizard.inactive_count = len(candidates - active)

    def action_send(self):
        self.ensure_one()
        self.env[STATEMENT_REPORT]._retail_check_access(self.company_id, self.send_partner_ids)
        # mails go through the queue: a bad address fails alone, later, without a resend
        sender = self.with_company(self.company_id).with_context(
            mail_notify_force_send=False,
            retail_statement_company_id=self.company_id.id,
            retail_statement_date_from=fields.Date.to_string(self.date_from),
            retail_statement_date_to=fields.Date.to_string(self.date_to),
        )
        failed = self.env["res.partner"]
        for partner in sender.send_partner_ids:
            try:
                with self.env.cr.savepoint():
                    # Sent in the accountant's name; they may not edit contacts, and the
                    # statement data was checked readable above.
                    partner.sudo().message_post_with_source(
                        self.template_id, message_type="comment",
                        subtype_xmlid="mail.mt_comment",
                        author_id=self.env.user.partner_id.id)
            except UserError as error:
                _logger.warning("Debt statement of partner %s not sent: %s", partner.id, error)
                failed |= partner
        sent = len(self.send_partner_ids) - len(failed)
        message = self.env._(
            "%(sent)s statements sent. Left out: %(no_email)s without email, %(opted_out)s "
            "who asked not to receive statements, %(inactive)s with nothing to state.",
            sent=sent, no_email=len(self.no_email_partner_ids),
            opted_out=len(self.opted_out_partner_ids), inactive=self.inactive_count,
        )
        if failed:
            message += " " + self.env._(
                "Failed: %(customers)s.", customers=", ".join(failed.mapped("display_name")))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Debt Statements"),
                "message": message,
                "type": "warning" if failed else "success",
                "sticky": bool(failed),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
