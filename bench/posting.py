"""Posting invoices, vanilla Odoo beside crm_retail: what the addon adds to ``action_post``.

Run by ``make bench`` (scripts/bench.sh) with the two template databases to compare, both
installed the same way: one with only crm_retail's dependencies (``deps_template``), one
with crm_retail as well. Each trial runs both on fresh copies (``createdb -T``, dropped
after), side by side: the two sides take turns step by step, A B B A... (paired, so that a
slower minute of the machine falls on both sides, not on the one whose turn it is):

- **In process** (this file run by ``odoo shell`` on each copy, as the administrator, not
  superuser; each step, a creation or a batch, waits for the driver's go on a FIFO):
  customers, a product and the draft invoices are created through the ORM, untimed (one
  product line with a price and the company's sale tax, the same in both databases; no
  invoice date: posting sets today's, as from the invoice form); then the invoices are
  posted in batches of ``BATCH``, each batch timed from ``action_post()`` through
  ``env.cr.flush()`` (the ORM flush and ``precommit.run()``: what ``commit()`` runs before
  its COMMIT), with its SQL queries (``cr.sql_log_count``) and the CPU time of the process
  and of its PostgreSQL backend (shown, no target: the figure a busy machine disturbs
  least), then committed. Two scenarios, after a warm-up batch of 10 invoices: ``first``,
  ``INVOICES`` invoices each for a new customer (every one a first purchase); ``repeat``,
  ``INVOICES`` invoices over ``REPEAT_CUSTOMERS`` new customers, in turn (a batch holds
  each customer once: the first batch is their first purchase, the others repeat
  purchases). Figures: the sum over the batches, best of the trials. In the first trial,
  one more batch of each scenario is posted with every query recorded (its SQL text, time,
  and the line of Odoo or crm_retail that ran it, with the line of crm_retail that led
  there), then one invoice alone; the statements crm_retail adds to them, and those it
  runs fewer times, are printed, most first.
- **Over HTTP**: both copies served at once, each by ``odoo --workers=4``
  (tests/conftest.py ``serve``); a JSON-2 client per copy does a cashier's flow
  ``HTTP_ROUNDS`` times after ``HTTP_WARMUP`` untimed ones: create one invoice for an
  existing customer, then ``action_post`` it. The two cashiers take turns, A B B A A B...
  (paired rounds: a slower minute of the machine slows both sides, not the one whose turn
  it is). Latency p50 and p95 of the post call and of create + post.

Printed: a table of vanilla, crm_retail and their ratio, and ``PASS``/``FAIL`` per target:
time and queries of each scenario <= 1.10 x vanilla's, p50 and p95 of the post call over
HTTP <= 1.10 x vanilla's. Missed targets do not fail the command; a broken benchmark does.

    .venv/bin/python bench/posting.py VANILLA_TEMPLATE_DB CRM_RETAIL_TEMPLATE_DB
Environment: BENCH_POSTING_TRIALS (3), BENCH_POSTING_INVOICES (1000), BENCH_POSTING_BATCH
(100), BENCH_POSTING_REPEAT_CUSTOMERS (100), BENCH_POSTING_HTTP_ROUNDS (100),
BENCH_POSTING_HTTP_WARMUP (10), BENCH_POSTING_HTTP=0 (skip the HTTP part).
Logs: .local/bench/posting-*.log.
"""
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

TRIALS = int(os.environ.get("BENCH_POSTING_TRIALS", 3))
INVOICES = int(os.environ.get("BENCH_POSTING_INVOICES", 1000))
BATCH = int(os.environ.get("BENCH_POSTING_BATCH", 100))
REPEAT_CUSTOMERS = int(os.environ.get("BENCH_POSTING_REPEAT_CUSTOMERS", 100))
HTTP_ROUNDS = int(os.environ.get("BENCH_POSTING_HTTP_ROUNDS", 100))
HTTP_WARMUP = int(os.environ.get("BENCH_POSTING_HTTP_WARMUP", 10))
HTTP = os.environ.get("BENCH_POSTING_HTTP", "1") != "0"
TARGET = 1.10
WARMUP = 10
SCENARIOS = ("first", "repeat")
PROFILES = (*SCENARIOS, "single")
# Prices cycle through these many values, the same in both databases.
PRICES = 50
# odoo shell runs this file from its stdin: no __file__ there, nor any need of it.
ROOT = Path(globals().get("__file__", ".")).resolve().parent.parent
LOGDIR = ROOT / ".local" / "bench"


