"""Two Odoo servers on one database, as a shop that outgrew one machine runs them: each
with HTTP workers and a cron worker, sharing the PostgreSQL. Every cron of the addon is
made due at once, while cashiers keep working on both servers, and must run once for
that due time, send nothing twice and leave every fact right; a long cron split by
``_commit_progress`` whose server is killed (SIGKILL) mid-run is finished by the other
server with no customer done twice.

What is observed, the way Odoo's scheduler records it: its log lines (``Job 'name' (id)
starting`` / ``fully done`` / ``partially done``, logged by the worker that holds the
job's row lock), the ``ir_cron_progress`` rows (one per call of the cron's method, with
the items committed), ``lastcall``/``nextcall``, and what the crons wrote: mails (in the
database, then as Odoo's mail queue delivers them to an SMTP sink of the test),
reminders, points, activities, facts.

Odoo's other crons are postponed on the copy (the mail queue is run when the addon's
crons are done): they would only make the run longer. Each wait has its own deadline
(the project has no pytest-timeout); the whole file takes about two minutes."""
import contextlib
import email
import email.policy
import os
import re
import shutil
import signal
import socketserver
import threading
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from itertools import pairwise

import psycopg2
import pytest
import pytz
from conftest import (
    FILESTORE,
    PG_ENV,
    ROOT,
    ApiError,
    OdooClient,
    _shell,
    run_audit,
    serve,
    wait_for_facts,
)

# crm_retail.models.retail_customer_care.BATCH_SIZE (a constant, no parameter): one more
# batch than it takes.
BIRTHDAYS = 510
THANKS = 8
FOLLOW_UPS = 6
FOLLOW_UP_DAYS = 3
DEBTORS = 40
# Excluded from reminders (retail_no_reminder) until the resume case turns them on.
RESUMED = 80
EXPIRING = 20
# Queued facts, drained by the cron in batches of DRAIN_BATCH (its batch_size parameter).
QUEUED = 23
DRAIN_BATCH = 5
# Tiers as the addon ships them (crm_retail/data/retail_tier_data.xml): name by threshold.
TIERS = ((5000, "Diamond"), (2000, "Gold"), (500, "Silver"), (0, "Member"))
WAIT = 120  # seconds for the crons' due run
CASHIER_SECONDS = 20
JOB_LINE = re.compile(
    r"^(?P<at>\S+ \S+) (?P<pid>\d+) \w+ \S+ odoo\.addons\.base\.models\.ir_cron: "
    r"Job '(?P<name>[^']+)' \((?P<id>\d+)\) "
    r"(?P<event>starting|fully done|partially done|failed)\b")


# ----------------------------------------------------------------------
# An SMTP server that keeps what it is given: what was really sent
# ----------------------------------------------------------------------

class _SmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self):
        self.reply("220 sink ESMTP")
        recipients = []
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.reply("250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8")
            elif verb == b"MAIL":
                recipients = []
                self.reply("250 OK")
            elif verb == b"RCPT":
                recipients.append(re.search(rb"<([^>]*)>", line).group(1).decode().lower())
                self.reply("250 OK")
            elif verb == b"DATA":
                self.reply("354 End with <CRLF>.<CRLF>")
                lines = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(data[1:] if data.startswith(b"..") else data)
                message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                with self.server.lock:
                    self.server.delivered += [(rcpt, str(message["Subject"]))
                                              for rcpt in recipients]
                self.reply("250 OK queued")
            elif verb == b"QUIT":
                self.reply("221 Bye")
                return
            else:  # HELO, RSET, NOOP
                self.reply("250 OK")


class _SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.lock = threading.Lock()
        self.delivered = []


# ----------------------------------------------------------------------
# The database, read and nudged directly
# ----------------------------------------------------------------------

def _connect(db):
    cnx = psycopg2.connect(host=PG_ENV["PGHOST"], user="odoo", dbname=db)
    cnx.autocommit = True
    return cnx


def _rows(cnx, query, params=None):
    with cnx.cursor() as cr:
        cr.execute(query, params)
        return cr.fetchall() if cr.description else []


def _now(cnx):
    """The database's UTC clock, as Odoo stores datetimes."""
    return _rows(cnx, "SELECT now() AT TIME ZONE 'UTC'")[0][0]


