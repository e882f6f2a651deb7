"""Cashiers posting batches at once for the same customers, then the server killed under
them: no batch fails for the addon's sake, and every derived fact ends up right."""
import os
import shutil
import signal
import threading
import time

import requests
from conftest import (
    FILESTORE,
    ROOT,
    ApiError,
    OdooClient,
    _shell,
    post_invoice_batch,
    run_audit,
    serve,
    wait_for_facts,
)

CLIENTS = 4
CUSTOMERS = 10
BATCH = 10


def _settings(admin):
    (user,) = admin.call("res.users", "read", ids=[admin.uid], fields=["company_id"])
    admin.call("res.company", "write", ids=[user["company_id"][0]], vals={
        "retail_points_amount": 10000, "retail_points_min_amount": 0})


def _drain_queue(admin):
    """Run the cron that refreshes what a crash left queued, as an administrator would."""
    cron_id = admin.call("ir.model.data", "check_object_reference", module="crm_retail",
                         xml_id="ir_cron_refresh_queued_facts")[1]
    admin.call("ir.cron", "method_direct_trigger", ids=[cron_id])


def test_parallel_batches_for_the_same_customers_never_fail(odoo_server):
    url, db = odoo_server
    admin = OdooClient(url, db)
    _settings(admin)
    customers = admin.call("res.partner", "create",
                           vals_list=[{"name": f"Khách chung {i}"} for i in range(CUSTOMERS)])
    failures = []

    def cashier(worker):
        client = OdooClient(url, db)
        for number in range(6):
            try:
                post_invoice_batch(client, customers, BATCH, offset=worker * 7 + number)
            except ApiError as error:
                failures.append(str(error))

    threads = [threading.Thread(target=cashier, args=(w,)) for w in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    # Every refresh, deferred to after the response, ran: none is left to the cron.
    wait_for_facts(db, timeout=30)
    posted = admin.call("account.move", "search_count", domain=[
        ("partner_id", "in", customers), ("state", "=", "posted")])
    assert posted == CLIENTS * 6 * BATCH
    run_audit(db)


def _children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return [int(child) for child in children.read().split()]


def test_killed_workers_and_server_leave_every_fact_right(installed_db):
    """Workers killed with SIGKILL while cashiers post, then the whole server; after a
    restart and the queue's cron, the audit finds nothing wrong."""
    db = f"crm_retail_fault_{os.getpid()}"
    _shell(f"drop_db {db}; copy_db {installed_db} {db}")
    log_path = ROOT / ".local" / "pytest-fault-server.log"
    try:
        with serve(db, log_path) as (url, server):
            admin = OdooClient(url, db)
            _settings(admin)
            customers = admin.call("res.partner", "create",
                                   vals_list=[{"name": f"Khách {i}"} for i in range(CUSTOMERS)])
            stop = threading.Event()
            outcomes = {"posted": 0, "interrupted": 0, "failed": []}

            def cashier(worker):
                client = OdooClient(url, db)
                number = 0
                while not stop.is_set():
                    number += 1
                    try:
                        post_invoice_batch(client, customers, BATCH, offset=worker + number)
                        outcomes["posted"] += 1
                    except ApiError as error:
                        outcomes["failed"].append(str(error))
                    except requests.RequestException:
                        # The worker serving this request was killed: its work rolled back.
                        outcomes["interrupted"] += 1
                        time.sleep(0.2)

            threads = [threading.Thread(target=cashier, args=(w,)) for w in range(CLIENTS)]
            for thread in threads:
                thread.start()
            deadline = time.time() + 90
            for _kill in range(3):
                time.sleep(4)
                workers = _children(server.pid)
                if workers:
                    os.kill(workers[0], signal.SIGKILL)
            time.sleep(3)
            # The whole server, mid-request.
            for pid in [*_children(server.pid), server.pid]:
                os.kill(pid, signal.SIGKILL)
            stop.set()
            for thread in threads:
                thread.join(max(deadline - time.time(), 1))
            assert outcomes["failed"] == []
        with serve(db, log_path) as (url, _server):
            admin = OdooClient(url, db)
            # A few more batches on the restarted server.
            for number in range(3):
                post_invoice_batch(admin, customers, BATCH, offset=number)
            _drain_queue(admin)
            # What the cron did not find left is refreshed after the last responses.
            wait_for_facts(db, timeout=30)
            assert outcomes["posted"] > 0
            run_audit(db)
    finally:
        _shell(f"drop_db {db}")
        shutil.rmtree(FILESTORE / db, ignore_errors=True)