def price(number):
    return 10000 + 1000 * (number % PRICES)


# ----------------------------------------------------------------------------------
# In ``odoo shell``: one trial's batches on one database
# ----------------------------------------------------------------------------------

class QueryRecorder:
    """Every query of the current thread (Odoo's ``query_hooks``, what its profiler uses):
    per SQL text, how many, their time, and where they come from (:meth:`where`)."""

    def __init__(self):
        self.queries = defaultdict(lambda: {"n": 0, "t": 0.0, "where": Counter()})

    def __enter__(self):
        thread = threading.current_thread()
        if not hasattr(thread, "query_hooks"):
            thread.query_hooks = []
        thread.query_hooks.append(self.hook)
        return self

    def __exit__(self, *exc):
        threading.current_thread().query_hooks.remove(self.hook)

    def hook(self, cr, query, params, start, delay):
        entry = self.queries[re.sub(r"\s+", " ", str(query)).strip()]
        entry["n"] += 1
        entry["t"] += delay
        entry["where"][self.where(sys._getframe(1))] += 1

    @staticmethod
    def where(frame):
        """The line that ran the query, in an Odoo addon or crm_retail, and the innermost
        line of crm_retail that led to it, when another."""
        first = None
        while frame:
            path = frame.f_code.co_filename
            for root, prefix in (("/crm_retail/", "crm_retail/"), ("/odoo/addons/", "")):
                if root in path:
                    line = (f"{prefix}{path.split(root, 1)[1]}:{frame.f_lineno} "
                            f"{frame.f_code.co_name}")
                    if prefix:
                        return line if first in (None, line) else f"{first} <- {line}"
                    first = first or line
                    break
            frame = frame.f_back
        return first or "odoo"

    def result(self):
        return [{"q": text, "n": entry["n"], "t": entry["t"],
                 "where": entry["where"].most_common(1)[0][0]}
                for text, entry in self.queries.items()]


