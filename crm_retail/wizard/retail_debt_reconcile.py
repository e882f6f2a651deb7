from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import format_amount


class RetailDebtReconcile(models.TransientModel):
    """A customer's open invoices and unapplied payments / credit notes side by side, and a
    preview of applying the credits to the oldest invoices first, done by Odoo's own
    reconciliation when the accountant confirms it."""

    _name = "retail.debt.reconcile"
    _description = "Apply Customer Payments to Oldest Invoices"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True, readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    invoice_item_ids = fields.Many2many(
        "account.move.line", "retail_debt_reconcile_invoice_rel", string="Open Invoices",
        readonly=True)
    credit_item_ids = fields.Many2many(
        "account.move.line", "retail_debt_reconcile_credit_rel",
        string="Unapplied Payments and Credit Notes", readonly=True)
    skipped_item_ids = fields.Many2many(
        "account.move.line", "retail_debt_reconcile_skipped_rel",
        string="Left Alone (Foreign Currency)", readonly=True,
        help="Items in another currency than the company's are not matched automatically: "
        "reconcile them from the invoice.")
    line_ids = fields.One2many("retail.debt.reconcile.line", "wizard_id", string="Preview",
                               readonly=True)
    amount_to_apply = fields.Monetary(compute="_compute_amount_to_apply")

    @api.depends("line_ids.amount")
    def _compute_amount_to_apply(self):
        for wizard in self:
            wizard.amount_to_apply = sum(wizard.line_ids.mapped("amount"))

    @api.model
    def _open_items(self, partner, company):
        return self.env["account.move.line"].search([
            ("partner_id", "child_of", partner.commercial_partner_id.id),
            ("company_id", "=", company.id),
            ("parent_state", "=", "posted"),
            ("account_id.account_type", "=", "asset_receivable"),
            ("reconciled", "=", False),
            ("amount_residual", "!=", 0),
        ], order="date_maturity, date, id")

    @api.model
    def _plan(self, items, currency):
        """Oldest-first matching per receivable account: credits (oldest first) pay
        invoices by due date, partially where needed. Returns (debit, credit, amount)."""
        plan = []
        for account in items.account_id:
            account_items = items.filtered(lambda item, account=account: item.account_id == account)
            debit_items = account_items.filtered(lambda item: item.amount_residual > 0)
            credit_items = account_items.filtered(lambda item: item.amount_residual < 0).sorted(
                lambda item: (item.date, item.id))
            remaining = {item.id: abs(item.amount_residual) for item in account_items}
            debit_iter = iter(debit_items)
            debit = next(debit_iter, None)
            for credit in credit_items:
                while debit and not currency.is_zero(remaining[credit.id]):
                    amount = min(remaining[debit.id], remaining[credit.id])
                    plan.append((debit, credit, amount))
                    remaining[debit.id] = currency.round(remaining[debit.id] - amount)
                    remaining[credit.id] = currency.round(remaining[credit.id] - amount)
                    if currency.is_zero(remaining[debit.id]):
                        debit = next(debit_iter, None)
                if not debit:
                    break
        return plan

    @api.model
    def _preview(self, partner, company):
        """The customer's open items in the company currency, those left alone (foreign
        currency), and the oldest-first plan over the first."""
        items = self._open_items(partner, company)
        foreign = items.filtered(lambda item: item.currency_id != company.currency_id)
        items -= foreign
        return items, foreign, self._plan(items, company.currency_id)

    @api.model
    def _open_for(self, partner, company=None):
        company = company or self.env.company
        # The preview lists journal items as the user, in the user's companies only.
        if not self.env.su and company not in self.env.companies:
            raise AccessError(self.env._(
                "You cannot apply payments in %(company)s.", company=company.name))
        partner = partner.with_env(self.env)
        partner.check_access("read")
        partner = partner.commercial_partner_id
        partner.check_access("read")
        items, foreign, plan = self._preview(partner, company)
        currency = company.currency_id
        remaining = {item.id: item.amount_residual for item in items}
        lines = []
        for debit, credit, amount in plan:
            remaining[debit.id] = currency.round(remaining[debit.id] - amount)
            lines.append(Command.create({
                "debit_item_id": debit.id,
                "credit_item_id": credit.id,
                "amount": amount,
                "invoice_residual_after": remaining[debit.id],
            }))
        return self.create({
            "partner_id": partner.id,
            "company_id": company.id,
            "invoice_item_ids": [Command.set(items.filtered(lambda i: i.amount_residual > 0).ids)],
            "credit_item_ids": [Command.set(items.filtered(lambda i: i.amount_residual < 0).ids)],
            "skipped_item_ids": [Command.set(foreign.ids)],
            "line_ids": lines,
        })

    def action_apply(self):
        self.ensure_one()
        if not self.line_ids:
            raise UserError(self.env._("Nothing to apply: %(customer)s has no unapplied "
                                       "payment or credit note against an open invoice.",
                                       customer=self.partner_id.display_name))
        # The preview is what the accountant agreed to: refuse if the items moved since.
        _items, _foreign, plan = self._preview(self.partner_id, self.company_id)
        if plan != [(line.debit_item_id, line.credit_item_id, line.amount)
                    for line in self.line_ids]:
            raise UserError(self.env._(
                "The open items of %(customer)s changed since this preview was made. "
                "Open it again to see what would be applied now.",
                customer=self.partner_id.display_name))
        for line in self.line_ids:
            (line.debit_item_id + line.credit_item_id).reconcile()
        # An accountant may reconcile without the right to edit contacts: the note is
        # theirs, posted on the customer they could open this wizard for.
        self.partner_id.sudo().message_post(author_id=self.env.user.partner_id.id, body=self.env._(
            "%(amount)s of payments and credit notes applied to the oldest invoices "
            "(%(count)s matches).",
            amount=format_amount(self.env, self.amount_to_apply, self.currency_id),
            count=len(self.line_ids)))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._("Applied to the oldest invoices first."),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
