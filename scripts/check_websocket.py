"""Odoo's websocket on a multi-worker server: the gevent process starts once and pushes notifications.

Usage: check_websocket.py ODOO_CONF DATABASE (a database with the addon, where admin's password is
admin, e.g. scripts/test.sh's). With --workers, as in production, /websocket (the web client's live
updates) is served by a gevent process of its own on --gevent-port, where a reverse proxy routes it.
That process died at start over and over while gevent's zope dependencies were not pinned (see
requirements.txt). This starts such a server on free ports, logs in as admin on the HTTP port,
opens /websocket on the gevent port, subscribes, and commits a background batch's progress
notification from this process, as a worker running the batch would: it must arrive. The server is
stopped in any case; its output is kept in check_websocket.log beside ODOO_CONF. Commits an empty
batch and its notification, nothing else.
Prints numbered PASS/FAIL lines and a closing "N passed, N failed" line; exits non-zero on a failure.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
import websocket

import odoo
import odoo.release
from odoo import api
from odoo.modules.module import initialize_sys_path
from odoo.modules.registry import Registry
from odoo.tools import config

# Beside odoo/release.py: from 19.0 odoo is a namespace package, without a __file__.
ODOO_BIN = str(Path(odoo.release.__file__).resolve().parent.parent / "odoo-bin")
LOGIN = PASSWORD = "admin"
# The notification a background batch sends when one of its orders is finished: the progress bar
# of the batch's form reloads on it.
NOTIFICATION_TYPE = "order_cancel_reconciled/batch_progress"
# The first requests load the database's registry in each process: a few seconds on a big database.
START_SECONDS = 120
NOTIFICATION_SECONDS = 30
# What a crash of the gevent process at start leaves in the server's output (it dies before its
# logging is set up: the traceback goes to stderr).
CRASH = "DistributionNotFound"
STARTED = "Evented Service (longpolling) running"
results = []
# The server is local: a proxy of the environment (http_proxy) must not stand in between.
HTTP = requests.Session()
HTTP.trust_env = False


def check(name, ok, detail=""):
    results.append(bool(ok))
    line = f"{len(results)}. {'PASS' if ok else 'FAIL'}: {name}{'' if ok or not detail else f' ({detail})'}"
    print(line, flush=True)
    return ok


def free_ports(count):
    """Ports the system gives out now, all held until all are known, so that they differ."""
    sockets = [socket.create_server(("127.0.0.1", 0)) for _ in range(count)]
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def wait_for(url, server, log):
    """Poll url until it answers 200; give up early when the server exits or the gevent process
    crashes (waiting longer would only let the master respawn it again)."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and server.poll() is None and CRASH not in log.read_text(errors="replace"):
        try:
            if HTTP.get(url, timeout=5).status_code == 200:
                return True
        except (requests.ConnectionError, requests.Timeout):
            # Not up yet, or up but its workers still loading the registry on a busy machine
            # (the answer takes longer than the timeout): ask again until the deadline.
            pass
        time.sleep(0.5)
    return False


def notification_to_admin(conf, dbname):
    """Commit the progress notification of a (new, empty) batch of admin's from this process, the
    way a worker running the batch does: the gevent process learns of it through PostgreSQL's
    NOTIFY and pushes it to the subscribed websockets. Returns the batch id it carries."""
    config.parse_config(["-c", conf, "-d", dbname, "--log-level=warn"])
    registry = Registry(dbname)
    with registry.cursor() as cr:  # commits on exit, which sends the NOTIFY
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        admin = env.ref("base.user_admin")
        batch = env["sale.order.cancel.reconciled.batch"].create(
            {
                "user_id": admin.id,
                "company_id": admin.company_id.id,
                "invoice_action": "reverse",
                "payment_action": "keep",
                "stock_action": "none",
            }
        )
        batch._notify_progress()
        return batch.id


def receive_notification(ws, batch_id):
    """Read frames until the notification of this batch arrives (older ones may come first)."""
    deadline = time.monotonic() + NOTIFICATION_SECONDS
    while time.monotonic() < deadline:
        ws.settimeout(max(deadline - time.monotonic(), 0.1))
        try:
            opcode, frame = ws.recv_data_frame(control_frame=True)
        except websocket.WebSocketTimeoutException:
            break
        if opcode == websocket.ABNF.OPCODE_TEXT:
            for notification in json.loads(frame.data):
                message = notification.get("message", {})
                if message.get("type") == NOTIFICATION_TYPE and message.get("payload", {}).get("batch_id") == batch_id:
                    return True
        elif opcode == websocket.ABNF.OPCODE_CLOSE:
            break
    return False