def _wake_crons(db):
    """What ``ir.cron._notifydb`` sends: the cron workers, listening on the ``postgres``
    database, poll ``db`` now instead of at their next minute."""
    with contextlib.closing(_connect("postgres")) as cnx:
        _rows(cnx, "SELECT pg_notify('cron_trigger', %s)", [db])


def _make_due(cnx, db, cron_ids):
    """The crons' time comes: nextcall a minute ago, and the workers woken. Returns the
    moment, to the second as Odoo writes lastcall."""
    start = _now(cnx).replace(microsecond=0)
    time.sleep(1)  # nothing before it shares its second
    _rows(cnx, "UPDATE ir_cron SET nextcall = %s WHERE id = ANY(%s)",
          [start - timedelta(minutes=1), list(cron_ids)])
    _wake_crons(db)
    return start


def _wait_done(cnx, db, cron_ids, since, timeout=WAIT):
    """Until each cron completed a run begun after ``since`` (its lastcall, set when a
    run is fully done or failed), waking the workers every few seconds: a partially done
    run is taken up again at once only on a wake-up (ODOO_NOTIFY_CRON_CHANGES)."""
    deadline = time.monotonic() + timeout
    while True:
        pending = [cron_id for cron_id, in _rows(cnx, """
            SELECT id FROM ir_cron
             WHERE id = ANY(%s) AND (lastcall IS NULL OR lastcall < %s)""",
            [list(cron_ids), since])]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"crons {pending} did not finish within {timeout} s")
        _wake_crons(db)
        time.sleep(2)


# ----------------------------------------------------------------------
# The servers' logs
# ----------------------------------------------------------------------

def _log_size(path):
    return path.stat().st_size if path.exists() else 0


def _job_events(logs, offsets):
    """[(server, time, worker pid, cron id, event)] logged since ``offsets``."""
    events = []
    for server, path in logs.items():
        with open(path, encoding="utf-8", errors="replace") as log:
            log.seek(offsets[server])
            for line in log:
                if match := JOB_LINE.match(line):
                    at = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f")
                    events.append((server, at, int(match["pid"]), int(match["id"]),
                                   match["event"]))
    return sorted(events, key=lambda event: event[1])


def _runs(events):
    """{cron id: [(server, start, end or None, outcome)]}: each acquisition of a job,
    from its start to its end line in the same worker."""
    runs, open_runs = defaultdict(list), {}
    for server, at, pid, cron_id, event in events:
        if event == "starting":
            open_runs[server, pid, cron_id] = at
        else:
            start = open_runs.pop((server, pid, cron_id), None)
            runs[cron_id].append((server, start, at, event))
    for (server, _pid, cron_id), start in open_runs.items():
        runs[cron_id].append((server, start, None, "unfinished"))
    return runs


def _children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return [int(child) for child in children.read().split()]


def _kill_server(server):
    """The machine dies: the master first (it would fork new workers), then its workers,
    all with SIGKILL."""
    workers = _children(server.pid)
    os.kill(server.pid, signal.SIGKILL)
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    server.wait(10)


# ----------------------------------------------------------------------
# The shop: customers that give every cron work
# ----------------------------------------------------------------------

def _shop_today(cnx, company_id):
    """``retail.customer.care._today``: the day in the company's timezone."""
    [(tz, country)] = _rows(cnx, """
        SELECT p.tz, c.code FROM res_company co
          JOIN res_partner p ON p.id = co.partner_id
          LEFT JOIN res_country c ON c.id = p.country_id
         WHERE co.id = %s""", [company_id])
    zone = tz or (pytz.country_timezones.get(country or "") or ["UTC"])[0]
    return datetime.now(pytz.timezone(zone)).date()


def _invoices(admin, rows):
    """Post one invoice per (customer, invoice date, due date, amount), in one call."""
    moves = admin.call("account.move", "create", vals_list=[{
        "move_type": "out_invoice",
        "partner_id": partner_id,
        "invoice_date": str(invoice_date),
        "invoice_date_due": str(due),
        "invoice_line_ids": [(0, 0, {"name": "Hàng", "quantity": 1, "price_unit": amount,
                                     "tax_ids": [(5, 0, 0)]})],
    } for partner_id, invoice_date, due, amount in rows])
    admin.call("account.move", "action_post", ids=moves)
    return moves


