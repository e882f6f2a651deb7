"""Builds the Vietnamese demo shop in a new database (run by scripts/run.sh through
`odoo shell`): company, users, products, ~50 customers, invoices, payments, quotations,
a pipeline with opportunities in every funnel stage and the stage history of a year of selling.

Deterministic (fixed seed), dated relative to today so that some invoices are overdue.
Every shipped segment has members.
"""
# ruff: noqa: F821  (``env`` is given by odoo shell)
import random
from datetime import datetime, time, timedelta
from itertools import pairwise

from dateutil.relativedelta import relativedelta

from odoo import Command, fields
from odoo.tools import SQL

rng = random.Random(19)
today = fields.Date.context_today(env.user)
env = env(context=dict(env.context, tracking_disable=True, mail_notrack=True))

# --- languages and company ---------------------------------------------------------
env["res.lang"]._activate_lang("en_US")
env["res.lang"]._activate_lang("vi_VN")
vietnam = env.ref("base.vn")
hcm = env["res.country.state"].search(
    [("country_id", "=", vietnam.id), ("name", "ilike", "Hồ Chí Minh")], limit=1
)
company = env.company
company.write({
    "name": "Cửa hàng Minh An",
    "street": "123 Nguyễn Trãi",
    "city": "Quận 1",
    "state_id": hcm.id,
    "country_id": vietnam.id,
    "phone": "028 3822 1234",
    "email": "lienhe@minhan.example",
})
assert company.currency_id.name == "VND", company.currency_id.name
env.ref("base.user_admin").write({"lang": "vi_VN", "tz": "Asia/Ho_Chi_Minh"})

# --- users: a salesperson, a cashier and an accountant ------------------------------
Users = env["res.users"].with_context(no_reset_password=True)
salesperson = Users.create({
    "name": "Trần Thị Hồng",
    "login": "salesperson",
    "password": "salesperson",
    "lang": "vi_VN",
    "tz": "Asia/Ho_Chi_Minh",
    "group_ids": [Command.link(env.ref("sales_team.group_sale_salesman").id)],
})
cashier = Users.create({
    "name": "Lê Văn Nam",
    "login": "cashier",
    "password": "cashier",
    "lang": "vi_VN",
    "tz": "Asia/Ho_Chi_Minh",
    "group_ids": [Command.link(env.ref("sales_team.group_sale_salesman").id),
                  Command.link(env.ref("account.group_account_invoice").id)],
})
accountant = Users.create({
    "name": "Phạm Thu Hà",
    "login": "accountant",
    "password": "accountant",
    "lang": "vi_VN",
    "tz": "Asia/Ho_Chi_Minh",
    "group_ids": [Command.link(env.ref("account.group_account_manager").id)],
})
sellers = [env.ref("base.user_admin"), salesperson, cashier]

# --- products -------------------------------------------------------------------
products = env["product.product"].create([
    {"name": name, "list_price": price, "type": "consu", "sale_ok": True}
    for name, price in [
        ("Gạo ST25 (5 kg)", 185000), ("Nước mắm Phú Quốc 500 ml", 65000),
        ("Cà phê Trung Nguyên 500 g", 120000), ("Sữa tươi Vinamilk (thùng 48 hộp)", 380000),
        ("Dầu ăn Neptune 2 l", 98000), ("Mì Hảo Hảo (thùng 30 gói)", 115000),
        ("Bánh quy Cosy 400 g", 52000), ("Trà Ô Long 200 g", 150000),
        ("Nước suối Lavie (thùng 24 chai)", 96000), ("Đường Biên Hòa 1 kg", 28000),
    ]
])

# --- customers -------------------------------------------------------------------
family = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
          "Bùi", "Đỗ", "Hồ", "Ngô", "Dương"]
male = [("Văn", "An"), ("Minh", "Khoa"), ("Quốc", "Bảo"), ("Đức", "Huy"), ("Văn", "Tùng"),
        ("Thành", "Long"), ("Hoàng", "Nam"), ("Gia", "Phúc"), ("Tuấn", "Anh"), ("Văn", "Hải")]
female = [("Thị", "Lan"), ("Thị", "Hoa"), ("Ngọc", "Anh"), ("Thu", "Trang"), ("Thị", "Mai"),
          ("Minh", "Thư"), ("Thanh", "Hương"), ("Bảo", "Ngọc"), ("Thị", "Hạnh"), ("Kim", "Chi")]