def talk(conf, dbname, http_port, gevent_port):
    """The browser's side: log in on the HTTP port, then /websocket on the gevent port."""
    response = HTTP.post(
        f"http://127.0.0.1:{http_port}/web/session/authenticate",
        json={"jsonrpc": "2.0", "method": "call", "params": {"db": dbname, "login": LOGIN, "password": PASSWORD}},
        timeout=START_SECONDS,
    )
    session_id = response.cookies.get("session_id")
    uid = (response.json().get("result") or {}).get("uid")
    if not check(f"{LOGIN} logs in on the HTTP port", uid and session_id, response.text[:200]):
        return
    # The bus's websocket version, for the URL: importable once the addons path is read (from 19.0
    # bus is in addons/, not in odoo/addons/, which is all Odoo's namespace holds before).
    config.parse_config(["-c", conf, "-d", dbname, "--log-level=warn"])
    initialize_sys_path()
    from odoo.addons.bus.websocket import WebsocketConnectionHandler

    # A proxy keeps the Host header and the browser sends the Origin of the same site: Odoo needs
    # the Origin header, and with ODOO_BUS_PUBLIC_SAMESITE_WS set it must match Host, or the
    # websocket gets a public session instead of the user's.
    url = f"ws://127.0.0.1:{gevent_port}/websocket?version={WebsocketConnectionHandler._VERSION}"
    try:
        ws = websocket.create_connection(
            url, cookie=f"session_id={session_id}", origin=f"http://127.0.0.1:{gevent_port}", timeout=START_SECONDS
        )
    except (websocket.WebSocketException, OSError) as exc:
        check("/websocket on the gevent port answers the handshake (101)", False, f"{type(exc).__name__}: {exc}")
        return
    try:
        accept = ws.getheaders().get("sec-websocket-accept")  # websocket-client has checked its value
        check("/websocket on the gevent port answers the handshake (101)", ws.getstatus() == 101 and accept)
        ws.ping(b"check")
        ws.settimeout(10)
        opcode, _frame = ws.recv_data_frame(control_frame=True)
        name = websocket.ABNF.OPCODE_MAP.get(opcode, opcode)
        check("the websocket answers a ping", opcode == websocket.ABNF.OPCODE_PONG, f"got {name}")
        ws.send(json.dumps({"event_name": "subscribe", "data": {"channels": [], "last": 0}}))
        batch_id = notification_to_admin(conf, dbname)
        check(
            "a batch's progress notification committed by another process arrives on the websocket",
            receive_notification(ws, batch_id),
        )
        check("the connection stays open", ws.connected)
    finally:
        ws.close()
    time.sleep(1)  # the gevent process handles the close (admin's presence) before the log is read


def stop(server):
    """SIGTERM to the whole group (master, workers, gevent process), SIGKILL to what is left after
    30 s; nothing to do for a group already gone."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            server.poll()  # reaps the master, which would otherwise stay in the group as a zombie
            os.killpg(server.pid, 0)  # ProcessLookupError once the whole group is gone
            time.sleep(0.2)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    except ProcessLookupError:
        return


def main(conf, dbname):
    http_port, gevent_port = free_ports(2)
    log = Path(conf).resolve().parent / "check_websocket.log"
    # No cron workers: they are not what is checked, and they would run the database's scheduled
    # actions meanwhile.
    command = [sys.executable, ODOO_BIN, "-c", conf, "-d", dbname, f"--db-filter=^{dbname}$", "--workers=2"]
    command += [f"--http-port={http_port}", f"--gevent-port={gevent_port}", "--max-cron-threads=0", "--log-level=info"]
    with log.open("w") as output:
        # A session of its own, so that the master, its workers and the gevent process it spawns
        # are stopped together; everything they print, tracebacks before logging is set up
        # included, goes to the log.
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        started = wait_for(f"http://127.0.0.1:{http_port}/web/health", server, log)
        check(f"the server with --workers=2 answers on the HTTP port {http_port}", started)
        listening = started and wait_for(f"http://127.0.0.1:{gevent_port}/websocket/health", server, log)
        check(f"the gevent process answers on the gevent port {gevent_port}", listening)
        if listening:
            try:
                talk(conf, dbname, http_port, gevent_port)
            except Exception as exc:  # reported as the failure it is; the server's log is still read
                check("the exchange on the websocket runs to its end", False, f"{type(exc).__name__}: {exc}")
        output = log.read_text(errors="replace")
        lines = output.splitlines()
        crashes = [line for line in lines if CRASH in line and not line.startswith(" ")]  # not the source
        check(
            "the gevent process started once and did not crash",
            output.count(STARTED) == 1 and not crashes,
            f"{output.count(STARTED)} start(s), {len(crashes)} crash(es), the last: {crashes[-1:]}",
        )
        errors = [line for line in lines if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback")]
        check("the server logged no ERROR and no traceback", not errors, f"{len(errors)}, the first: {errors[:1]}")
    finally:
        stop(server)
    failed = results.count(False)
    if failed:
        print(f"The server's output: {log}")
    print(f"websocket: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:3]))
