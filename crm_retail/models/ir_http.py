from odoo import models
from odoo.http import request


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _post_dispatch(cls, response):
        result = super()._post_dispatch(response)
        # The customer facts a request changed are refreshed once its response is sent.
        if request.env is not None:
            request.env["retail.customer.facts"]._defer_to_response(response)
        return result