# Since 1 July 2025 an address is a ward (phường/xã) in one of the 34 provinces.
areas = [("Hồ Chí Minh", ["Phường Sài Gòn", "Phường Bến Thành", "Phường Tân Định",
                         "Phường Gia Định", "Phường Hạnh Thông", "Phường Thủ Đức"]),
         ("Hà Nội", ["Phường Ba Đình", "Phường Cầu Giấy", "Phường Đống Đa", "Phường Hoàn Kiếm"]),
         ("Đà Nẵng", ["Phường Hải Châu", "Phường Sơn Trà"]),
         ("Cần Thơ", ["Phường Ninh Kiều"]),
         ("Đồng Nai", ["Phường Trấn Biên", "Phường Long Khánh"])]
states = {
    name: env["res.country.state"].search(
        [("country_id", "=", vietnam.id), ("name", "ilike", name)], limit=1)
    for name, _wards in areas
}
prefixes = ["090", "091", "093", "094", "097", "098", "086", "088", "070", "077", "032", "035"]
used_phones = set()
customer_vals = []
for index in range(50):
    gender = "female" if index % 2 else "male"
    middle, given = rng.choice(female if gender == "female" else male)
    province, wards = rng.choice(areas)
    vals = {
        "name": f"{rng.choice(family)} {middle} {given}",
        "retail_gender": gender,
        "retail_birthday": fields.Date.to_date(
            f"{rng.randint(1958, 2011)}-{rng.randint(1, 12):02d}-"
            f"{rng.randint(1, 28):02d}"),
        "state_id": states[province].id,
        "city": rng.choice(wards),
        "country_id": vietnam.id,
        "user_id": rng.choice([salesperson, cashier]).id,
        "lang": "vi_VN",
        "customer_rank": 1,  # created from Customers, as a shop does
    }
    if index % 10 != 9:  # one walk-in customer in ten leaves no phone
        while True:
            phone = f"{rng.choice(prefixes)}{rng.randint(0, 9999999):07d}"
            if phone not in used_phones:
                used_phones.add(phone)
                break
        vals["phone"] = f"{phone[:4]} {phone[4:7]} {phone[7:]}"
    if index % 3 == 0:
        vals["email"] = f"khachhang{index + 1:02d}@example.com"
    customer_vals.append(vals)
customers = env["res.partner"].create(customer_vals)
# Word of mouth: a few customers were brought by others (their first purchase makes the
# referrer an Advocate in the pipeline).
for referred, referrer in ((10, 2), (11, 2), (20, 7)):
    customers[referred].retail_referrer_id = customers[referrer]
customers[:1].write({"is_company": True, "name": "Công ty TNHH Thực phẩm Hòa Bình",
                     "vat": "0312345678", "retail_gender": False, "retail_birthday": False})
# A pupil who buys snacks on the way to school.
customers[25].retail_birthday = today - relativedelta(years=13, days=40)
# The customers the owner keeps an eye on: tagged by hand.
(customers[2] | customers[7] | customers[12]).write({"category_id": [
    Command.link(env.ref("crm_retail.segment_important").tag_id.id)]})

# --- invoices and payments: a year of sales, the last ones partly unpaid ----------
term_30 = env.ref("account.account_payment_term_30days")
invoice_vals = []
for customer in customers[:44]:
    for _purchase in range(rng.randint(1, 5)):
        invoice_date = today - timedelta(days=rng.randint(1, 360))
        lines = [
            Command.create({"product_id": product.id, "quantity": rng.randint(1, 4)})
            for product in rng.sample(list(products), rng.randint(1, 4))
        ]
        invoice_vals.append({
            "move_type": "out_invoice",
            "partner_id": customer.id,
            "invoice_date": invoice_date,
            "invoice_payment_term_id": term_30.id,
            "invoice_user_id": customer.user_id.id or rng.choice(sellers).id,
            "invoice_line_ids": lines,
        })
# Two wholesale buyers (a canteen, a grocer) order by the case: VIP customers.
for customer, months_ago in ((customers[0], (2, 7)), (customers[4], (1, 5))):
    for months in months_ago:
        invoice_vals.append({
            "move_type": "out_invoice",
            "partner_id": customer.id,
            "invoice_date": today - relativedelta(months=months),
            "invoice_payment_term_id": term_30.id,
            "invoice_user_id": customer.user_id.id,
            "invoice_line_ids": [
                Command.create({"product_id": products[0].id, "quantity": 30}),
                Command.create({"product_id": products[3].id, "quantity": 20}),
            ],
        })
invoices = env["account.move"].create(invoice_vals)
invoices.action_post()
for invoice in invoices.sorted("invoice_date"):
    age = (today - invoice.invoice_date).days
    # Old invoices are paid; recent ones often not; some older ones stay overdue.
    if (age > 90 and rng.random() < 0.9) or (age <= 90 and rng.random() < 0.4):
        env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({
            "payment_date": min(today, invoice.invoice_date + timedelta(days=rng.randint(0, 25))),
        })._create_payments()