def shell_trial(env):
    from odoo import Command

    cr = env.cr
    admin = env.ref("base.user_admin")
    env = env(user=admin, su=False, context=admin.context_get())
    company = env.company
    tax_ids = company.account_sale_tax_id.ids  # the company's VAT, if it has one
    product = env["product.product"].create({
        "name": "Bench product", "list_price": price(0), "taxes_id": [Command.set(tax_ids)]})
    profile = os.environ.get("BENCH_POSTING_PROFILE") == "1"
    serial = iter(range(10**6))

    def new_customers(count, label):
        return env["res.partner"].create([
            {"name": f"Khách {label} {i}", "phone": f"09{next(serial):08d}"}
            for i in range(count)])

    def draft_invoices(customers, count):
        moves = env["account.move"].create([{
            "move_type": "out_invoice",
            "partner_id": customers[i % len(customers)].id,
            "invoice_line_ids": [Command.create({
                "product_id": product.id, "quantity": 1, "price_unit": price(i),
                "tax_ids": [Command.set(tax_ids)]})],
        } for i in range(count)])
        cr.commit()
        return moves.ids

    turns_path = os.environ.get("BENCH_POSTING_TURNS")
    turns = []

    def my_turn():
        """Wait until the driver says go (a line on the FIFO ``BENCH_POSTING_TURNS``): the
        two databases' shells take turns step by step, never working at the same time."""
        if not turns_path:
            return
        print("BENCH_WAIT", flush=True)
        if not turns:
            turns.append(open(turns_path))  # noqa: SIM115 (open for the whole trial)
        turns[0].readline()

    cr.execute("SELECT pg_backend_pid()")
    backend_stat = Path(f"/proc/{cr.fetchone()[0]}/stat")
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu():
        """CPU seconds of this process and of its PostgreSQL backend (same machine): what
        the work costs, whatever else the machine runs meanwhile."""
        try:
            utime, stime = backend_stat.read_text().rsplit(")", 1)[1].split()[11:13]
            backend = (int(utime) + int(stime)) / ticks
        except OSError:  # another machine's server: no backend figure
            backend = 0.0
        return time.process_time() + backend

    def post(ids):
        """(seconds, CPU seconds, queries) of posting these invoices and what commit runs
        before its COMMIT."""
        moves = env["account.move"].browse(ids)
        queries = cr.sql_log_count
        cpu_start, start = cpu(), time.perf_counter()
        moves.action_post()
        cr.flush()
        elapsed, cpu_used = time.perf_counter() - start, cpu() - cpu_start
        queries = cr.sql_log_count - queries
        cr.commit()
        posted = env["account.move"].browse(ids).mapped("state")
        if set(posted) != {"posted"}:
            raise RuntimeError(f"invoices not posted: {Counter(posted)}")
        return elapsed, cpu_used, queries

    def batches(ids):
        return [ids[start:start + BATCH] for start in range(0, len(ids), BATCH)]

    # Warm the caches (registry, templates, sequences) outside the timing.
    my_turn()
    post(draft_invoices(new_customers(WARMUP, "warm-up"), WARMUP))
    result = {"db": cr.dbname, "tax": company.account_sale_tax_id.display_name or None}
    scenarios = {
        "first": lambda: new_customers(INVOICES, "first"),
        "repeat": lambda: new_customers(REPEAT_CUSTOMERS, "repeat"),
    }
    for name in SCENARIOS:
        my_turn()
        customers = scenarios[name]()
        drafts = draft_invoices(customers, INVOICES)
        timings = []
        for batch in batches(drafts):
            my_turn()
            timings.append(post(batch))
        result[name] = {"seconds": sum(t for t, _c, _q in timings),
                        "cpu": sum(c for _t, c, _q in timings),
                        "queries": sum(q for _t, _c, q in timings),
                        "batches": [[round(t, 4), round(c, 3), q] for t, c, q in timings]}
        if profile:
            # One more batch, the queries recorded: first purchases, or the same customers'
            # next purchase.
            my_turn()
            extra = new_customers(BATCH, "profile") if name == "first" else customers
            ids = draft_invoices(extra, BATCH)
            with QueryRecorder() as recorder:
                seconds, _cpu, queries = post(ids)
            result[name]["profile"] = {"seconds": seconds, "queries": queries,
                                       "sql": recorder.result()}
    if profile:
        # One invoice alone, as a cashier posts it: what crm_retail adds per transaction.
        my_turn()
        ids = draft_invoices(customers[:1], 1)
        with QueryRecorder() as recorder:
            seconds, _cpu, queries = post(ids)
        result["single"] = {"profile": {"seconds": seconds, "queries": queries,
                                        "sql": recorder.result()}}
    print("BENCH_RESULT " + json.dumps(result), flush=True)


# ----------------------------------------------------------------------------------
# The driver: copies, odoo shell, the server, the report
# ----------------------------------------------------------------------------------

def shell(script):
    from conftest import PG_ENV

    subprocess.run(["bash", "-c", f". {ROOT}/scripts/env.sh && {script}"], check=True,
                   env=PG_ENV, capture_output=True)


