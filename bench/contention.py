"""Cashiers posting at once for the same customers, vanilla Odoo beside crm_retail.

Run by ``make bench`` (scripts/bench.sh) with the two databases to compare: one with only
crm_retail's dependencies installed, one with crm_retail as well. Each trial runs both, in
turn, on fresh copies (``createdb -T``) served by ``odoo --workers=4``: ``CLIENTS``
JSON-2 clients each create then post batches of ``BATCH`` invoices over the same
``CUSTOMERS`` customers (so every batch overlaps every other), for ``SECONDS`` seconds.

Printed per database: batches posted per second, the retries Odoo made after a
serialization failure (its own retry loop, counted from the server log) and the batches
that failed anyway (the error reached the client). The target: crm_retail's throughput
>= 0.9 x vanilla's, with no failed batch.

    .venv/bin/python bench/contention.py VANILLA_TEMPLATE_DB CRM_RETAIL_TEMPLATE_DB
Environment: BENCH_CONTENTION_SECONDS (60), BENCH_CONTENTION_TRIALS (2),
BENCH_CONTENTION_CLIENTS (4), BENCH_CONTENTION_CUSTOMERS (20), BENCH_CONTENTION_BATCH (20).
"""
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from conftest import PG_ENV, ApiError, OdooClient, post_invoice_batch, serve  # noqa: E402

SECONDS = float(os.environ.get("BENCH_CONTENTION_SECONDS", 60))
TRIALS = int(os.environ.get("BENCH_CONTENTION_TRIALS", 2))
CLIENTS = int(os.environ.get("BENCH_CONTENTION_CLIENTS", 4))
CUSTOMERS = int(os.environ.get("BENCH_CONTENTION_CUSTOMERS", 20))
BATCH = int(os.environ.get("BENCH_CONTENTION_BATCH", 20))
THROUGHPUT_TARGET = 0.9
RETRY_LOG = re.compile(r"tries left, try again|maximum number of tries reached")


def shell(script):
    subprocess.run(["bash", "-c", f". {ROOT}/scripts/env.sh && {script}"], check=True,
                   env=PG_ENV, capture_output=True)


def post_batches(url, db, customers, deadline, tally):
    client = OdooClient(url, db)
    number = 0
    while time.monotonic() < deadline:
        try:
            post_invoice_batch(client, customers, BATCH, offset=number)
            tally["batches"] += 1
        except ApiError as error:
            tally["failed"] += 1
            tally["errors"].append(f"{error.name}: {error.message}"[:200])
        number += 1


def run(template, label, trial):
    db = f"crm_retail_contention_{os.getpid()}"
    shell(f"drop_db {db}; copy_db {template} {db}")
    log_path = ROOT / ".local" / "bench" / f"contention-{label}-{trial}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with serve(db, log_path, ["--log-handler=odoo.service.model:INFO"]) as (url, _server):
            admin = OdooClient(url, db)
            customers = admin.call("res.partner", "create", vals_list=[
                {"name": f"Khách quen {i}", "phone": f"09{i:08d}"} for i in range(CUSTOMERS)])
            # A batch per worker first, outside the timing: their caches warm.
            for number in range(4):
                post_invoice_batch(admin, customers, BATCH, offset=number)
            tally = {"batches": 0, "failed": 0, "errors": []}
            deadline = time.monotonic() + SECONDS
            start = time.monotonic()
            threads = [threading.Thread(target=post_batches,
                                        args=(url, db, customers, deadline, tally))
                       for _ in range(CLIENTS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - start
    finally:
        shell(f"drop_db {db}")
    retries = sum(1 for line in log_path.read_text(errors="replace").splitlines()
                  if RETRY_LOG.search(line))
    return {"batches": tally["batches"], "per_second": tally["batches"] / elapsed,
            "retries": retries, "failed": tally["failed"], "errors": tally["errors"][:3]}


def main(vanilla, crm_retail):
    print(f"[bench contention] {CLIENTS} clients x batches of {BATCH} invoices over "
          f"{CUSTOMERS} shared customers, {SECONDS:g} s each, {TRIALS} trial(s), "
          "each database on a fresh copy", flush=True)
    results = {"vanilla": [], "crm_retail": []}
    for trial in range(1, TRIALS + 1):
        for label, template in (("vanilla", vanilla), ("crm_retail", crm_retail)):
            result = run(template, label, trial)
            results[label].append(result)
            print(f"[bench contention] trial {trial} {label:10s}: {result['batches']} batches, "
                  f"{result['per_second']:.2f} batches/s, {result['retries']} retries, "
                  f"{result['failed']} failed {result['errors'] or ''}", flush=True)
    best = {label: max(r["per_second"] for r in runs) for label, runs in results.items()}
    failed = sum(r["failed"] for r in results["crm_retail"])
    ratio = best["crm_retail"] / best["vanilla"]
    print(f"contention (best of {TRIALS}): vanilla {best['vanilla']:.2f} batches/s, "
          f"crm_retail {best['crm_retail']:.2f} batches/s ({ratio:.2f} x), retries "
          f"{sum(r['retries'] for r in results['vanilla'])} vs "
          f"{sum(r['retries'] for r in results['crm_retail'])}, failed batches "
          f"{sum(r['failed'] for r in results['vanilla'])} vs {failed}")
    print(f"  {'PASS' if ratio >= THROUGHPUT_TARGET else 'FAIL'}  throughput >= "
          f"{THROUGHPUT_TARGET:g} x vanilla ({ratio:.2f} x)")
    print(f"  {'PASS' if failed == 0 else 'FAIL'}  no failed batch with crm_retail ({failed})")


if __name__ == "__main__":
    main(*sys.argv[1:3])
