"""Builds the benchmark database of ``make bench`` (run by scripts/bench.sh through
``odoo shell`` on a new database where l10n_vn and crm_retail are installed).

How the data is made, so that it holds the rows the ORM would have written:

1. Through the ORM: the shop's products, ``SEED_CUSTOMERS`` customers (batches of 1,000,
   timed: the rate tells what 100,000 would take), their invoices (``INVOICE_LINES /
   COPIES`` product lines in all), a few full and partial credit notes, and payments
   (Odoo's register-payment wizard) that leave some invoices open, partly paid or
   overdue. Posting runs crm_retail's own hooks (points, statistics, tiers).
2. In SQL, set-based: the other customers, each a copy of a seed customer's row (the
   template) with its own name, code, phone (in varied formats; ``phone_sanitized`` is
   Odoo's own E.164 formatting of it), e-mail, birthday, gender and province. Customer
   ``k * SEED_CUSTOMERS + j`` follows seed customer ``j``'s buying pattern.
3. In SQL, set-based: ``COPIES - 1`` copies of every row the seed wrote in the accounting
   tables (moves, journal items, payments, reconciliations, tax and tag relations, the
   points history), with ``INSERT ... SELECT ... CROSS JOIN generate_series``. New ids come
   from each table's sequence (one block reserved per table); references between the
   copied rows follow the copy; customer columns move to copy ``k``'s customer; dates move
   back by a few days per copy (``shift(k)``), and names and sequence numbers are drawn
   again per journal and year, after the highest number the seed used, so the next
   invoice Odoo posts gets the next number.
4. Set-based, what the ORM would have stored from those rows: the purchase statistics
   (crm_retail's own aggregate query), the debt fields (``_retail_debt_refresh``), the
   points balances, tiers and customer ranks (a copy has its seed customer's history, so
   its balances are the seed customer's). The segment memberships that posting the seed
   made are cleared: the benchmark's first recompute starts from none.
5. Checks: on samples of copied rows, the ORM recomputes every stored computed field of
   customers, invoices, journal items and payments and must find the stored values (the
   ORM-made seed rows are the control); then one more invoice is created, posted and paid
   through the ORM.

The company does not open an opportunity on a first purchase (the funnel is not part
of this benchmark); everything else runs with crm_retail's defaults.

``BENCH_PHASE=refresh`` (after ``-u crm_retail`` on a reused database) only redoes 4 and 5.
"""
# ruff: noqa: F821  (``env`` is given by odoo shell)
import json
import os
import random
import time
from collections import defaultdict
from datetime import timedelta

from odoo import Command, fields
from odoo.tools import SQL

CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", 100_000))
SEED_CUSTOMERS = int(os.environ.get("BENCH_SEED_CUSTOMERS", 1_000))
INVOICE_LINES = int(os.environ.get("BENCH_INVOICE_LINES", 500_000))
COPIES = CUSTOMERS // SEED_CUSTOMERS  # copy 0 is the seed itself
SEED_LINES = INVOICE_LINES // COPIES
SEED_DAYS = 700  # invoices spread over the last ~2 years
SHIFT_DAYS = 50  # copy k is dated shift(k) = (17 k mod 50) days earlier: a permutation
assert CUSTOMERS % SEED_CUSTOMERS == 0 and INVOICE_LINES % COPIES == 0

PHASE = os.environ.get("BENCH_PHASE", "build")
env = env(context=dict(env.context, tracking_disable=True, mail_notrack=True,
                       mail_create_nolog=True))
cr = env.cr
today = fields.Date.context_today(env.user)
company = env.company
vietnam = env.ref("base.vn")


def log(message):
    print(f"[bench build] {message}", flush=True)


def timed(label):
    """Context manager printing the time and query count of a step (and its ``note``)."""
    class Timer:
        note = ""

        def __enter__(self):
            self.start, self.queries = time.perf_counter(), cr.sql_log_count
            return self

        def __exit__(self, *exc):
            self.seconds = time.perf_counter() - self.start
            if not exc[0]:
                log(f"{label}: {self.seconds:.1f} s, {cr.sql_log_count - self.queries} queries"
                    + (f", {self.note}" if self.note else ""))
    return Timer()


def scalar(query):
    cr.execute(query)
    return cr.fetchone()[0]


# ----------------------------------------------------------------------------------
# Customers: one generator for the ORM-made and the SQL-made ones
# ----------------------------------------------------------------------------------

FAMILY = (["Nguyễn"] * 8 + ["Trần"] * 3 + ["Lê"] * 2 + ["Phạm"] * 2
          + ["Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
             "Dương", "Lý", "Đinh", "Trịnh", "Mai", "Tô"])
MALE = [("Văn", "An"), ("Minh", "Khoa"), ("Quốc", "Bảo"), ("Đức", "Huy"), ("Văn", "Tùng"),
        ("Thành", "Long"), ("Hoàng", "Nam"), ("Gia", "Phúc"), ("Tuấn", "Anh"), ("Văn", "Hải"),
        ("Hữu", "Thắng"), ("Công", "Vinh"), ("Đình", "Trọng"), ("Quang", "Hải")]
