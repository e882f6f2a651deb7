"""Screenshot a page of a running Odoo as a logged-in user, with headless Chromium.

    .venv/bin/python scripts/screenshot.py URL_PATH OUT.png [--base http://localhost:8069]
        [--db crm_retail] [--login admin] [--password admin] [--wait 6] [--width 1400]

For looking at what the addon shows a person (e.g. "/odoo/contacts/12")."""
import argparse
import base64
import json
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import requests
import websocket


def login(base, db, user, password):
    session = requests.Session()
    page = session.get(f"{base}/web/login", params={"db": db}).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    session.post(f"{base}/web/login", data={
        "csrf_token": token, "login": user, "password": password, "db": db})
    return session.cookies["session_id"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("out")
    parser.add_argument("--base", default="http://localhost:8069")
    parser.add_argument("--db", default="crm_retail")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--wait", type=float, default=6)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--click", action="append", default=[], metavar="CSS",
                        help="click the first element matching CSS before the shot (repeatable)")
    args = parser.parse_args()
    session_id = login(args.base, args.db, args.login, args.password)
    with socket.socket() as probe:  # a free port, so that several shots may run at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Chromium may still write into its profile while it exits.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        chrome = subprocess.Popen([
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", f"--remote-debugging-port={port}",
            f"--window-size={args.width},{args.height}", "about:blank",
        ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _attempt in range(50):
                try:
                    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
                    break
                except OSError:
                    time.sleep(0.2)
            page = next(t for t in targets if t["type"] == "page")
            ws = websocket.create_connection(page["webSocketDebuggerUrl"])
            ids = iter(range(1, 10**6))

            def send(method, **params):
                msg_id = next(ids)
                ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
                while True:
                    reply = json.loads(ws.recv())
                    if reply.get("id") == msg_id:
                        return reply.get("result", {})

            host = re.sub(r"^https?://([^:/]+).*$", r"\1", args.base)
            send("Network.enable")
            send("Network.setCookie", name="session_id", value=session_id, domain=host, path="/")
            send("Page.navigate", url=args.base + args.path)
            time.sleep(args.wait)
            for selector in args.click:
                found = send("Runtime.evaluate", expression=(
                    f"(el => el ? (el.click(), true) : false)"
                    f"(document.querySelector({json.dumps(selector)}))"), returnByValue=True)
                if not found.get("result", {}).get("value"):
                    sys.exit(f"{args.path}: nothing matches {selector}")
                time.sleep(3)
            shot = send("Page.captureScreenshot", format="png")
            with open(args.out, "wb") as out:
                out.write(base64.b64decode(shot["data"]))
        finally:
            chrome.terminate()
            chrome.wait()


if __name__ == "__main__":
    main()
