"""Run by readme_screenshots.sh in `odoo shell` on the demo shop: the records the README's
pictures show, printed as one JSON line. A cashier's draft invoice is made (again) for it."""
import json

from odoo import Command

env = globals()["env"]  # given by odoo shell

customer = env["res.partner"].search(
    [("retail_debt_amount", ">", 0), ("retail_loyalty_points", ">",
                                      0)], order="retail_debt_amount desc", limit=1)
cashier = env["res.users"].search([("login", "=", "cashier")])
Move = env["account.move"].with_user(cashier)
Move.search([("ref", "=", "README"), ("state", "=", "draft")]).unlink()
product = env["product.product"].search([("sale_ok", "=", True)], order="list_price desc", limit=1)
invoice = Move.create({
    "move_type": "out_invoice", "partner_id": customer.id, "ref": "README",
    "invoice_line_ids": [Command.create({"product_id": product.id, "quantity": 1})],
})
env.cr.commit()
print("SHOTS " + json.dumps({"customer": customer.id, "invoice": invoice.id}))
