"""Out-of-process tests: a real Odoo server with several workers on a throw-away
database, driven over XML-RPC. Started and stopped by these fixtures."""
import contextlib
import os
import shutil
import socket
import subprocess
import time
import xmlrpc.client
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ODOO = ROOT / ".venv" / "bin" / "odoo"
CONF = Path(os.environ.get("ODOO_CONF") or ROOT / ".local" / "odoo.conf")
FILESTORE = ROOT / ".local" / "data" / "filestore"
PG_ENV = {**os.environ, "PGHOST": str(ROOT / ".local" / "pgrun"), "PGUSER": "odoo",
          "PGDATABASE": "postgres"}


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _shell(script):
    return subprocess.run(
        ["bash", "-c", f". {ROOT}/scripts/env.sh && {script}"],
        check=True, capture_output=True, text=True, env=PG_ENV,
    ).stdout.strip()


def _installed_template():
    """A database with crm_retail installed: the one `make test` just tested, or a
    fresh install on a copy of the dependencies template."""
    given = os.environ.get("CRM_RETAIL_INSTALLED_DB")
    if given:
        return given, False
    name = f"crm_retail_pytest_tpl_{os.getpid()}"
    _shell(f'copy_db "$(deps_template)" {name}')
    subprocess.run(
        [ODOO, "-c", CONF, "-d", name, "-i", "crm_retail", "--stop-after-init",
         f"--http-port={_free_port()}", "--log-level=warn"],
        check=True, capture_output=True, env=PG_ENV,
    )
    return name, True


class OdooClient:
    def __init__(self, url, db, login="admin", password="admin"):
        self.url, self.db, self.password = url, db, password
        common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common", allow_none=True)
        self.uid = common.authenticate(db, login, password, {})
        assert self.uid, f"cannot log in as {login}"
        self.models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)

    def call(self, model, method, *args, **kwargs):
        return self.models.execute_kw(
            self.db, self.uid, self.password, model, method, list(args), kwargs
        )

    def call_action(self, model, method, *args, **kwargs):
        """Call a button whose Odoo method returns None (button_draft, ...): the work is
        committed, but XML-RPC cannot marshal the None result."""
        try:
            return self.call(model, method, *args, **kwargs)
        except xmlrpc.client.Fault as fault:
            if "cannot marshal None" not in fault.faultString:
                raise
            return None


def run_audit(db):
    """``make audit`` on ``db``: asserts it exits 0 with no mismatch; returns its output."""
    audit = subprocess.run(["bash", ROOT / "scripts" / "audit.sh"],
                           env={**PG_ENV, "DB_NAME": db}, capture_output=True, text=True)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "0 mismatches" in audit.stdout, audit.stdout
    return audit.stdout


def post_invoice_batch(client, customers, size, offset=0):
    """Create ``size`` invoices over ``customers`` (from ``offset`` on) and post them in
    one call, as a cashier closing a batch does. Returns their ids."""
    move_ids = client.call("account.move", "create", [{
        "move_type": "out_invoice",
        "partner_id": customers[(offset + i) % len(customers)],
        "invoice_line_ids": [(0, 0, {"name": "Hàng", "quantity": 1,
                                     "price_unit": 10000 + 1000 * ((offset + i) % 50),
                                     "tax_ids": [(5, 0, 0)]})],
    } for i in range(size)])
    client.call_action("account.move", "action_post", move_ids)
    return move_ids


@contextlib.contextmanager
def serve(db, log_path, extra_args=()):
    """An Odoo server with 4 workers on ``db``; yields its URL and process, stops it
    after."""
    port = _free_port()
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [ODOO, "-c", CONF, "-d", db, f"--db-filter=^{db}$", f"--http-port={port}",
             f"--gevent-port={_free_port()}", "--workers=4", "--max-cron-threads=0",
             "--limit-time-real=600", "--log-level=warn",
             # Odoo 19 warns at every XML-RPC call; these tests are about XML-RPC.
             "--log-handler=odoo.addons.rpc.controllers.xmlrpc:ERROR", *extra_args],
            stdout=log, stderr=subprocess.STDOUT, env=PG_ENV,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url, server, log_path)
            yield url, server
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)


def wait_until_up(url, server, log_path, timeout=120):
    deadline = time.time() + timeout
    while True:
        try:
            xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common").version()
            return
        except OSError:
            if server.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"Odoo did not start; see {log_path}") from None
            time.sleep(0.5)


@pytest.fixture(scope="session")
def installed_db():
    """The name of a database with crm_retail installed, to copy (never served)."""
    template, own_template = _installed_template()
    yield template
    if own_template:
        _shell(f"drop_db {template}")


@pytest.fixture(scope="session")
def odoo_server(installed_db):
    db = f"crm_retail_pytest_{os.getpid()}"
    _shell(f"drop_db {db} && copy_db {installed_db} {db}")
    try:
        with serve(db, ROOT / ".local" / "pytest-server.log") as (url, _server):
            yield url, db
    finally:
        _shell(f"drop_db {db}")
        shutil.rmtree(FILESTORE / db, ignore_errors=True)


@pytest.fixture
def admin(odoo_server):
    url, db = odoo_server
    return OdooClient(url, db)
