"""`make audit` on a copy of an installed database: clean after real postings, then one
fact of each kind broken by SQL in the source tables, each named and counted."""
import json
import os
import re
import subprocess

import pytest
from conftest import CONF, ODOO, PG_ENV, ROOT, _installed_template, _shell

KINDS = ("points", "invoice", "debt", "stats", "segments", "stage")

# Customers, invoices, a payment, a reversal, a points adjustment, a segment and the
# opportunities made on the first purchases, through the ORM as the shop makes them.
SETUP = """
import json
from odoo import Command

Partner = env["res.partner"]
an = Partner.create({"name": "Audit An", "phone": "0901111111"})
an_contact = Partner.create({"name": "Audit An Kế toán", "parent_id": an.id})
binh = Partner.create({"name": "Audit Bình"})


def invoice(partner, amount, due="2026-02-10"):
    move = env["account.move"].create({
        "move_type": "out_invoice", "partner_id": partner.id,
        "invoice_date": "2026-01-10", "invoice_date_due": due,
        "invoice_line_ids": [Command.create({
            "name": "Hàng", "quantity": 1, "price_unit": amount,
            "tax_ids": [Command.clear()]})],
    })
    move.action_post()
    return move


an_invoice = invoice(an, 120000)
contact_invoice = invoice(an_contact, 50000)
binh_invoice = invoice(binh, 300000, due="2026-01-20")
env["account.payment.register"].with_context(
    active_model="account.move", active_ids=binh_invoice.ids,
).create({"amount": 100000})._create_payments()
invoice(binh, 80000)._reverse_moves(cancel=True)
an.retail_adjust_points(5, "Quà tặng")
segment = env["retail.segment"].create(
    {"name": "Audit khách lớn", "use_sales": True, "sales_min": 100000})
segment._recompute()
env.cr.commit()
adjustment = env["retail.points.line"].search(
    [("partner_id", "=", an.id), ("line_type", "=", "adjustment")])
print("IDS " + json.dumps({
    "an": an.id, "binh": binh.id, "adjustment": adjustment.id, "an_invoice": an_invoice.id,
    "contact_invoice": contact_invoice.id, "binh_invoice": binh_invoice.id,
    "tag": segment.tag_id.id,
}))
"""

# One fact of each kind, changed in the ledgers under the stored figures.
TAMPER = """
BEGIN;
-- points: the history of An's adjustment says 7 points more
UPDATE retail_points_line SET points_earned = points_earned + 7 WHERE id = {adjustment};
-- invoice: Bình's invoice carries a point its history does not have
UPDATE account_move SET retail_points = retail_points + 1 WHERE id = {binh_invoice};
-- debt: An's receivable item is 1,000 less open
UPDATE account_move_line aml SET amount_residual = amount_residual - 1000
  FROM account_account a
 WHERE a.id = aml.account_id AND a.account_type = 'asset_receivable'
   AND aml.move_id = {an_invoice};
-- stats: the contact's invoice (An's sales) totals 1,000 more
UPDATE account_move SET amount_total_signed = amount_total_signed + 1000
 WHERE id = {contact_invoice};
-- segments: Bình lost the segment's tag
DELETE FROM res_partner_res_partner_category_rel
 WHERE partner_id = {binh} AND category_id = {tag};
-- stage: An's opportunity moved to another stage behind the customer's back
UPDATE crm_lead SET stage_id = (
    SELECT s.id FROM crm_stage s WHERE NOT s.is_won AND s.id <> crm_lead.stage_id
     ORDER BY s.sequence, s.id LIMIT 1)
 WHERE partner_id = {an} AND type = 'opportunity';
COMMIT;
"""


@pytest.fixture(scope="module")
def shop_db():
    template, own_template = _installed_template()
    db = f"crm_retail_audit_{os.getpid()}"
    _shell(f"drop_db {db} && copy_db {template} {db}")
    try:
        setup = subprocess.run(
            [ODOO, "shell", "-c", CONF, "-d", db, "--no-http", "--log-level=warn"],
            input=SETUP, capture_output=True, text=True, env=PG_ENV, timeout=120,
        )
        found = re.search(r"^IDS (.*)$", setup.stdout, re.MULTILINE)
        assert found, setup.stdout + setup.stderr
        yield db, json.loads(found.group(1))
    finally:
        _shell(f"drop_db {db}")
        if own_template:
            _shell(f"drop_db {template}")


def _audit(db):
    audit = subprocess.run(
        ["bash", ROOT / "scripts" / "audit.sh"], env={**PG_ENV, "DB_NAME": db},
        capture_output=True, text=True, timeout=120,
    )
    summary = re.search(r"^audit: (\d+) mismatches \((.*)\)$", audit.stdout, re.MULTILINE)
    assert summary, audit.stdout + audit.stderr
    counts = {kind: int(count) for kind, count in
              (part.split() for part in summary.group(2).split(", "))}
    return audit, int(summary.group(1)), counts


def test_audit_clean_then_every_kind_of_tampering(shop_db):
    db, ids = shop_db
    audit, total, counts = _audit(db)
    assert (audit.returncode, total) == (0, 0), audit.stdout
    assert counts == dict.fromkeys(KINDS, 0)

    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db],
                   input=TAMPER.format(**ids), check=True, env=PG_ENV, capture_output=True,
                   text=True)
    audit, total, counts = _audit(db)
    assert audit.returncode != 0
    assert counts == dict.fromkeys(KINDS, 1), audit.stdout
    assert total == len(KINDS)
    lines = audit.stdout.splitlines()
    for kind in KINDS:
        assert any(line.startswith(f"{kind}: ") for line in lines), (kind, audit.stdout)
    assert any(line.startswith("points: ") and "Audit An" in line for line in lines)
    assert any(line.startswith("segments: ") and f"partner {ids['binh']} " in line
               for line in lines)