def in_process(templates, trial):
    """One trial in process: each template on a fresh copy, in its own ``odoo shell``; the
    two shells take turns step by step (the order alternates: A B B A...), so that a slower
    minute of the machine falls on both sides. {label: the shell's result}."""
    from conftest import CONF, ODOO, PG_ENV

    runs = {}
    with contextlib.ExitStack() as stack:
        for label, template in templates.items():
            db = f"crm_retail_posting_{label}_{os.getpid()}"
            shell(f"drop_db {db}; copy_db {template} {db}")
            stack.callback(shell, f"drop_db {db}")
            turns = LOGDIR / f"posting-{label}-{os.getpid()}.turns"
            turns.unlink(missing_ok=True)
            os.mkfifo(turns)
            stack.callback(turns.unlink, missing_ok=True)
            log_path = LOGDIR / f"posting-{label}-{trial}.log"
            log = stack.enter_context(open(log_path, "w"))
            script = stack.enter_context(open(__file__))
            process = stack.enter_context(subprocess.Popen(
                [ODOO, "shell", "-c", CONF, "-d", db, "--no-http", "--log-level=warn"],
                stdin=script, stdout=subprocess.PIPE, stderr=log, text=True,
                env={**PG_ENV, "BENCH_POSTING_TURNS": str(turns),
                     "BENCH_POSTING_PROFILE": "1" if trial == 1 else "0"}))
            stack.callback(process.kill)
            runs[label] = {"process": process, "turns": turns, "log_path": log_path,
                           "log": log, "result": None, "go": None}

        def next_stop(run):
            """Read the shell's output up to its next wait; False once it has finished."""
            for line in run["process"].stdout:
                run["log"].write(line)
                if line.startswith("BENCH_WAIT"):
                    return True
                if line.startswith("BENCH_RESULT "):
                    run["result"] = json.loads(line.split(" ", 1)[1])
            run["process"].wait()
            if run["result"] is None:
                run["log"].flush()
                raise RuntimeError(
                    f"no result from odoo shell on {run['log_path'].name} (exit "
                    f"{run['process'].returncode}): "
                    f"{run['log_path'].read_text(errors='replace')[-3000:]}")
            return False

        working = {label: next_stop(run) for label, run in runs.items()}
        step = 0
        while any(working.values()):
            for label in paired_order(list(runs), step, trial):
                run = runs[label]
                if not working[label]:
                    continue
                if run["go"] is None:
                    run["go"] = stack.enter_context(open(run["turns"], "w"))
                run["go"].write("go\n")
                run["go"].flush()
                working[label] = next_stop(run)
            step += 1
    return {label: run["result"] for label, run in runs.items()}


def spread(batches):
    """Min/median/max seconds of a scenario's batches."""
    times = sorted(batch[0] for batch in batches)
    return f"{times[0]:.2f}/{statistics.median(times):.2f}/{times[-1]:.2f}"


def paired_order(labels, step, trial):
    """The sides in the order they take step ``step`` of trial ``trial``: A B, B A, A B...,
    the first side alternating from trial to trial."""
    return labels if step % 2 == trial % 2 else labels[::-1]


def percentile(values, percent):
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


class Cashier:
    """One served copy and what its cashier needs: a product with the sale tax and
    ``HTTP_WARMUP`` existing customers (each has its first purchase in the warm-up)."""

    def __init__(self, client):
        self.client = client
        (company,) = client.call("res.company", "search_read", domain=[],
                                 fields=["account_sale_tax_id"], limit=1)
        tax = company["account_sale_tax_id"]
        self.tax_ids = [tax[0] if isinstance(tax, list) else tax] if tax else []
        (self.product,) = client.call("product.product", "create", vals_list=[{
            "name": "Bench product", "list_price": price(0),
            "taxes_id": [(6, 0, self.tax_ids)]}])
        self.customers = client.call("res.partner", "create", vals_list=[
            {"name": f"Khách quen {i}", "phone": f"09{i:08d}"}
            for i in range(max(HTTP_WARMUP, 1))])
        self.post_times, self.round_times = [], []
        self.move = None

    def sell(self, number):
        """Create one invoice and post it; their latencies kept after the warm-up."""
        start = time.perf_counter()
        (self.move,) = self.client.call("account.move", "create", vals_list=[{
            "move_type": "out_invoice",
            "partner_id": self.customers[number % len(self.customers)],
            "invoice_line_ids": [(0, 0, {
                "product_id": self.product, "quantity": 1, "price_unit": price(number),
                "tax_ids": [(6, 0, self.tax_ids)]})],
        }])
        posting = time.perf_counter()
        self.client.call("account.move", "action_post", ids=[self.move])
        end = time.perf_counter()
        if number >= HTTP_WARMUP:
            self.post_times.append(end - posting)
            self.round_times.append(end - start)

    def result(self):
        (state,) = self.client.call("account.move", "read", ids=[self.move], fields=["state"])
        if state["state"] != "posted":
            raise RuntimeError(f"invoice {self.move} not posted over HTTP: {state}")
        return {"post_p50": percentile(self.post_times, 50),
                "post_p95": percentile(self.post_times, 95),
                "round_p50": percentile(self.round_times, 50),
                "round_p95": percentile(self.round_times, 95)}