def _customers(admin, prefix, count, **vals):
    return admin.call("res.partner", "create", vals_list=[{
        "name": f"{prefix} {number:03d}",
        "email": f"{prefix.lower().replace(' ', '.')}.{number}@example.com",
        **vals} for number in range(count)])


def _build_shop(admin, cnx, company_id):
    today = _shop_today(cnx, company_id)
    admin.call("res.company", "write", ids=[company_id], vals={
        "email": "shop@example.com",
        "retail_points_amount": 1000, "retail_points_min_amount": 0,
        "retail_points_expiry_months": 12,
        "retail_birthday_greeting": True, "retail_birthday_points": 10,
        "retail_thank_you_mail": True, "retail_followup_days": FOLLOW_UP_DAYS,
    })
    # A second company with a segment of its own: the segment cron commits per company.
    (branch,) = admin.call("res.company", "create", vals_list=[{"name": "Chi nhánh 2"}])
    admin.call("retail.segment", "create", vals_list=[{
        "name": "Khách mua (chi nhánh 2)", "company_id": branch, "use_purchases": True,
        "purchase_days": 365, "purchase_min": 1}])
    # 28 years keep 29 February a birthday.
    born = date(today.year - 28, today.month, today.day)
    later = today + timedelta(days=30)
    shop = {
        "today": today,
        # Customers of the shop (imported with their rank) whose birthday it is.
        "birthday": _customers(admin, "Sinh nhat", BIRTHDAYS, retail_birthday=str(born),
                               customer_rank=1),
        "thank": _customers(admin, "Mua moi", THANKS),
        "follow": _customers(admin, "Theo doi", FOLLOW_UPS),
        "debtor": _customers(admin, "No qua han", DEBTORS),
        "resumed": _customers(admin, "No sau", RESUMED, retail_no_reminder=True),
        "expiring": _customers(admin, "Diem cu", EXPIRING, retail_no_reminder=True),
    }
    # Each debtor reaches the 7-day level; every second one the 30-day level, every
    # fourth the 60-day one: {customer: levels reached}.
    shop["levels"] = {partner_id: {7} | ({30} if n % 2 == 0 else set())
                      | ({60} if n % 4 == 0 else set())
                      for n, partner_id in enumerate(shop["debtor"])}
    overdue = {7: 10, 30: 40, 60: 70}
    _invoices(admin, [
        *[(p, today, later, 120000) for p in shop["thank"]],
        *[(p, today - timedelta(days=FOLLOW_UP_DAYS), later, 80000) for p in shop["follow"]],
        *[(p, today - timedelta(days=overdue[level]), today - timedelta(days=overdue[level]),
           50000) for p, levels in shop["levels"].items() for level in sorted(levels)],
        *[(p, today - timedelta(days=10), today - timedelta(days=10), 30000)
          for p in shop["resumed"]],
        # Points earned 400 days ago: they expire.
        *[(p, today - timedelta(days=400), today - timedelta(days=400), 1000000)
          for p in shop["expiring"]],
    ])
    # What a night leaves stale, written as such:
    # - facts a crash left queued (purchase statistics lost),
    queued = shop["queued"] = shop["resumed"][:QUEUED]
    _rows(cnx, """UPDATE res_partner SET retail_total_sales = NULL,
                  retail_purchase_count = NULL WHERE id = ANY(%s)""", [queued])
    _rows(cnx, """INSERT INTO retail_customer_facts_queue (partner_id)
                  SELECT unnest(%s::int[])""", [queued])
    # - overdue figures of yesterday, when nothing was overdue yet,
    _rows(cnx, """UPDATE res_partner SET retail_debt_status = jsonb_build_object(%s, 'owes'),
                  retail_debt_overdue_amount = NULL, retail_debt_overdue_days = NULL
                  WHERE id = ANY(%s)""", [str(company_id), shop["debtor"]])
    # - tiers not placed yet.
    customers = [p for key in ("birthday", "thank", "follow", "debtor", "resumed", "expiring")
                 for p in shop[key]]
    _rows(cnx, "UPDATE res_partner SET retail_loyalty_tier_id = NULL WHERE id = ANY(%s)",
          [customers])
    shop["customers"] = customers
    return shop


