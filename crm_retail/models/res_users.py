from odoo import api, models


class ResUsers(models.Model):
    _inherit = "res.users"

    @api.model_create_multi
    def create(self, vals_list):
        # A user's partner is not a customer: no customer code.
        return super(
            ResUsers, self.with_context(crm_retail_no_customer_code=True)
        ).create(vals_list)