def over_http(templates, trial):
    """Both copies served at once, their cashiers' rounds interleaved A B B A A B...: what
    slows the machine for a while (another process, the disk) falls on both sides alike.
    Each post is preceded by its own side's create, long enough for what runs after the
    previous response (crm_retail's refresh) to be over. {label: latencies}."""
    from conftest import OdooClient, serve

    dbs = {label: f"crm_retail_posting_http_{label}_{os.getpid()}" for label in templates}
    with contextlib.ExitStack() as stack:
        cashiers = {}
        for label, template in templates.items():
            shell(f"drop_db {dbs[label]}; copy_db {template} {dbs[label]}")
            stack.callback(shell, f"drop_db {dbs[label]}")
            url, _server = stack.enter_context(
                serve(dbs[label], LOGDIR / f"posting-http-{label}-{trial}.log"))
            cashiers[label] = Cashier(OdooClient(url, dbs[label]))
        labels = list(cashiers)
        for number in range(HTTP_WARMUP + HTTP_ROUNDS):
            for label in paired_order(labels, number, trial):
                cashiers[label].sell(number)
        return {label: cashier.result() for label, cashier in cashiers.items()}


def fold(text):
    """One SQL text for the same statement in both databases: numbers, savepoint names,
    the columns crm_retail adds to Odoo's reads, and written column lists left out."""
    text = re.sub(r"\b\d+\b", "N", text)
    text = re.sub(r'SAVEPOINT "[^"]+"', 'SAVEPOINT "..."', text)
    text = re.sub(r', "\w+"\."retail_\w+"(?:->>%s)?', "", text)
    text = re.sub(r'^INSERT INTO ("\w+") \(.*?\) VALUES .*?( RETURNING .*|$)',
                  r"INSERT INTO \1 (...) VALUES ...\2", text)
    return re.sub(r'^UPDATE ("\w+") SET .*? FROM \(VALUES .*?\) AS "__tmp"\(.*?\)',
                  r'UPDATE \1 SET ... FROM (VALUES ...) AS "__tmp"(...)', text)


def folded(rows):
    queries = defaultdict(lambda: {"n": 0, "t": 0.0, "where": Counter()})
    for row in rows:
        entry = queries[fold(row["q"])]
        entry["n"] += row["n"]
        entry["t"] += row["t"]
        entry["where"][row["where"]] += row["n"]
    return queries


def print_extra_queries(profiles, top=20):
    """The statements crm_retail adds to one batch (and those it saves), most first."""
    for name in PROFILES:
        vanilla, addon = (profiles.get(label, {}).get(name) for label in ("vanilla", "crm_retail"))
        if not (vanilla and addon):
            continue
        base, ours = folded(vanilla["sql"]), folded(addon["sql"])
        diff = []
        for text in base.keys() | ours.keys():
            a, b = ours.get(text), base.get(text)
            n = (a["n"] if a else 0) - (b["n"] if b else 0)
            t = (a["t"] if a else 0.0) - (b["t"] if b else 0.0)
            if n:
                where = (a or b)["where"].most_common(1)[0][0]
                diff.append((n, t, where, text))
        sql = {label: sum(row["t"] for row in profiles[label][name]["sql"])
               for label in ("vanilla", "crm_retail")}
        what = (f"{name}: one more batch of {BATCH}" if name in SCENARIOS
                else "one invoice of a repeat customer posted alone")
        print(f"\n[bench posting] {what}, every query recorded: "
              f"vanilla {vanilla['queries']} queries, {vanilla['seconds']:.2f} s "
              f"({sql['vanilla']:.2f} s in SQL); crm_retail {addon['queries']} queries, "
              f"{addon['seconds']:.2f} s ({sql['crm_retail']:.2f} s in SQL)")
        for title, rows in (
                ("statements crm_retail adds", sorted((d for d in diff if d[0] > 0),
                                                      key=lambda d: (-d[0], -d[1]))[:top]),
                ("statements crm_retail runs fewer times", sorted(
                    (d for d in diff if d[0] < 0), key=lambda d: (d[0], d[1]))[:5])):
            if not rows:
                continue
            print(f"  {title} ({'+' if rows[0][0] > 0 else ''}n, ms, where, SQL):")
            for n, t, where, text in rows:
                print(f"  {n:>+5} {1000 * t:>+7.1f}  {where}")
                print(f"  {'':>5} {'':>7}  {text[:160]}")


