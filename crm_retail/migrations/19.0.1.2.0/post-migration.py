"""19.0.1.2.0: the customer crons' methods carry the ``retail_`` prefix now; their records
are noupdate, so their code is pointed at the new names here. Labels changed too (a
pipeline "card" is an "opportunity"): an update keeps the translations a database has, so
this version's are loaded over them."""
from odoo import SUPERUSER_ID, api

CRON_CODE = {
    "crm_retail.ir_cron_refresh_debt": "model._cron_retail_refresh_debt()",
    "crm_retail.ir_cron_update_tiers": "model._cron_retail_update_tiers()",
}


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    for xmlid, code in CRON_CODE.items():
        cron = env.ref(xmlid, raise_if_not_found=False)
        if cron:
            cron.code = code
    langs = [code for code, _name in env["res.lang"].get_installed() if code != "en_US"]
    env["ir.module.module"]._load_module_terms(["crm_retail"], langs, overwrite=True)