FEMALE = [("Thị", "Lan"), ("Thị", "Hoa"), ("Ngọc", "Anh"), ("Thu", "Trang"), ("Thị", "Mai"),
          ("Minh", "Thư"), ("Thanh", "Hương"), ("Bảo", "Ngọc"), ("Thị", "Hạnh"), ("Kim", "Chi"),
          ("Thùy", "Dung"), ("Phương", "Linh"), ("Khánh", "Vy"), ("Mỹ", "Duyên")]
MOBILE_PREFIXES = ["090", "091", "093", "094", "096", "097", "098", "086", "088",
                   "070", "076", "077", "079", "081", "083", "085", "032", "033", "035",
                   "037", "039", "056", "058"]


def phone_formats(digits):
    """The ways a shop writes the same mobile number (10 digits, leading 0)."""
    national = digits[1:]
    return [
        digits,
        f"{digits[:3]} {digits[3:6]} {digits[6:]}",
        f"{digits[:4]} {digits[4:7]} {digits[7:]}",
        f"{digits[:3]}.{digits[3:6]}.{digits[6:]}",
        f"+84 {national[:2]} {national[2:5]} {national[5:]}",
        f"+84{national}",
        f"({digits[:3]}) {digits[3:6]}-{digits[6:]}",
        f"{digits[:4]}-{digits[4:7]}-{digits[7:]}",
    ]


def customer_values(index, states):
    """Deterministic values of customer ``index`` (0-based)."""
    rng = random.Random(f"crm_retail-bench-customer-{index}")
    roll = rng.random()
    gender = ("female" if roll < 0.50 else "male" if roll < 0.93
              else "other" if roll < 0.95 else False)
    middle, given = rng.choice(FEMALE if gender == "female" else MALE)
    vals = {
        "name": f"{rng.choice(FAMILY)} {middle} {given}",
        "retail_gender": gender,
        "country_id": vietnam.id,
        "lang": "vi_VN",
        "customer_rank": 1,
    }
    roll = rng.random()
    vals["state_id"] = (states["VN-SG"] if roll < 0.25 else states["VN-HN"] if roll < 0.45
                        else rng.choice(list(states.values())))
    # Unique per index: 7919 is prime to 10^7.
    digits = (MOBILE_PREFIXES[index % len(MOBILE_PREFIXES)]
              + f"{(index * 7919 + 1_234_567) % 10_000_000:07d}")
    if rng.random() < 0.95:  # walk-in customers leave no phone
        vals["phone"] = rng.choice(phone_formats(digits))
    if rng.random() < 0.35:
        vals["email"] = f"khachhang{index + 1:06d}@example.com"
    roll = rng.random()
    if roll < 0.003:
        year = rng.choice([1964, 1988, 2000, 2012])
        vals["retail_birthday"] = fields.Date.to_date(f"{year}-02-29")
    elif roll < 0.88:
        roll = rng.random()
        age = (rng.randint(5, 14) if roll < 0.05 else rng.randint(15, 21) if roll < 0.20
               else rng.randint(22, 49) if roll < 0.75 else rng.randint(50, 85))
        vals["retail_birthday"] = today - timedelta(days=age * 365 + rng.randint(0, 364))
    return vals


def vn_states():
    return {state.code: state.id for state in env["res.country.state"].search(
        [("country_id", "=", vietnam.id)])}


def create_seed_customers():
    states = vn_states()
    Partner = env["res.partner"]
    customers = Partner.browse()
    with timed(f"ORM: {SEED_CUSTOMERS:,} customers, batches of 1,000") as timer:
        for start in range(0, SEED_CUSTOMERS, 1000):
            customers |= Partner.create([customer_values(index, states) for index in
                                         range(start, min(start + 1000, SEED_CUSTOMERS))])
        customers.flush_recordset()
    rate = SEED_CUSTOMERS / timer.seconds
    log(f"ORM customer create: {rate:,.0f} customers/s, so {CUSTOMERS:,} would take "
        f"{CUSTOMERS / rate:,.0f} s: the others are made in SQL")
    ids = customers.ids
    assert ids == list(range(ids[0], ids[0] + len(ids))), "seed customer ids not contiguous"
    return customers