def main(vanilla, crm_retail):
    LOGDIR.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT / "tests"))
    print(f"[bench posting] {INVOICES} invoices posted in batches of {BATCH}: 'first' each for "
          f"a new customer, 'repeat' over {REPEAT_CUSTOMERS} customers; "
          f"{'HTTP: ' + str(HTTP_ROUNDS) + ' x create + post one invoice; ' if HTTP else ''}"
          f"best of {TRIALS} trial(s), each database on fresh copies", flush=True)
    templates = {"vanilla": vanilla, "crm_retail": crm_retail}
    runs = {label: [] for label in templates}
    http = {label: [] for label in templates}
    profiles = {}
    for trial in range(1, TRIALS + 1):
        order = list(templates) if trial % 2 else list(templates)[::-1]
        results = in_process(templates, trial)
        for label in order:
            result = results[label]
            runs[label].append(result)
            if trial == 1:
                profiles[label] = {name: result[name].get("profile") for name in PROFILES}
            figures = "; ".join(
                f"{name} {result[name]['seconds']:.2f} s (CPU {result[name]['cpu']:.2f} s, "
                f"batches {spread(result[name]['batches'])} s) "
                f"{result[name]['queries']} queries" for name in SCENARIOS)
            print(f"[bench posting] trial {trial} {label:10s}: {figures}; load "
                  f"{os.getloadavg()[0]:.1f}, tax: {result['tax']}", flush=True)
        if HTTP:
            results = over_http(templates, trial)
            for label in order:
                result = results[label]
                http[label].append(result)
                print(f"[bench posting] trial {trial} {label:10s} HTTP: post p50 "
                      f"{1000 * result['post_p50']:.0f} ms p95 {1000 * result['post_p95']:.0f} ms"
                      f", create+post p50 {1000 * result['round_p50']:.0f} ms "
                      f"p95 {1000 * result['round_p95']:.0f} ms; load "
                      f"{os.getloadavg()[0]:.1f}", flush=True)

    rows = []  # (label, vanilla, crm_retail, unit, target)
    for name in SCENARIOS:
        best = {label: min(r[name]["seconds"] for r in runs[label]) for label in templates}
        queries = {label: min(r[name]["queries"] for r in runs[label]) for label in templates}
        rows.append((f"{name}: time, s", best["vanilla"], best["crm_retail"], "{:.2f}", True))
        rows.append((f"{name}: queries", queries["vanilla"], queries["crm_retail"], "{:d}",
                     True))
        cpu = {label: min(r[name]["cpu"] for r in runs[label]) for label in templates}
        rows.append((f"{name}: CPU, s (Odoo + PostgreSQL)", cpu["vanilla"], cpu["crm_retail"],
                     "{:.2f}", False))
    if HTTP:
        for key, label, target in (("post_p50", "HTTP post p50, ms", True),
                                   ("post_p95", "HTTP post p95, ms", True),
                                   ("round_p50", "HTTP create+post p50, ms", False),
                                   ("round_p95", "HTTP create+post p95, ms", False)):
            best = {lab: 1000 * min(r[key] for r in http[lab]) for lab in templates}
            rows.append((label, best["vanilla"], best["crm_retail"], "{:.0f}", target))

    print(f"\n{f'posting (best of {TRIALS})':40s} {'vanilla':>10} {'crm_retail':>11} "
          f"{'ratio':>7}")
    for label, base, addon, fmt, _target in rows:
        print(f"  {label:38s} {fmt.format(base):>10} {fmt.format(addon):>11} "
              f"{addon / base:>6.2f}x")
    for label, base, addon, _fmt, target in rows:
        if target:
            ratio = addon / base
            print(f"  {'PASS' if ratio <= TARGET else 'FAIL'}  {label.split(',')[0]} <= "
                  f"{TARGET:.2f} x vanilla ({ratio:.2f} x)")
    print_extra_queries(profiles)


if "env" in globals():  # run by odoo shell, on one copy
    shell_trial(env)  # noqa: F821
elif __name__ == "__main__":
    main(*sys.argv[1:3])