# ----------------------------------------------------------------------
# The fixture: a copy of the installed database, two servers, the shop
# ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_servers(installed_db):
    db = f"crm_retail_crons_{os.getpid()}"
    _shell(f"drop_db {db}; copy_db {installed_db} {db}")
    cnx = _connect(db)
    # Odoo's own crons wait; the addon's too, until the shop is built.
    _rows(cnx, "UPDATE ir_cron SET nextcall = (now() AT TIME ZONE 'UTC') + interval '1 day'")
    _rows(cnx, "DELETE FROM ir_cron_trigger")
    crons = dict(_rows(cnx, """
        SELECT name, res_id FROM ir_model_data
         WHERE module = 'crm_retail' AND model = 'ir.cron'"""))
    [(mail_queue,)] = _rows(cnx, """
        SELECT res_id FROM ir_model_data
         WHERE module = 'mail' AND name = 'ir_cron_mail_scheduler_action'""")
    sink = _SmtpSink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    logs = {name: ROOT / ".local" / f"pytest-crons-{name}.log" for name in ("a", "b")}
    args = ["--workers=2", "--max-cron-threads=1", "--smtp=127.0.0.1",
            f"--smtp-port={sink.server_address[1]}",
            "--log-handler=odoo.addons.base.models.ir_cron:INFO",
            "--log-handler=odoo.addons.crm_retail:INFO"]
    try:
        with serve(db, logs["a"], args) as (url_a, server_a), \
                serve(db, logs["b"], args) as (url_b, server_b):
            admin = OdooClient(url_a, db)
            (user,) = admin.call("res.users", "read", ids=[admin.uid], fields=["company_id"])
            company_id = user["company_id"][0]
            started = time.monotonic()
            shop = _build_shop(admin, cnx, company_id)
            # The drain cron's own batch size, lowered in its code as an administrator can.
            admin.call("ir.cron", "write", ids=[crons["ir_cron_refresh_queued_facts"]], vals={
                "code": f"model._cron_drain_queue(batch_size={DRAIN_BATCH})"})
            print(f"\nshop built in {time.monotonic() - started:.0f} s")
            yield {
                "db": db, "cnx": cnx, "crons": crons, "sink": sink, "logs": logs,
                "servers": {"a": server_a, "b": server_b}, "urls": {"a": url_a, "b": url_b},
                "admin": admin, "company_id": company_id, "shop": shop, "ran": Counter(),
                "mail_queue": mail_queue,
            }
    finally:
        sink.shutdown()
        cnx.close()
        _shell(f"drop_db {db}")
        shutil.rmtree(FILESTORE / db, ignore_errors=True)


def _messages(cnx, partner_ids, subject_like):
    """{customer: messages on it whose subject is like ``subject_like``}."""
    return Counter(dict(_rows(cnx, """
        SELECT res_id, COUNT(*) FROM mail_message
         WHERE model = 'res.partner' AND res_id = ANY(%s) AND subject LIKE %s
         GROUP BY res_id""", [list(partner_ids), subject_like])))


def _progress(cnx, cron_id, since):
    """(calls of the cron's method, items they committed) since ``since``."""
    return _rows(cnx, """
        SELECT COUNT(*), COALESCE(SUM(done), 0) FROM ir_cron_progress
         WHERE cron_id = %s AND create_date >= %s""", [cron_id, since])[0]


def _send_queued_mails(env):
    """Odoo's mail queue, made due once the addon's crons are done: what they queued goes
    out through the SMTP sink."""
    cnx, cron_id = env["cnx"], env["mail_queue"]
    since = _make_due(cnx, env["db"], [cron_id])
    _wait_done(cnx, env["db"], [cron_id], since, timeout=60)
    assert _rows(cnx, """SELECT state, failure_reason, COUNT(*) FROM mail_mail
                         WHERE state != 'sent' GROUP BY 1, 2""") == []


def _deliveries(env, partner_ids):
    """{customer: Counter(subject up to its first comma or colon)} of what the SMTP sink
    received for these customers."""
    emails = dict(_rows(env["cnx"], "SELECT lower(email), id FROM res_partner WHERE id = ANY(%s)",
                        [list(partner_ids)]))
    with env["sink"].lock:
        delivered = list(env["sink"].delivered)
    found = defaultdict(Counter)
    for rcpt, subject in delivered:
        if rcpt in emails:
            found[emails[rcpt]][re.split("[,:]", subject)[0]] += 1
    return found


