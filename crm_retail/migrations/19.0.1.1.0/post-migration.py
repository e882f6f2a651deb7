"""19.0.1.1.0: the reminder sending engine moved from the levels to the reminder log; the
cron's record is noupdate, so its code is pointed at the new home here."""
from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    cron = env.ref("crm_retail.ir_cron_send_debt_reminders", raise_if_not_found=False)
    if cron:
        cron.write({
            "model_id": env["ir.model"]._get_id("retail.debt.reminder"),
            "code": 'env["retail.debt.reminder"]._cron_send_reminders()',
        })