# A return: one customer brought goods back.
refund = env["account.move"].create({
    "move_type": "out_refund",
    "partner_id": customers[1].id,
    "invoice_date": today - timedelta(days=5),
    "invoice_line_ids": [Command.create({"product_id": products[0].id, "quantity": 1})],
})
refund.action_post()

# --- loyalty: points were earned by the invoices above; some are spent -----------
company.write({"retail_points_amount": 10000, "retail_point_value": 1000})
best = customers.sorted("retail_loyalty_points", reverse=True)[:3]
for customer in best:
    invoice = env["account.move"].create({
        "move_type": "out_invoice",
        "partner_id": customer.id,
        "invoice_date": today,
        "invoice_user_id": cashier.id,
        "invoice_line_ids": [Command.create({"product_id": products[2].id, "quantity": 2})],
    })
    invoice.retail_redeem_points(min(50, customer.retail_loyalty_points))
    invoice.action_post()
customers[5].retail_adjust_points(20, "Quà tặng khai trương cửa hàng")

# --- prospects, quotations and orders -----------------------------------------
# The six customers who never bought are prospects in the pipeline: the salespeople
# opened an opportunity for each; two are being worked on (Opportunity), three got a quotation
# (Quotation; one of them has just confirmed it), one was only just met (Target).
stages = env["crm.stage"]._retail_funnel_stages()  # {funnel step: stage}
prospects = customers[44:50]
opportunities = env["crm.lead"].create([{
    "name": f"{customer.name}: {rng.choice(products).name}",
    "type": "opportunity",
    "partner_id": customer.id,
    "user_id": customer.user_id.id,
    "stage_id": stages[1].id,
} for customer in prospects])
opportunities[3:5].write({"stage_id": stages[2].id})
opportunity_of = dict(zip(prospects, opportunities, strict=True))
orders = env["sale.order"].create([{
    "partner_id": customer.id,
    "user_id": customer.user_id.id,
    "opportunity_id": opportunity_of[customer].id if customer in prospects[:3] else False,
    "date_order": fields.Datetime.now() - timedelta(days=rng.randint(1, 6)),
    "order_line": [Command.create({"product_id": rng.choice(products).id,
                                   "product_uom_qty": rng.randint(1, 10)})],
} for customer in customers[40:50]])
orders[:5].action_confirm()

# --- debt limits, segments ------------------------------------------------------
company.write({"account_use_credit_limit": True, "retail_credit_limit_policy": "warn"})
for customer in customers[:10]:
    customer.write({"credit_limit": 5000000, "use_partner_credit_limit": True})

# --- the pipeline's history ----------------------------------------------------
# The opportunities moved today, as the demo's invoices were posted with tracking off (for
# speed). Give them the history a year of selling leaves, recorded as Odoo's stage
# tracking records it (a tracking value on stage_id per move, under the stage subtypes),
# which the funnel report and the chatter read: an opportunity opens on the customer's first
# purchase (or earlier, for a prospect a salesperson worked on) and moves on at the
# second purchase (Repeat), at the purchase that reaches the loyalty rule (Loyal) and at
# the first purchase of a customer it referred (Advocate).
now = fields.Datetime.now()
step_of = {stage.id: step for step, stage in stages.items()}
purchase_days = {}
for invoice in env["account.move"].search([
    ("move_type", "=", "out_invoice"), ("state", "=", "posted"),
    ("payment_state", "!=", "reversed"),
]):
    purchase_days.setdefault(invoice.commercial_partner_id, set()).add(invoice.invoice_date)
for order in orders.filtered(lambda order: order.state == "sale"):
    purchase_days.setdefault(order.partner_id.commercial_partner_id, set()).add(today)
purchase_days = {partner: sorted(days) for partner, days in purchase_days.items()}
loyal_count = company.retail_loyal_purchase_count
stage_info = env["crm.lead"].fields_get(["stage_id"])["stage_id"]
subtypes = {False: env.ref("crm.mt_lead_stage"), True: env.ref("crm.mt_lead_won")}


def moment(day):
    """A time of the shop's opening hours (07:00-17:00 in Vietnam) on ``day``, past."""
    return min(datetime.combine(day, time(rng.randint(0, 10), rng.randint(0, 59))),
               now - timedelta(minutes=30))


