from odoo import api, models


class ResCompany(models.Model):
    _inherit = "res.company"

    @api.model_create_multi
    def create(self, vals_list):
        # A company's own partner is not a customer: no customer code.
        return super(
            ResCompany, self.with_context(crm_retail_no_customer_code=True)
        ).create(vals_list)