def _cashier(url, db, shop, stop, outcomes):
    """A cashier working while the crons run: points given to customers whose birthday it
    is and to customers whose old points expire, invoices posted for customers with
    overdue debt."""
    client = OdooClient(url, db)
    today = shop["today"]
    birthdays = shop["birthday"][::25]
    number = 0
    while not stop.is_set():
        try:
            for customer in (birthdays[number % len(birthdays)],
                             shop["expiring"][number % EXPIRING]):
                client.call("res.partner", "retail_adjust_points", ids=[customer], points=5,
                            reason="Khuyến mãi")
            _invoices(client, [(shop["debtor"][number % DEBTORS], today,
                                today + timedelta(days=30), 20000)])
            outcomes["done"] += 1
        except ApiError as error:
            outcomes["failed"].append(str(error))
        number += 1


def _expected_tier(points):
    return next(name for threshold, name in TIERS if points >= threshold)


def test_every_cron_runs_once_across_two_servers(two_servers):
    env = two_servers
    cnx, crons, shop, logs = env["cnx"], env["crons"], env["shop"], env["logs"]
    offsets = {server: _log_size(path) for server, path in logs.items()}
    stop, outcomes = threading.Event(), {"done": 0, "failed": []}
    cashiers = [threading.Thread(target=_cashier, args=(url, env["db"], shop, stop, outcomes))
                for url in env["urls"].values()]
    for cashier in cashiers:
        cashier.start()
    started = time.monotonic()
    # The cashiers work through the first part of the run, when every cron is busy.
    closing = threading.Timer(CASHIER_SECONDS, stop.set)
    closing.start()
    try:
        since = _make_due(cnx, env["db"], crons.values())
        _wait_done(cnx, env["db"], crons.values(), since)
    finally:
        closing.cancel()
        stop.set()
        for cashier in cashiers:
            cashier.join(60)
    print(f"crons done in {time.monotonic() - started:.0f} s, cashiers meanwhile: {outcomes}")
    assert outcomes["failed"] == [] and outcomes["done"]
    now = _now(cnx)

    # Once per due time: one full run of each, never two at a time, rescheduled after.
    runs = _runs(_job_events(logs, offsets))
    names = {cron_id: name for name, cron_id in crons.items()}
    for cron_id, name in names.items():
        ends = Counter(outcome for *_run, outcome in runs[cron_id])
        assert ends["fully done"] == 1, (name, runs[cron_id])
        assert set(ends) <= {"fully done", "partially done"}, (name, runs[cron_id])
        spans = sorted((start, end) for _server, start, end, _outcome in runs[cron_id])
        assert None not in (bound for span in spans for bound in span), runs[cron_id]
        for (_start, end), (next_start, _end) in pairwise(spans):
            assert end <= next_start, f"{name} ran twice at once: {runs[cron_id]}"
    schedule = {cron_id: rest for cron_id, *rest in _rows(cnx, """
        SELECT id, lastcall, nextcall, failure_count FROM ir_cron WHERE id = ANY(%s)""",
        [list(names)])}
    for cron_id, name in names.items():
        lastcall, nextcall, failures = schedule[cron_id]
        assert since <= lastcall <= now < nextcall and failures == 0, (name, schedule[cron_id])
    assert not _rows(cnx, "SELECT cron_id FROM ir_cron_trigger WHERE cron_id = ANY(%s)",
                     [list(names)])
    # Both servers took jobs (which ones is the race of their cron workers for the rows).
    taken = Counter(server for cron_runs in runs.values() for server, *_rest in cron_runs)
    env["ran"].update(taken)
    print("runs by server:", dict(taken), {
        names[cron_id]: [(server, outcome) for server, _s, _e, outcome in cron_runs]
        for cron_id, cron_runs in runs.items() if cron_id in names})

    # The items, each committed once: the progress the crons reported.
    items = {
        "ir_cron_birthday_greetings": BIRTHDAYS,
        "ir_cron_expire_points": EXPIRING,
        "ir_cron_first_purchase_care": THANKS + FOLLOW_UPS,
        "ir_cron_send_debt_reminders": DEBTORS,
        "ir_cron_recompute_segments": _rows(
            cnx, "SELECT COUNT(*) FROM retail_segment WHERE match != 'manual' AND active")[0][0],
    }
    for name, count in items.items():
        calls, done = _progress(cnx, crons[name], since)
        assert done == count, (name, calls, done, count)
    # The customers a crash left queued are refreshed: by this cron, or before it by the
    # refresh of another transaction that queued them too (their row was busy elsewhere)
    # and drained their queue after its commit. The queue is empty at the end (below).
    lost = _rows(cnx, """SELECT id FROM res_partner WHERE id = ANY(%s)
                         AND (retail_total_sales IS NULL OR retail_purchase_count IS NULL)""",
                 [shop["queued"]])
    assert not lost, lost

    # Nothing sent twice: one greeting, thank-you and reminder per customer.
    greetings = _messages(cnx, shop["customers"], "Happy birthday, %")
    assert set(greetings) == set(shop["birthday"]) and set(greetings.values()) == {1}
    thanks = _messages(cnx, shop["customers"], "Thank you for your purchase, %")
    assert set(thanks) == set(shop["thank"]) and set(thanks.values()) == {1}
    subjects = {7: "Reminder: %", 30: "Second reminder: %", 60: "Final notice: %"}
    for level, subject in subjects.items():
        sent = _messages(cnx, shop["customers"], subject)
        want = {p for p, levels in shop["levels"].items() if max(levels) == level}
        assert set(sent) == want and set(sent.values()) == {1}, (level, sent)
    logged = _rows(cnx, """
        SELECT r.partner_id, r.level_days, COUNT(*) FROM retail_debt_reminder r
         WHERE r.partner_id = ANY(%s) GROUP BY r.partner_id, r.level_days""",
        [shop["customers"]])
    assert {(p, days) for p, days, _count in logged} == {
        (p, days) for p, levels in shop["levels"].items() for days in levels}
    assert {count for *_key, count in logged} == {1}
    follow_ups = Counter(dict(_rows(cnx, """
        SELECT res_id, COUNT(*) FROM mail_activity
         WHERE res_model = 'res.partner' AND res_id = ANY(%s)
           AND summary = 'Follow up after the first purchase' GROUP BY res_id""",
        [shop["customers"]])))
    assert set(follow_ups) == set(shop["follow"]) and set(follow_ups.values()) == {1}
    bonus = Counter(dict(_rows(cnx, """
        SELECT partner_id, COUNT(*) FROM retail_points_line
         WHERE line_type = 'adjustment' AND description LIKE %s
         GROUP BY partner_id""", ["Birthday bonus %"])))
    assert set(bonus) == set(shop["birthday"]) and set(bonus.values()) == {1}
    # What really went out, once the mail queue ran: each customer got its mails once.
    _send_queued_mails(env)
    found = _deliveries(env, shop["customers"])
    reminder = {7: "Reminder", 30: "Second reminder", 60: "Final notice"}
    want = {
        **{p: Counter({"Happy birthday": 1}) for p in shop["birthday"]},
        **{p: Counter({"Thank you for your purchase": 1}) for p in shop["thank"]},
        **{p: Counter({reminder[max(levels)]: 1}) for p, levels in shop["levels"].items()},
    }
    assert found == want
    with env["sink"].lock:
        delivered = Counter(env["sink"].delivered)
    assert [mail for mail, count in delivered.items() if count > 1] == []
    print(f"{sum(delivered.values())} mails delivered to the SMTP sink")

    # The facts: points expired once, tiers placed, overdue figures moved, queue drained,
    # segments recomputed; the audit finds nothing wrong.
    expired = Counter(dict(_rows(cnx, """
        SELECT partner_id, SUM(points_used) FROM retail_points_line
         WHERE line_type = 'expiry' GROUP BY partner_id""")))
    assert expired == Counter(dict.fromkeys(shop["expiring"], 1000))
    # The cashiers' last requests refresh their customers after their responses.
    wait_for_facts(env["db"], timeout=30)
    admin = env["admin"]
    read = admin.call("res.partner", "read", ids=shop["customers"], fields=[
        "retail_loyalty_points", "retail_loyalty_points_total", "retail_loyalty_tier_id",
        "retail_debt_status"])
    for partner in read:
        tier = partner["retail_loyalty_tier_id"]
        assert tier and tier[1] == _expected_tier(partner["retail_loyalty_points_total"]), partner
    by_id = {partner["id"]: partner for partner in read}
    # What is left of the expiring customers' points is what the cashiers gave today.
    given = dict(_rows(cnx, """
        SELECT partner_id, SUM(points_earned) FROM retail_points_line
         WHERE partner_id = ANY(%s) AND line_type = 'adjustment' GROUP BY partner_id""",
        [shop["expiring"]]))
    assert {p: by_id[p]["retail_loyalty_points"] for p in shop["expiring"]} == {
        p: given.get(p, 0) for p in shop["expiring"]}
    assert {by_id[p]["retail_debt_status"] for p in shop["debtor"]} == {"overdue"}
    assert _rows(cnx, "SELECT COUNT(*) FROM retail_customer_facts_queue")[0][0] == 0
    stale = _rows(cnx, """SELECT id FROM retail_segment WHERE match != 'manual' AND active
                          AND (last_recompute IS NULL OR last_recompute < %s)""", [since])
    assert stale == []