def create_bulk_customers(seed):
    """Customers SEED_CUSTOMERS..CUSTOMERS-1 in one INSERT ... SELECT: each copies every
    column of its seed customer (what the ORM defaulted and computed for a customer) and
    gets its own values for the columns that differ from one customer to the next."""
    states = vn_states()
    count = CUSTOMERS - SEED_CUSTOMERS
    Partner = env["res.partner"]
    with timed(f"SQL: {count:,} more customers"):
        values = [customer_values(index, states) for index in range(SEED_CUSTOMERS, CUSTOMERS)]
        # Odoo's own formatting (phone_validation), as its compute would store it.
        sanitized = [(v.get("phone") and Partner._phone_format_number(v["phone"], vietnam))
                     or None for v in values]
        codes = Partner._retail_code_sequence().sudo()._retail_next_codes(count)
        base = scalar(SQL("SELECT nextval('res_partner_id_seq')"))
        cr.execute(SQL("SELECT setval('res_partner_id_seq', %s)", base + count - 1))
        overrides = {
            "id": SQL("%s + v.n - 1", base),
            "commercial_partner_id": SQL("%s + v.n - 1", base),
            "name": SQL("v.name"),
            "complete_name": SQL("v.name"),
            "ref": SQL("v.ref"),
            "phone": SQL("v.phone"),
            "phone_sanitized": SQL("v.phone_sanitized"),
            "email": SQL("v.email"),
            "email_normalized": SQL("v.email"),
            "retail_gender": SQL("v.gender"),
            "retail_birthday": SQL("v.birthday"),
            "retail_birthday_month": SQL("EXTRACT(MONTH FROM v.birthday)::int::text"),
            "state_id": SQL("v.state_id"),
        }
        columns = table_columns("res_partner")
        cr.execute(SQL(
            """
            INSERT INTO res_partner (%(columns)s)
            SELECT %(values)s
              FROM unnest(%(names)s::varchar[], %(refs)s::varchar[], %(phones)s::varchar[],
                          %(sanitized)s::varchar[], %(emails)s::varchar[],
                          %(genders)s::varchar[], %(birthdays)s::date[], %(state_ids)s::int[])
                   WITH ORDINALITY AS v(name, ref, phone, phone_sanitized, email, gender,
                                        birthday, state_id, n)
              JOIN res_partner t
                ON t.id = %(seed_lo)s + (%(seed_count)s + v.n - 1) %% %(seed_count)s
            """,
            columns=SQL(", ").join(SQL.identifier(c) for c in columns),
            values=SQL(", ").join(overrides.get(c, SQL("t.%s", SQL.identifier(c)))
                                  for c in columns),
            names=[v["name"] for v in values],
            refs=codes,
            phones=[v.get("phone") for v in values],
            sanitized=sanitized,
            emails=[v.get("email") for v in values],
            genders=[v["retail_gender"] or None for v in values],
            birthdays=[v.get("retail_birthday") for v in values],
            state_ids=[v["state_id"] for v in values],
            seed_lo=seed.ids[0],
            seed_count=SEED_CUSTOMERS,
        ))
        env.invalidate_all()
    return base


# ----------------------------------------------------------------------------------
# The seed: invoices, credit notes, payments through the ORM
# ----------------------------------------------------------------------------------

PRODUCTS = [
    ("Gạo ST25 (5 kg)", 185000), ("Nước mắm Phú Quốc 500 ml", 65000),
    ("Cà phê Trung Nguyên 500 g", 120000), ("Sữa tươi Vinamilk (thùng 48 hộp)", 380000),
    ("Dầu ăn Neptune 2 l", 98000), ("Mì Hảo Hảo (thùng 30 gói)", 115000),
    ("Bánh quy Cosy 400 g", 52000), ("Trà Ô Long 200 g", 150000),
    ("Nước suối Lavie (thùng 24 chai)", 96000), ("Đường Biên Hòa 1 kg", 28000),
    ("Nồi cơm điện Sunhouse", 890000), ("Quạt đứng Senko", 450000),
    ("Bột giặt OMO 6 kg", 245000), ("Dầu gội Clear 650 g", 175000),
    ("Bia Sài Gòn (thùng 24 lon)", 360000), ("Nước ngọt Pepsi (thùng 24 lon)", 210000),
    ("Khẩu trang y tế (hộp 50)", 45000), ("Bánh trung thu Kinh Đô", 320000),
    ("Áo thun nam", 199000), ("Ấm siêu tốc Philips", 650000),
]


def seed_plan(rng):
    """[(seed customer index, invoice date, [(product index, quantity)])], with exactly
    SEED_LINES product lines; one seed customer in ten never buys."""
    plan = []
    # About 2.3 invoices per buyer (a few regulars buy far more), 2.4 lines per invoice.
    counts = [1] * 50 + [2] * 22 + [3] * 12 + [4] * 6 + [5] * 4 + list(range(6, 11)) \
        + [12, 15, 20]
    sizes = [1] * 35 + [2] * 30 + [3] * 17 + [4] * 8 + [5, 6, 8] * 3 + [10]
    for index in range(SEED_CUSTOMERS):
        if index % 10 == 9:
            continue
        for _n in range(rng.choice(counts)):
            lines = [(rng.randrange(len(PRODUCTS)), rng.choice([1, 1, 1, 2, 2, 3, 5]))
                     for _line in range(rng.choice(sizes))]
            plan.append([index, today - timedelta(days=rng.randint(0, SEED_DAYS)), lines])
    total = sum(len(lines) for _i, _d, lines in plan)
    # Trim or pad, deterministically, to exactly SEED_LINES product lines.
    position = 0
    while total != SEED_LINES:
        lines = plan[position % len(plan)][2]
        if total > SEED_LINES and len(lines) > 1:
            lines.pop()
            total -= 1
        elif total < SEED_LINES:
            lines.append((rng.randrange(len(PRODUCTS)), 1))
            total += 1
        position += 7
    return plan


