"""Out-of-process tests: a real Odoo server with several workers on a throw-away
database, driven as integrations drive Odoo 19: over the JSON-2 API (``POST
/json/2/<model>/<method>`` with a user's API key). Started and stopped by these fixtures."""
import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

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


class ApiError(Exception):
    """An error answer of /json/2: its HTTP status (422 UserError and ValidationError, 404
    MissingError, 403 AccessError, 500 anything else...), the exception's qualified name
    (``odoo.exceptions.ValidationError``) and its message (never a traceback: that is in
    ``debug``)."""

    def __init__(self, status, name, message, debug=""):
        super().__init__(f"{status} {name}: {message}")
        self.status, self.name, self.message, self.debug = status, name, message, debug


_API_KEYS = {}
_API_KEYS_LOCK = threading.Lock()


def api_key(url, db, login, password):
    """``(uid, key)``: an API key of ``login``, made as a user makes one (log in, Preferences
    → Account Security → New API Key, confirm the password), once per server and user.
    JSON-2 only takes keys, so this is the one part that goes through the web client's
    session."""
    with _API_KEYS_LOCK:
        if (url, db, login) not in _API_KEYS:
            web = requests.Session()

            def rpc(path, **params):
                answer = web.post(f"{url}{path}", json={"jsonrpc": "2.0", "params": params},
                                  timeout=120)
                answer.raise_for_status()
                body = answer.json()
                if "error" in body:
                    raise ApiError(answer.status_code, body["error"]["data"]["name"],
                                   body["error"]["data"]["message"])
                return body.get("result")  # omitted when None

            def call_kw(model, method, args, **kwargs):
                return rpc(f"/web/dataset/call_kw/{model}/{method}", model=model,
                           method=method, args=args, kwargs=kwargs)

            uid = rpc("/web/session/authenticate", db=db, login=login,
                      password=password)["uid"]
            # The default duration (1 day) is one any internal user may choose.
            wizard = call_kw("res.users.apikeys.description", "create",
                             [{"name": "crm_retail tests"}])
            shown = call_kw("res.users.apikeys.description", "make_key", [wizard])
            if shown["res_model"] == "res.users.identitycheck":
                shown = call_kw("res.users.identitycheck", "run_check", [shown["res_id"]],
                                context={"password": password})
            rpc("/web/session/destroy")
            _API_KEYS[url, db, login] = uid, shown["context"]["default_key"]
        return _API_KEYS[url, db, login]


class OdooClient:
    """One integration's connection to the server: its own HTTP session (so its own
    keep-alive connection; threads each make their own client) sending the user's API key.

    ``call(model, method, ids=..., context=..., **params)`` is ``POST /json/2/model/method``
    with those named parameters as the JSON body, as JSON-2 takes them: ``ids`` for the
    records (none for ``@api.model`` methods such as ``create``), the method's own
    parameters by name. Returns the decoded result (records as their ids); raises
    ApiError on an error answer."""

    def __init__(self, url, db, login="admin", password="admin"):
        self.url, self.db = url, db
        self.uid, key = api_key(url, db, login, password)
        self.http = requests.Session()
        self.http.headers.update({
            "Authorization": f"bearer {key}",
            # Several databases live in the cluster: name ours rather than rely on the filter.
            "X-Odoo-Database": db,
            "User-Agent": "crm_retail tests",
        })

    def call(self, model, method, **params):
        answer = self.http.post(f"{self.url}/json/2/{model}/{method}", json=params, timeout=600)
        if answer.ok:
            return answer.json()
        try:
            error = answer.json()
        except ValueError:
            raise ApiError(answer.status_code, "", answer.text[:2000]) from None
        raise ApiError(answer.status_code, error.get("name", ""), error.get("message", ""),
                       error.get("debug", ""))


def wait_for_facts(db, timeout=60):
    """Wait until the customer facts that the requests so far changed are refreshed. A
    request refreshes them right after sending its response (only the points within it):
    a client reading them back at once may be a few milliseconds ahead of them. Their
    customers are queued with the request's transaction, and dequeued by the refresh."""
    deadline = time.time() + timeout
    while True:
        queued = _shell(f'psql -X -tAd {db} -c "SELECT COUNT(*) FROM retail_customer_facts_queue"')
        if queued == "0":
            return
        assert time.time() < deadline, f"{queued} customers still wait for their facts"
        time.sleep(0.05)


def run_audit(db):
    """``make audit`` on ``db``: asserts it exits 0 with no mismatch; returns its output."""
    wait_for_facts(db)
    audit = subprocess.run(["bash", ROOT / "scripts" / "audit.sh"],
                           env={**PG_ENV, "DB_NAME": db}, capture_output=True, text=True)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "0 mismatches" in audit.stdout, audit.stdout
    return audit.stdout


def post_invoice_batch(client, customers, size, offset=0):
    """Create ``size`` invoices over ``customers`` (from ``offset`` on) and post them in
    one call, as a cashier closing a batch does. Returns their ids."""
    move_ids = client.call("account.move", "create", vals_list=[{
        "move_type": "out_invoice",
        "partner_id": customers[(offset + i) % len(customers)],
        "invoice_line_ids": [(0, 0, {"name": "Hàng", "quantity": 1,
                                     "price_unit": 10000 + 1000 * ((offset + i) % 50),
                                     "tax_ids": [(5, 0, 0)]})],
    } for i in range(size)])
    client.call("account.move", "action_post", ids=move_ids)
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
             # Odoo 19 warns at every XML-RPC call: the legacy path's own test makes some.
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
            requests.get(f"{url}/web/health", timeout=10).raise_for_status()
            return
        except requests.RequestException:
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