def test_killed_server_run_is_finished_by_the_other(two_servers):
    """The reminders' run is split per customer by ``_commit_progress``; the server
    running it dies mid-run; the other one takes the job up and sends the rest."""
    env = two_servers
    cnx, shop, logs, db = env["cnx"], env["shop"], env["logs"], env["db"]
    cron_id = env["crons"]["ir_cron_send_debt_reminders"]
    resumed = shop["resumed"]
    env["admin"].call("res.partner", "write", ids=resumed, vals={"retail_no_reminder": False})
    offsets = {server: _log_size(path) for server, path in logs.items()}
    started = time.monotonic()
    since = _make_due(cnx, db, [cron_id])
    # The first commits of the run, then the server that holds it is killed.
    deadline = time.monotonic() + 60
    while True:
        _calls, done = _progress(cnx, cron_id, since)
        running = [server for server, _start, _end, outcome
                   in _runs(_job_events(logs, offsets))[cron_id] if outcome == "unfinished"]
        if running and done >= 3:
            break
        assert time.monotonic() < deadline, "the reminders' run did not start"
        time.sleep(0.05)
    (killed,) = running
    _kill_server(env["servers"][killed])
    (survivor,) = set(env["servers"]) - {killed}
    killed_done = _progress(cnx, cron_id, since)[1]
    assert 0 < killed_done < RESUMED, f"the run ended before the kill ({killed_done} sent)"
    _wait_done(cnx, db, [cron_id], since, timeout=90)
    print(f"resumed run done in {time.monotonic() - started:.0f} s; {killed_done} customers "
          f"sent by server {killed} before it was killed")

    runs = _runs(_job_events(logs, offsets))[cron_id]
    assert [(server, outcome) for server, _s, _e, outcome in runs if server == killed] == [
        (killed, "unfinished")], runs
    assert [outcome for server, _s, _e, outcome in runs if server == survivor][-1] == \
        "fully done", runs
    env["ran"].update(server for server, *_rest in runs)
    # Every customer committed once: what the two servers reported adds up to the
    # reminders sent in this run, each resumed customer has exactly one.
    _calls, done = _progress(cnx, cron_id, since)
    sent = _messages(cnx, resumed, "Reminder: %")
    assert set(sent) == set(resumed) and set(sent.values()) == {1}
    [(reminded,)] = _rows(cnx, """
        SELECT COUNT(DISTINCT partner_id) FROM retail_debt_reminder WHERE create_date >= %s""",
        [since])
    assert done == reminded >= RESUMED
    assert _rows(cnx, """SELECT partner_id, level_days FROM retail_debt_reminder
                         GROUP BY partner_id, level_days HAVING COUNT(*) > 1""") == []
    _send_queued_mails(env)
    found = _deliveries(env, resumed)
    assert found == {p: Counter({"Reminder": 1}) for p in resumed}
    with env["sink"].lock:
        delivered = Counter(env["sink"].delivered)
    assert [mail for mail, count in delivered.items() if count > 1] == []
    # Over both cases, each server ran addon jobs.
    assert env["ran"]["a"] and env["ran"]["b"], env["ran"]
    run_audit(db)
