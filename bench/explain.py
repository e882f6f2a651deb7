"""Where the time of the segment recompute goes: runs ``_cron_recompute()`` (twice: all
memberships new, then nothing changed) on a copy of the benchmark database and prints each
statement it runs with its time, and ``EXPLAIN (ANALYZE, BUFFERS)`` of those over
``BENCH_EXPLAIN_MS`` (default 100) ms. Each statement is run twice (explained inside a
savepoint rolled back, then for real), so the run takes longer than the bench.

    . scripts/env.sh
    createdb -T crm_retail_bench_<key> bench_explain
    .venv/bin/odoo shell -c .local/odoo.conf -d bench_explain --no-http --log-level=warn \\
        < bench/explain.py
    dropdb bench_explain
"""
# ruff: noqa: F821  (``env`` is given by odoo shell)
import os
import time
from unittest.mock import patch

from odoo.tools import SQL

THRESHOLD = float(os.environ.get("BENCH_EXPLAIN_MS", 100)) / 1000
EXPLAINABLE = ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "CREATE TEMPORARY TABLE")
cr = env.cr
execute = cr.execute
statements = []


def code_of(query):
    return query.code if isinstance(query, SQL) else str(query)


def split(query, params):
    """The statements of ``query`` (several may be sent at once), with their parameters."""
    if isinstance(query, SQL):
        code, params = query.code, list(query.params)
    else:
        code, params = str(query), list(params or ())
    parts = []
    for part in code.split(";"):
        count = part.replace("%%", "").count("%s")
        if part.strip():
            parts.append((part, params[:count]))
        params = params[count:]
    return parts


def explaining_execute(query, params=None, log_exceptions=True):
    """Explain the statements in a savepoint rolled back, then run them for real."""
    plans = []
    parts = split(query, params)
    if any(" ".join(part.split()).upper().startswith(EXPLAINABLE) for part, _p in parts):
        execute("SAVEPOINT bench_explain")
        for part, part_params in parts:
            if " ".join(part.split()).upper().startswith(EXPLAINABLE):
                execute("EXPLAIN (ANALYZE, BUFFERS) " + part, part_params)
                plans.append(f"{part.strip()}\n---- EXPLAIN (ANALYZE, BUFFERS):\n"
                             + "\n".join(row[0] for row in cr.fetchall()))
            else:
                execute(part, part_params)
        execute("ROLLBACK TO SAVEPOINT bench_explain")
    start = time.perf_counter()
    result = execute(query, params, log_exceptions)
    statements.append((time.perf_counter() - start, code_of(query), plans))
    return result


for label in ("all memberships new", "nothing changed"):
    statements.clear()
    env.invalidate_all()
    with patch.object(cr, "execute", explaining_execute), patch.object(cr, "commit", lambda: None):
        env["retail.segment"]._cron_recompute()
    cr.commit()
    print(f"==== _cron_recompute ({label}): {len(statements)} statements, "
          f"{sum(s for s, _c, _p in statements):.2f} s in SQL")
    for seconds, code, _plan in statements:
        print(f"-- {seconds * 1000:9.1f} ms  {' '.join(code.split())[:150]}")
    for seconds, _code, plans in sorted(statements, key=lambda s: -s[0]):
        if seconds < THRESHOLD:
            break
        print(f"\n==== {seconds * 1000:.0f} ms, {len(plans)} statement(s) explained:")
        print("\n\n".join(plans) or "(not explainable)")