leads = env["crm.lead"].search([("type", "=", "opportunity")], order="id")
for lead in leads:
    partner = lead.partner_id.commercial_partner_id
    current = step_of[lead.stage_id.id]
    days = purchase_days.get(partner, [])
    facts = []  # (day, step) the purchases gave
    if days:
        facts.append((days[0], 4))
        if len(days) > 1:
            facts.append((days[1], 5))
        recent = [day for day in days if day > today - relativedelta(years=1)]
        if loyal_count and len(recent) >= loyal_count:
            facts.append((recent[loyal_count - 1], 6))
    for referred in customers.filtered(lambda c, partner=partner: c.retail_referrer_id == partner):
        if purchase_days.get(referred):
            facts.append((purchase_days[referred][0], 7))
    # A prospect first: the opportunity was opened weeks before the first purchase (or today).
    worked = lead in opportunities or rng.random() < 0.4
    first = facts[0][0] if facts and facts[0][1] == 4 else today
    path = []
    if worked:
        opened = first - timedelta(days=rng.randint(20, 45))
        for step, day in ((1, opened), (2, opened + timedelta(days=rng.randint(2, 8))),
                          (3, first - timedelta(days=rng.randint(1, 6)))):
            if step <= current:
                path.append((step, moment(day)))
    else:
        path.append((1, moment(first)))
    for day, step in sorted(facts):
        if path[-1][0] < step <= current:
            path.append((step, max(moment(day), path[-1][1] + timedelta(minutes=1))))
    if path[-1][0] != current:  # reached by a rule the facts above do not replay
        path.append((current, path[-1][1] + timedelta(hours=1)))
    for (old, _entered), (new, entered) in pairwise(path):
        message = lead._message_log(
            author_id=lead.user_id.partner_id.id or None,
            tracking_value_ids=[Command.create(env["mail.tracking.value"]._create_tracking_values(
                stages[old], stages[new], "stage_id", stage_info, lead))])
        message.write({"date": entered, "subtype_id": subtypes[stages[new].is_won].id})
    # The notes the funnel left as it moved the opportunity, dated with their moves (or with
    # their purchase, for a fact that found the opportunity further already).
    entered_at = {stages[step].name: max(moment(day), path[0][1]) for day, step in facts}
    entered_at.update({stages[step].name: entered for step, entered in path})
    for note in env["mail.message"].search([
        ("model", "=", "crm.lead"), ("res_id", "=", lead.id),
        ("tracking_value_ids", "=", False), ("message_type", "=", "notification"),
    ]):
        dated = [entered for name, entered in entered_at.items() if name in str(note.body)]
        note.date = dated[0] if dated else path[-1][1]
    won = [entered for step, entered in path if stages[step].is_won]
    # Creation and stage dates are Odoo's own columns, not written by the ORM.
    env.cr.execute(SQL(
        "UPDATE crm_lead SET create_date = %s, date_open = %s, date_last_stage_update = %s, "
        "date_closed = %s WHERE id = %s",
        path[0][1], path[0][1], path[-1][1], won[0] if won else None, lead.id))
    # What the opportunity is worth: the customer's sales of the year, or the deal in sight.
    quotation = orders.filtered(lambda order, partner=partner: order.partner_id == partner)
    sales = sum(invoices.filtered(
        lambda inv, partner=partner: inv.commercial_partner_id == partner
        and inv.invoice_date > today - relativedelta(years=1)).mapped("amount_total_signed"))
    lead.expected_revenue = round(sales or sum(quotation.mapped("amount_total"))
                                  or rng.randint(5, 40) * 100000, -3)
env["crm.lead"].invalidate_model(
    ["create_date", "date_open", "date_last_stage_update", "date_closed"])

env.cr.commit()  # the debt figures are written as the transaction is flushed
env["retail.segment"]._cron_recompute()

# The best customer follows their points on the portal (/my/points).
best = max(customers, key=lambda customer: customer.retail_loyalty_points)
best.email = best.email or "khachhang@example.com"
Users.create({
    "name": best.name, "login": "khachhang", "password": "khachhang", "partner_id": best.id,
    "group_ids": [Command.set([env.ref("base.group_portal").id])],
})

env.cr.commit()
overdue = invoices.filtered(
    lambda inv: inv.payment_state != "paid" and inv.invoice_date_due < today)
print(f"demo shop: {len(customers)} customers, {len(invoices)} invoices "
      f"({len(overdue)} overdue), {len(orders)} sale orders, {len(leads)} opportunities, "
      f"{sum(customers.mapped('retail_loyalty_points'))} points held, "
      f"{sum(customers.mapped('retail_debt_amount')):,.0f} VND owed "
      f"({len(customers.filtered(lambda c: c.retail_debt_status == 'overdue'))} customers overdue)")