def create_seed_documents(customers):
    rng = random.Random("crm_retail-bench-seed")
    products = env["product.product"].create([
        {"name": name, "list_price": price, "type": "consu", "sale_ok": True}
        for name, price in PRODUCTS])
    term_30 = env.ref("account.account_payment_term_30days")
    plan = seed_plan(rng)
    Move = env["account.move"]
    invoices = Move.browse()
    with timed(f"ORM: {len(plan):,} invoices with {SEED_LINES:,} lines, created and posted "
               "in batches of 100"):
        for start in range(0, len(plan), 100):
            batch = Move.create([{
                "move_type": "out_invoice",
                "partner_id": customers[index].id,
                "invoice_date": invoice_date,
                "invoice_payment_term_id": term_30.id if rng.random() < 0.3 else False,
                "invoice_line_ids": [
                    Command.create({"product_id": products[product].id, "quantity": quantity})
                    for product, quantity in lines],
            } for index, invoice_date, lines in plan[start:start + 100]])
            batch.action_post()
            invoices |= batch
    # Returns: 2% of invoices fully cancelled by a credit note, 1% partly refunded.
    shuffled = list(invoices)
    rng.shuffle(shuffled)
    full = Move.browse(move.id for move in shuffled[:len(shuffled) // 50])
    partial = Move.browse(move.id for move in shuffled[len(full):len(full) + len(shuffled) // 100])
    with timed(f"ORM: {len(full)} full and {len(partial)} partial credit notes"):
        full._reverse_moves([{"invoice_date": min(today, move.invoice_date + timedelta(days=1)),
                              "date": min(today, move.invoice_date + timedelta(days=1))}
                             for move in full], cancel=True)
        refunds = Move.create([{
            "move_type": "out_refund",
            "partner_id": move.partner_id.id,
            "invoice_date": min(today, move.invoice_date + timedelta(days=2)),
            "reversed_entry_id": move.id,
            "invoice_line_ids": [Command.create({
                "product_id": move.invoice_line_ids[0].product_id.id, "quantity": 1})],
        } for move in partial])
        refunds.action_post()
        for refund in refunds:
            (refund + refund.reversed_entry_id).line_ids.filtered(
                lambda line: line.account_type == "asset_receivable"
                and not line.reconciled).reconcile()
    # Payments: old invoices are mostly paid, recent ones often not; some stay overdue.
    by_date = defaultdict(lambda: Move.browse())
    partly = []
    for invoice in (invoices - full).filtered("amount_residual").sorted("id"):
        age = (today - invoice.invoice_date).days
        roll = rng.random()
        paid, part = ((0.93, 0.95) if age > 60 else (0.70, 0.80) if age > 15 else (0.40, 0.45))
        # Paid within 20 days; the shop books the week's payments on its last day (one
        # wizard call per week: the ORM's batch path).
        paid_on = invoice.invoice_date + timedelta(days=rng.randint(0, 20))
        pay_date = min(today, paid_on + timedelta(days=6 - paid_on.weekday()))
        if roll < paid:
            by_date[pay_date] |= invoice
        elif roll < part:
            partly.append((invoice, pay_date))
    Register = env["account.payment.register"]
    with timed(f"ORM: payments for {sum(map(len, by_date.values())):,} invoices "
               f"(register wizard, one call per week) and {len(partly)} part payments"):
        for pay_date, batch in sorted(by_date.items()):
            Register.with_context(active_model="account.move", active_ids=batch.ids).create({
                "payment_date": pay_date, "group_payment": False})._create_payments()
        for invoice, pay_date in partly:
            Register.with_context(active_model="account.move", active_ids=invoice.ids).create({
                "payment_date": pay_date,
                "amount": round(invoice.amount_residual / 2, -3),
                "payment_difference_handling": "open"})._create_payments()
    # The wizards' rows are no data to copy.
    Register.search([]).unlink()
    return invoices


# ----------------------------------------------------------------------------------
# Multiplying the seed in SQL
# ----------------------------------------------------------------------------------

# Copied tables: every row the seed wrote (the database holds nothing else there).
ID_TABLES = ["account_full_reconcile", "account_payment", "account_move", "account_move_line",
             "account_partial_reconcile", "retail_points_line"]
REL_TABLES = ["account_move__account_payment", "account_move_line_account_tax_rel",
              "account_account_tag_account_move_line_rel"]
# Text columns that quote a move's name ("INV/2025/00012"): the copy quotes its copy's.
NAME_RE = r"[A-Z][A-Z0-9]*/[0-9]{4}/[0-9]+"
NAMED_COLUMNS = {
    "account_move": ["payment_reference", "ref"],
    "account_move_line": ["name", "ref"],
    "account_payment": ["name", "memo"],
    "retail_points_line": ["description"],
}
# Columns that must not be copied (unique tokens, hashes): left empty.
EMPTY_COLUMNS = {
    "account_move": ["access_token", "inalterable_hash", "secure_sequence_number",
                     "message_main_attachment_id"],
    "account_payment": ["message_main_attachment_id"],
}


def table_columns(table):
    cr.execute(SQL(
        """
        SELECT column_name FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position
        """, table))
    return [row[0] for row in cr.fetchall()]


def column_types(table):
    cr.execute(SQL(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = %s", table))
    return dict(cr.fetchall())


def foreign_keys(table):
    """{column: referenced table} of ``table``."""
    cr.execute(SQL(
        """
        SELECT a.attname, c.confrelid::regclass::text
          FROM pg_constraint c
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         WHERE c.contype = 'f' AND c.conrelid = %s::regclass
        """, table))
    return dict(cr.fetchall())


def check_nothing_else_references(blocks):
    """Every non-empty table pointing at the copied tables is copied too: else the copy
    would miss rows the ORM writes (a new module, say) and the bench must be taught."""
    cr.execute(SQL(
        """
        SELECT DISTINCT c.conrelid::regclass::text, a.attname
          FROM pg_constraint c
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
          JOIN pg_class r ON r.oid = c.conrelid
         WHERE c.contype = 'f' AND c.confrelid::regclass::text IN %s
        """, tuple(blocks)))
    copied = set(ID_TABLES) | set(REL_TABLES)
    for table, column in cr.fetchall():
        if table in copied:
            continue
        if scalar(SQL("SELECT COUNT(*) FROM %s WHERE %s IS NOT NULL",
                      SQL.identifier(table), SQL.identifier(column))):
            raise AssertionError(f"{table}.{column} points at seed rows and is not copied: "
                                 "teach bench/build.py to copy it")


def multiply(seed_customer_lo, bulk_customer_base):
    """COPIES - 1 copies of every seed row of the accounting tables, set-based."""
    copies = COPIES - 1
    # Id blocks: the copy k of row ``old`` of table T gets base + (k-1) span + (old - lo).
    blocks = {}
    for table in ID_TABLES:
        cr.execute(SQL("SELECT MIN(id), MAX(id) FROM %s", SQL.identifier(table)))
        lo, hi = cr.fetchone()
        if lo is None:
            continue
        span = hi - lo + 1
        sequence = f"{table}_id_seq"
        base = scalar(SQL("SELECT nextval(%s)", sequence))
        cr.execute(SQL("SELECT setval(%s, %s)", sequence, base + copies * span - 1))
        blocks[table] = (lo, span, base)
    check_nothing_else_references(blocks)

    def new_id(table, column):
        lo, span, base = blocks[table]
        return SQL("(%s + (g.k - 1) * %s + (%s - %s))", base, span, column, lo)

    def customer(column):
        return SQL("CASE WHEN %(c)s BETWEEN %(lo)s AND %(hi)s "
                   "THEN %(base)s + (g.k - 1) * %(seeds)s + (%(c)s - %(lo)s) ELSE %(c)s END",
                   c=column, lo=seed_customer_lo, hi=seed_customer_lo + SEED_CUSTOMERS - 1,
                   base=bulk_customer_base, seeds=SEED_CUSTOMERS)

    shift = SQL("((g.k * 17) %% %s)", SHIFT_DAYS)

    # Names and numbers of the copied moves: per journal and year prefix, after the seed's.
    cr.execute(SQL(
        """
        CREATE TEMP TABLE bench_move_copy ON COMMIT DROP AS
        WITH copies AS (
            SELECT g.k, m.id AS old_id, %(new_id)s AS new_id, m.name AS old_name,
                   m.journal_id, m.sequence_number AS old_number,
                   length(m.name) - length(m.sequence_prefix) AS padding,
                   regexp_replace(m.sequence_prefix, to_char(m.date, 'YYYY'),
                                  to_char(m.date - %(shift)s, 'YYYY')) AS prefix
              FROM account_move m CROSS JOIN generate_series(1, %(copies)s) AS g(k)
        ), numbered AS (
            SELECT c.*, COALESCE(
                       (SELECT MAX(s.sequence_number) FROM account_move s
                         WHERE s.journal_id = c.journal_id AND s.sequence_prefix = c.prefix), 0)
                   + row_number() OVER (PARTITION BY c.journal_id, c.prefix
                                        ORDER BY c.k, c.old_number, c.old_id) AS number
              FROM copies c
        )
        SELECT k, old_id, new_id, old_name, prefix, number,
               prefix || lpad(number::text, GREATEST(padding, length(number::text)), '0')
                   AS new_name
          FROM numbered
        """,
        new_id=new_id("account_move", SQL("m.id")), shift=shift, copies=copies))
    cr.execute("CREATE INDEX ON bench_move_copy (old_id, k)")
    cr.execute("CREATE INDEX ON bench_move_copy (old_name, k)")
    cr.execute("ANALYZE bench_move_copy")
    unnamed = scalar("SELECT COUNT(*) FROM account_move WHERE name IS NULL OR name = '/' "
                     "OR state != 'posted'")
    assert not unnamed, f"{unnamed} seed moves are not posted"

    def copy_table(table, extra=None, joins=None):
        types = column_types(table)
        references = foreign_keys(table)
        named = NAMED_COLUMNS.get(table, [])
        exprs = []
        name_joins = []
        for column in table_columns(table):
            col = SQL("t.%s", SQL.identifier(column))
            target = references.get(column)
            if extra and column in extra:
                expr = extra[column]
            elif column in EMPTY_COLUMNS.get(table, []):
                expr = SQL("NULL")
            elif column == "id":
                expr = new_id(table, col)
            elif target in blocks:
                expr = SQL("CASE WHEN %s IS NULL THEN NULL ELSE %s END", col,
                           new_id(target, col))
            elif target == "res_partner":
                expr = customer(col)
            elif types[column] == "date":
                expr = SQL("(%s - %s)", col, shift)
            elif column in named:
                alias = SQL.identifier(f"name_{column}")
                name_joins.append(SQL(
                    "LEFT JOIN bench_move_copy %(a)s ON %(a)s.k = g.k AND "
                    "%(a)s.old_name = substring(%(c)s FROM %(re)s)",
                    a=alias, c=col, re=NAME_RE))
                expr = SQL("COALESCE(replace(%(c)s, %(a)s.old_name, %(a)s.new_name), %(c)s)",
                           c=col, a=alias)
            else:
                expr = col
            exprs.append((column, expr))
        with timed(f"SQL: {copies} copies of {table}") as timer:
            cr.execute(SQL(
                """
                INSERT INTO %(table)s (%(columns)s)
                SELECT %(values)s
                  FROM %(table)s t CROSS JOIN generate_series(1, %(copies)s) AS g(k)
                  %(joins)s %(name_joins)s
                """,
                table=SQL.identifier(table),
                columns=SQL(", ").join(SQL.identifier(c) for c, _e in exprs),
                values=SQL(", ").join(e for _c, e in exprs),
                copies=copies, joins=joins or SQL(), name_joins=SQL(" ").join(name_joins),
            ))
            timer.note = f"{cr.rowcount:,} rows"

    def copy_rel(table):
        references = foreign_keys(table)
        columns = table_columns(table)
        with timed(f"SQL: {copies} copies of {table}") as timer:
            cr.execute(SQL(
                "INSERT INTO %(table)s (%(columns)s) SELECT %(values)s "
                "FROM %(table)s t CROSS JOIN generate_series(1, %(copies)s) AS g(k)",
                table=SQL.identifier(table),
                columns=SQL(", ").join(SQL.identifier(c) for c in columns),
                values=SQL(", ").join(
                    new_id(references[c], SQL("t.%s", SQL.identifier(c)))
                    if references.get(c) in blocks else SQL("t.%s", SQL.identifier(c))
                    for c in columns),
                copies=copies,
            ))
            timer.note = f"{cr.rowcount:,} rows"

    def matching_number(column):
        """The full reconciliation's id, or P + the smallest partial id of the group: the
        copies keep the seed's id order, so the smallest maps to the smallest."""
        return SQL(
            """CASE WHEN %(c)s LIKE 'P%%' THEN 'P' || %(partial)s
                    WHEN %(c)s ~ '^[0-9]+$' THEN %(full)s::text
                    ELSE %(c)s END""",
            c=column,
            partial=new_id("account_partial_reconcile", SQL("substr(%s, 2)::int", column))
            if "account_partial_reconcile" in blocks else SQL("NULL"),
            full=new_id("account_full_reconcile", SQL("%s::int", column))
            if "account_full_reconcile" in blocks else SQL("NULL"),
        )

    if "account_full_reconcile" in blocks:
        copy_table("account_full_reconcile")
    if "account_payment" in blocks:
        # Payments and their moves point at each other: the moves come second.
        copy_table("account_payment", extra={"move_id": SQL("NULL")})
    copy_table(
        "account_move",
        joins=SQL("JOIN bench_move_copy mc ON mc.old_id = t.id AND mc.k = g.k "
                  "LEFT JOIN res_partner np ON np.id = %s", customer(SQL("t.partner_id"))),
        extra={
            "name": SQL("mc.new_name"),
            "sequence_prefix": SQL("mc.prefix"),
            "sequence_number": SQL("mc.number"),
            "invoice_partner_display_name": SQL(
                "CASE WHEN t.invoice_partner_display_name IS NULL THEN NULL "
                "ELSE np.complete_name END"),
        })
    if "account_payment" in blocks:
        lo, span, base = blocks["account_payment"]
        with timed("SQL: the copied payments linked to their moves"):
            cr.execute(SQL(
                """
                UPDATE account_payment p
                   SET move_id = mc.new_id
                  FROM account_payment s
                  JOIN bench_move_copy mc ON mc.old_id = s.move_id
                 WHERE s.id < %(base)s
                   AND p.id = %(base)s + (mc.k - 1) * %(span)s + (s.id - %(lo)s)
                """, base=base, span=span, lo=lo))
    copy_table(
        "account_move_line",
        joins=SQL("JOIN bench_move_copy mc ON mc.old_id = t.move_id AND mc.k = g.k"),
        extra={"move_name": SQL("mc.new_name"),
               "matching_number": matching_number(SQL("t.matching_number"))})
    if "account_partial_reconcile" in blocks:
        copy_table("account_partial_reconcile")
    for table in REL_TABLES:
        copy_rel(table)
    if "retail_points_line" in blocks:
        copy_table("retail_points_line")
    # The copies' customers have their seed customer's history: the same balances,
    # tier and rank.
    with timed("SQL: points balances, tiers and ranks of the copies' customers"):
        cr.execute(SQL(
            """
            UPDATE res_partner p
               SET retail_loyalty_points = s.retail_loyalty_points,
                   retail_loyalty_points_total = s.retail_loyalty_points_total,
                   retail_loyalty_tier_id = s.retail_loyalty_tier_id,
                   customer_rank = s.customer_rank
              FROM res_partner s
             WHERE p.id BETWEEN %(base)s AND %(base)s + %(count)s - 1
               AND s.id = %(lo)s + (p.id - %(base)s) %% %(seeds)s
            """,
            base=bulk_customer_base, count=CUSTOMERS - SEED_CUSTOMERS,
            lo=seed_customer_lo, seeds=SEED_CUSTOMERS))
    blocks["res_partner"] = (seed_customer_lo, SEED_CUSTOMERS, bulk_customer_base)
    env["ir.config_parameter"].sudo().set_param("crm_retail_bench.blocks", json.dumps(blocks))
    env.invalidate_all()


# ----------------------------------------------------------------------------------
# Derived stored fields, set-based
# ----------------------------------------------------------------------------------

def fill_derived():
    Partner = env["res.partner"]
    with timed("purchase statistics: res.partner._retail_stats_refresh()"):
        cr.execute("SELECT id FROM res_partner WHERE id = commercial_partner_id")
        Partner._retail_stats_refresh([row[0] for row in cr.fetchall()])
    if hasattr(Partner, "_retail_debt_refresh"):
        with timed("debt fields: res.partner._retail_debt_refresh()"):
            Partner._retail_debt_refresh()
    else:
        log("debt fields: _retail_debt_refresh() not in the addon yet, skipped")
    env.invalidate_all()


def clear_memberships():
    """Posting the seed through the ORM put its customers in segments, one invoice at a
    time; the copies' customers are in none. The benchmark starts from none at all: its
    first recompute writes every membership."""
    if "retail.segment" in env:
        with timed("segment memberships cleared"):
            env["retail.segment"].with_context(active_test=False).search([])._clear_members()


# ----------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------

def orm_recompute_check(sample=150):
    """Recompute, with the ORM, every stored computed field of samples of copied and of
    seed rows; a field that differs on copies but not on the seed is a generator bug.
    In a transaction of its own, rolled back: nothing is written."""
    with env.registry.cursor() as check_cr:
        try:
            _orm_recompute_check(env(cr=check_cr), sample)
        finally:
            check_cr.rollback()


def _orm_recompute_check(env, sample):
    cr = env.cr
    rng = random.Random("crm_retail-bench-check")
    blocks = json.loads(env["ir.config_parameter"].sudo().get_param("crm_retail_bench.blocks"))
    failures = []
    for model in ("res.partner", "account.move", "account.move.line", "account.payment"):
        Model = env[model]
        lo, span, base = blocks[Model._table]
        fnames = [name for name, field in Model._fields.items()
                  if field.store and field.compute and field.type != "binary"]
        samples = {}
        for label, condition in (
            ("seed", SQL("id BETWEEN %s AND %s", lo, lo + span - 1)),
            ("copies", SQL("id BETWEEN %s AND %s", base, base + (COPIES - 1) * span - 1)),
        ):
            cr.execute(SQL("SELECT id FROM %s WHERE %s", SQL.identifier(Model._table),
                           condition))
            ids = [row[0] for row in cr.fetchall()]
            samples[label] = Model.browse(sorted(rng.sample(ids, min(sample, len(ids)))))
        results = {label: _recompute_differences(env, records, fnames)
                   for label, records in samples.items()}
        # Recomputed all together, some fields of the ORM's own rows come out otherwise
        # (a line's balance from its amount in currency, say): each of those alone.
        for fname in list(results["seed"]):
            single = {label: _recompute_differences(env, records, [fname])
                      for label, records in samples.items()}
            for label, differing in single.items():
                results[label].pop(fname, None)
                results[label].update(differing)
        results = {label: (len(samples[label]), differing)
                   for label, differing in results.items()}
        seed_diff, copy_diff = results["seed"][1], results["copies"][1]
        bad = {f: n for f, n in copy_diff.items() if f not in seed_diff}
        log(f"ORM recompute check {model}: {len(fnames)} stored computed fields on "
            f"{results['copies'][0]} copied and {results['seed'][0]} seed records: "
            + (f"copies differ on {bad}" if bad else "copies hold what the ORM computes")
            + (f" (seed rows differ too on {dict(seed_diff)})" if seed_diff else ""))
        if bad:
            failures.append((model, bad))
    assert not failures, f"set-based copies differ from the ORM: {failures}"


def _recompute_differences(env, records, fnames):
    """{field: number of records whose stored value the ORM would compute otherwise}."""
    stored = {values["id"]: values for values in records.read(fnames)}
    for fname in fnames:
        env.add_to_compute(records._fields[fname], records)
    records._recompute_recordset(fnames)
    recomputed = {values["id"]: values for values in records.read(fnames)}
    env.transaction.clear()
    differing = defaultdict(int)
    for rid, values in stored.items():
        for fname in fnames:
            a, b = values[fname], recomputed[rid][fname]
            if isinstance(a, float) or isinstance(b, float):
                same = abs((a or 0) - (b or 0)) < 0.005
            else:
                same = a == b
            if not same:
                differing[fname] += 1
    return differing


def orm_smoke_test(customer_id):
    """Odoo keeps working: one more invoice, created, posted and paid through the ORM."""
    Move = env["account.move"]
    with timed("ORM: one more invoice created, posted and paid"):
        invoice = Move.create({
            "move_type": "out_invoice",
            "partner_id": customer_id,
            "invoice_date": today,
            "invoice_line_ids": [Command.create({
                "product_id": env["product.product"].search(
                    [("name", "=", PRODUCTS[0][0])], limit=1).id,
                "quantity": 2})],
        })
        invoice.action_post()
        env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({"payment_date": today})._create_payments()
    cr.execute(SQL(
        "SELECT MAX(sequence_number), COUNT(*) FROM account_move WHERE journal_id = %s "
        "AND sequence_prefix = %s AND id != %s",
        invoice.journal_id.id, invoice.sequence_prefix, invoice.id))
    last, count = cr.fetchone()
    assert invoice.sequence_number == last + 1, (invoice.name, last)
    assert invoice.payment_state in ("paid", "in_payment"), invoice.payment_state
    partner = invoice.commercial_partner_id
    assert partner.retail_last_purchase_date == today
    log(f"ORM smoke test: {invoice.name} posted (the number after {last:,}; "
        f"{count:,} invoices with that prefix) and {invoice.payment_state}, for "
        f"{partner.name}, whose statistics now show {partner.retail_purchase_count} purchases")


def summary():
    cr.execute("""
        SELECT (SELECT COUNT(*) FROM res_partner WHERE customer_rank > 0 AND parent_id IS NULL
                  AND id NOT IN (SELECT partner_id FROM res_company)),
               (SELECT COUNT(*) FROM account_move WHERE move_type = 'out_invoice'
                  AND state = 'posted'),
               (SELECT COUNT(*) FROM account_move WHERE move_type = 'out_refund'
                  AND state = 'posted'),
               (SELECT COUNT(*) FROM account_move_line l JOIN account_move m ON m.id = l.move_id
                 WHERE m.move_type = 'out_invoice' AND m.state = 'posted'
                   AND l.display_type = 'product'),
               (SELECT COUNT(*) FROM account_move_line),
               (SELECT COUNT(*) FROM account_payment),
               (SELECT COUNT(*) FROM account_move WHERE move_type = 'out_invoice'
                  AND state = 'posted' AND payment_state IN ('not_paid', 'partial')),
               (SELECT COUNT(*) FROM retail_points_line)
    """)
    customers, invoices, refunds, lines, items, payments, open_invoices, points = cr.fetchone()
    log(f"database: {customers:,} customers, {invoices:,} posted invoices with {lines:,} "
        f"invoice lines, {refunds:,} credit notes, {payments:,} payments, {items:,} journal "
        f"items, {open_invoices:,} invoices open, {points:,} points history lines")
    return customers, lines


if PHASE == "build":
    if "retail_create_lead_on_purchase" in company._fields:
        company.retail_create_lead_on_purchase = False
    seed = create_seed_customers()
    bulk_base = create_bulk_customers(seed)
    create_seed_documents(seed)
    env.flush_all()
    multiply(seed.ids[0], bulk_base)
fill_derived()
env.cr.commit()  # also runs the addon's commit hooks (the seed customers' debt, segments)
clear_memberships()
env.cr.commit()
orm_recompute_check()
blocks = json.loads(env["ir.config_parameter"].sudo().get_param("crm_retail_bench.blocks"))
_lo, _span, bulk_base = blocks["res_partner"]
orm_smoke_test(bulk_base + CUSTOMERS - SEED_CUSTOMERS - 1)
customer_count, line_count = summary()
assert customer_count >= CUSTOMERS and line_count >= INVOICE_LINES, (customer_count, line_count)
env.cr.commit()
log("done")
