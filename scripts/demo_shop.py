"""Builds the Vietnamese demo shop in a new database (run by scripts/run.sh through
`odoo shell`): company, users, products, ~50 customers, invoices, payments, quotations.

Deterministic (fixed seed), dated relative to today so that some invoices are overdue.
"""
# ruff: noqa: F821  (``env`` is given by odoo shell)
import random
from datetime import timedelta

from odoo import Command, fields

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

# --- users: a salesperson and a cashier ------------------------------------------
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
areas = [("Hồ Chí Minh", ["Quận 1", "Quận 3", "Quận 7", "Bình Thạnh", "Gò Vấp", "Thủ Đức"]),
         ("Hà Nội", ["Ba Đình", "Cầu Giấy", "Đống Đa", "Hoàn Kiếm"]),
         ("Đà Nẵng", ["Hải Châu", "Sơn Trà"]),
         ("Cần Thơ", ["Ninh Kiều"]),
         ("Đồng Nai", ["Biên Hòa", "Long Khánh"])]
states = {
    name: env["res.country.state"].search(
        [("country_id", "=", vietnam.id), ("name", "ilike", name)], limit=1)
    for name, _districts in areas
}
prefixes = ["090", "091", "093", "094", "097", "098", "086", "088", "070", "077", "032", "035"]
used_phones = set()
customer_vals = []
for index in range(50):
    gender = "female" if index % 2 else "male"
    middle, given = rng.choice(female if gender == "female" else male)
    province, districts = rng.choice(areas)
    vals = {
        "name": f"{rng.choice(family)} {middle} {given}",
        "gender": gender,
        "birthday": fields.Date.to_date(f"{rng.randint(1958, 2011)}-{rng.randint(1, 12):02d}-"
                                        f"{rng.randint(1, 28):02d}"),
        "state_id": states[province].id,
        "city": rng.choice(districts),
        "country_id": vietnam.id,
        "user_id": rng.choice([salesperson, cashier]).id,
        "lang": "vi_VN",
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
                     "vat": "0312345678", "gender": False, "birthday": False})

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
best = customers.sorted("loyalty_points", reverse=True)[:3]
for customer in best:
    invoice = env["account.move"].create({
        "move_type": "out_invoice",
        "partner_id": customer.id,
        "invoice_date": today,
        "invoice_user_id": cashier.id,
        "invoice_line_ids": [Command.create({"product_id": products[2].id, "quantity": 2})],
    })
    invoice.retail_redeem_points(min(50, customer.loyalty_points))
    invoice.action_post()
customers[5].retail_adjust_points(20, "Quà tặng khai trương cửa hàng")

# --- quotations and orders -----------------------------------------------------
orders = env["sale.order"].create([{
    "partner_id": customer.id,
    "user_id": customer.user_id.id,
    "order_line": [Command.create({"product_id": rng.choice(products).id,
                                   "product_uom_qty": rng.randint(1, 10)})],
} for customer in customers[40:50]])
orders[:5].action_confirm()

# --- debt limits, segments ------------------------------------------------------
company.write({"account_use_credit_limit": True, "retail_credit_limit_policy": "warn"})
for customer in customers[:10]:
    customer.write({"credit_limit": 5000000, "use_partner_credit_limit": True})
env.cr.commit()  # the debt figures are written as the transaction is flushed
env["retail.segment"]._cron_recompute()

env.cr.commit()
overdue = invoices.filtered(
    lambda inv: inv.payment_state != "paid" and inv.invoice_date_due < today)
print(f"demo shop: {len(customers)} customers, {len(invoices)} invoices "
      f"({len(overdue)} overdue), {len(orders)} sale orders, "
      f"{sum(customers.mapped('loyalty_points'))} points held, "
      f"{sum(customers.mapped('debt_amount')):,.0f} VND owed "
      f"({len(customers.filtered(lambda c: c.debt_status == 'overdue'))} customers overdue)")
