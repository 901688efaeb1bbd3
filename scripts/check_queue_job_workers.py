"""A batch run by OCA's queue_job on a real multi-worker server, the worker running one of its jobs
killed with SIGKILL: the job runner requeues the dead job and every order is cancelled exactly once.

Usage: check_queue_job_workers.py ODOO_CONF DATABASE [ORDERS] (a throw-away database with the addon
and queue_job installed, e.g. scripts/test.sh's). It COMMITS there the batch workers check's orders
(12 by default: paid, delivered, one product) and a member's batch over them, which leaves one job
that queues a job per order. It starts a server as production runs one with queue_job: --workers=2,
queue_job loaded server-wide, the addon's channel given a capacity in a [queue_job] section (in a
temporary copy of ODOO_CONF), on free ports of 127.0.0.1, no cron worker. Once a few orders are
done, the HTTP worker running a started job (the job's worker_pid) is killed with SIGKILL; the job
runner requeues the job once its lock is free and it was enqueued 10 s ago or more, on its next loop
(a loop waits 60 s at most): the check waits for that, bounded. It then reads the database: every
line done, every order cancelled once (one log, one credit note per invoice, one return per
delivery, each payment freed once and kept, no refund payment), every posted entry balanced, the
customer's receivable equal to the money kept. The server is always stopped; its output is kept in
check_queue_job_workers.log beside ODOO_CONF.
Prints one PASS/FAIL line per check and a closing "N passed, N failed" line; exits non-zero on a
failure; ends within TIMEOUT seconds.
"""

import configparser
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from check_batch_workers import set_up

import odoo
import odoo.release
from odoo import api
from odoo.modules.registry import Registry
from odoo.tools import config

ADDON = "order_cancel_reconciled"
BATCH = "sale.order.cancel.reconciled.batch"
LINE = "sale.order.cancel.reconciled.batch.line"
LINE_TABLE = "sale_order_cancel_reconciled_batch_line"
JOB_METHOD = "_job_process"
# Beside odoo/release.py: from 19.0 odoo is a namespace package, without a __file__.
ODOO_BIN = str(Path(odoo.release.__file__).resolve().parent.parent / "odoo-bin")
CHANNELS = "root:2,root.order_cancel_reconciled:2"
# The whole check, set-up to stop: a stuck server or job runner fails it, it never hangs CI.
TIMEOUT = 600
START_SECONDS = 120
# queue_job 18.0's runner requeues a job left "started" or "enqueued" once its lock row is free
# (the worker's transaction died with it) and it was enqueued more than 10 seconds ago; it looks
# at every loop, and a loop waits 60 seconds at most for a notification. With margin:
REQUEUE_SECONDS = 150
# Orders done before the kill: the batch is well under way, the queuing job long finished.
DONE_BEFORE_KILL = 2
# A job may commit between the moment it is read "started" and the kill: then another is killed.
KILL_TRIES = 5
STARTED = "queue job runner ready for db"
REQUEUED = "Re-queued dead job with uuid: "
# The job runner asks a worker to run a job by an HTTP request it waits a second for: when the
# worker dies sooner, queue_job logs the cut connection as an ERROR. Expected for a killed job only.
CUT_REQUEST = re.compile(r"ERROR .* odoo\.addons\.queue_job\.jobrunner\.runner: exception in GET \S+job_uuid=(\S+)")
RECORD_START = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d+ \d+ [A-Z]+ ")
results = []
# The server is local: a proxy of the environment (http_proxy) must not stand in between.
HTTP = requests.Session()
HTTP.trust_env = False


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'PASS' if ok else 'FAIL'}: {name}{'' if ok or not detail else f' ({detail})'}", flush=True)
    return ok


def free_ports(count):
    """Ports of 127.0.0.1 the system gives out now, all held until all are known, so that they differ."""
    sockets = [socket.create_server(("127.0.0.1", 0)) for _ in range(count)]
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def queuing_job(registry, batch_id):
    """The one job the batch left: it queues a job per order."""
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        jobs = env["queue.job"].search([("model_name", "=", BATCH), ("method_name", "=", "_job_enqueue_lines")])
        return jobs.filtered(lambda job: job.records.id == batch_id).uuid


def server_config(conf, directory, http_port):
    """ODOO_CONF with the addon's channel given a capacity, and the job runner told to call this
    server's HTTP port on 127.0.0.1 (whatever ODOO_CONF's interface)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(conf)
    parser["queue_job"] = {"channels": CHANNELS, "scheme": "http", "host": "127.0.0.1", "port": str(http_port)}
    path = Path(directory) / "odoo.conf"
    with path.open("w") as output:
        parser.write(output)
    return path


def process_state(pid):
    """(state, parent pid) of a process from /proc, None once it is gone. The command name is in
    parentheses and may hold spaces: the fields after it."""
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def children(pid):
    """The live processes whose parent is pid: the server's HTTP workers, gevent process, job runner."""
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return {child for child in pids if (state := process_state(child)) and state[0] != "Z" and state[1] == pid}


def wait_until(condition, seconds, step=0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


def read(registry, query, params=()):
    """One short committed-data read: a fresh transaction each time, holding no lock."""
    with registry.cursor() as cr:
        cr.execute(query, params)
        return cr.fetchall()


def line_counts(registry, batch_id):
    return dict(
        read(registry, f"SELECT state, count(*) FROM {LINE_TABLE} WHERE batch_id = %s GROUP BY state", [batch_id])
    )


def started_jobs(registry, batch_id):
    """The batch's line jobs now started, with their worker's pid and the line, which must still
    be queued: a job whose line is done has committed its order."""
    return read(
        registry,
        f"""SELECT job.uuid, job.worker_pid, line.id FROM queue_job job
            JOIN {LINE_TABLE} line ON line.job_uuid = job.uuid
            WHERE line.batch_id = %s AND line.state = 'queued' AND job.state = 'started'
              AND job.worker_pid IS NOT NULL
            ORDER BY job.date_started DESC""",
        [batch_id],
    )


def job_row(registry, job_uuid):
    return read(registry, "SELECT state, retry, date_done FROM queue_job WHERE uuid = %s", [job_uuid])[0]


def kill_a_running_job(registry, server, batch_id, killed_jobs):
    """SIGKILL the HTTP worker running a started job of the batch once DONE_BEFORE_KILL orders are
    done. Returns (job uuid, line id, pid, database time of the kill) of a job that was still
    running when its worker died (read again once the worker is gone: not done), or None. Every
    job whose worker was killed is added to killed_jobs."""

    def running_job():
        counts = line_counts(registry, batch_id)
        if counts.get("done", 0) < DONE_BEFORE_KILL or not counts.get("queued"):
            return None
        workers = children(server.pid)
        return next((row for row in started_jobs(registry, batch_id) if row[1] in workers), None)

    for _try in range(KILL_TRIES):
        if not (victim := wait_until(running_job, REQUEUE_SECONDS, step=0.05)):
            return None
        job_uuid, pid, line_id = victim
        os.kill(pid, signal.SIGKILL)
        killed_jobs.append(job_uuid)
        killed_at = read(registry, "SELECT now() AT TIME ZONE 'UTC'")[0][0]
        # Gone, or a zombie until the server's master reaps it.
        wait_until(lambda pid=pid: (process_state(pid) or ("Z",))[0] == "Z", 10, step=0.05)
        # A COMMIT already sent when the worker died may still be finishing in PostgreSQL.
        time.sleep(1)
        state, *_rest = job_row(registry, job_uuid)
        if state != "done":
            return job_uuid, line_id, pid, killed_at
        print(f"note: job {job_uuid} committed just before its worker {pid} was killed; killing another", flush=True)
    return None


def check_killed_job(registry, log, killed):
    job_uuid, line_id, _pid, killed_at = killed

    start = time.monotonic()
    found = wait_until(lambda: REQUEUED + job_uuid in log.read_text(errors="replace"), REQUEUE_SECONDS, step=0.5)
    if check("the job runner found the dead job and requeued it", found, f"not in its log after {REQUEUE_SECONDS} s"):
        print(f"requeued {time.monotonic() - start:.0f} s after the kill", flush=True)
    done = wait_until(lambda: job_row(registry, job_uuid)[0] == "done", REQUEUE_SECONDS, step=0.5)
    state, retry, date_done = job_row(registry, job_uuid)
    # queue_job counts a run in retry: 1 for a job run once, 2 once it was found dead and run again.
    check(
        "the killed job ended done after the kill, run again once",
        done and date_done > killed_at and retry == 2,
        f"state {state}, retry {retry}, done at {date_done}, killed at {killed_at}",
    )
    # The rerun may find the line still held by the dead worker's transaction (PostgreSQL ends it
    # once it notices the client is gone) and leave it to the next job: wait for the line itself.
    wait_until(
        lambda: read(registry, f"SELECT state FROM {LINE_TABLE} WHERE id = %s", [line_id])[0][0] != "queued",
        REQUEUE_SECONDS,
        step=0.5,
    )
    logs = read(
        registry,
        f"""SELECT log.create_date FROM sale_order_cancel_reconciled_log log
            JOIN {LINE_TABLE} line ON line.order_id = log.order_id
            WHERE line.id = %s""",
        [line_id],
    )
    check(
        "the killed job's order was cancelled once, by a run after the kill (the killed run left nothing)",
        len(logs) == 1 and logs[0][0] > killed_at,
        f"logs created at {[row[0] for row in logs]}, killed at {killed_at}",
    )


def check_batch(registry, batch_id, order_ids, queuing_uuid):
    """What an accountant checks once the batch is finished."""
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        batch = env[BATCH].browse(batch_id)
        lines = batch.line_ids
        orders = env["sale.order"].browse(order_ids)
        jobs = env["queue.job"].search([("model_name", "=", LINE), ("method_name", "=", JOB_METHOD)])
        jobs = jobs.filtered(lambda job: job.records & lines)
        queuing = env["queue.job"].search([("uuid", "=", queuing_uuid)])
        check(
            "the batch left one job, which queued a job per order in the addon's channel",
            queuing.state == "done"
            and set(lines.mapped("job_uuid")) <= set(jobs.mapped("uuid"))
            and {job.records for job in jobs} == set(lines)
            and set(jobs.mapped("channel")) == {"root.order_cancel_reconciled"},
            f"queuing job {queuing.state}, {len(jobs)} line jobs for {len(lines)} lines",
        )
        check(
            "every job ended done (none failed, none left)",
            set(jobs.mapped("state")) == {"done"},
            ", ".join(f"{job.uuid}: {job.state}" for job in jobs if job.state != "done"),
        )
        not_done = lines.filtered(lambda line: line.state != "done")
        check(
            "every line of the batch is done",
            not not_done and batch.state == "done",
            "; ".join(f"{line.order_id.name}: {line.state} {line.error or ''}" for line in not_done[:5]),
        )

        logs = env["sale.order.cancel.reconciled.log"].search([("order_id", "in", order_ids)])
        wrong = []
        for order in orders:
            order_logs = logs.filtered(lambda log, order=order: log.order_id == order)
            invoices = order.invoice_ids.filtered(lambda move: move.move_type == "out_invoice")
            refunds = order.invoice_ids.filtered(lambda move: move.move_type == "out_refund")
            deliveries = order.picking_ids.filtered(lambda picking: not picking.return_id)
            returns = order.picking_ids - deliveries
            problems = [
                f"{len(order_logs)} logs" if len(order_logs) != 1 else "",
                f"state {order.state}" if order.state != "cancel" else "",
                "" if all(len(invoice.reversal_move_ids) == 1 for invoice in invoices) else "credit notes",
                "" if len(refunds) == len(invoices) and set(refunds.mapped("state")) == {"posted"} else "refunds",
                "" if set(invoices.mapped("payment_state")) == {"reversed"} else "invoice not reversed",
                "" if all(len(picking.return_ids) == 1 for picking in deliveries) else "returns",
                "" if set(returns.mapped("state")) == {"done"} and len(returns) == len(deliveries) else "return state",
            ]
            if problems := [problem for problem in problems if problem]:
                wrong.append(f"{order.name}: {', '.join(problems)}")
        check(
            "every order is cancelled exactly once: one log, one credit note per invoice, one return per delivery",
            not wrong,
            "; ".join(wrong[:5]),
        )

        customer = orders.partner_id
        payments = env["account.payment"].search([("partner_id", "=", customer.id)])
        inbound = payments.filtered(lambda payment: payment.payment_type == "inbound")
        held = []
        for payment in inbound:
            # Its receivable line: unreconciled once (free of the invoice), not matched since.
            line = payment.move_id.line_ids.filtered(lambda line: line.account_id.account_type == "asset_receivable")
            residual = -sum(line.mapped("amount_residual"))
            if (
                payment.state != "in_process"
                or line.matched_debit_ids
                or payment.currency_id.compare_amounts(residual, payment.amount)
            ):
                held.append(f"{payment.name}: {payment.state}, {residual} free of {payment.amount}")
        check(
            "each payment was unreconciled once and is kept as the customer's credit; no refund payment",
            len(inbound) == len(orders) and not held and not (payments - inbound),
            f"{len(inbound)} payments for {len(orders)} orders, {len(payments - inbound)} outbound; "
            + "; ".join(held[:5]),
        )

        env.flush_all()
        company = env.ref("base.main_company")
        currency = company.currency_id
        unbalanced = [
            move.display_name
            for move, debit, credit in env["account.move.line"]._read_group(
                [("company_id", "=", company.id), ("parent_state", "=", "posted")],
                ["move_id"],
                ["debit:sum", "credit:sum"],
            )
            if not currency.is_zero(debit - credit)
        ]
        check("every posted entry balances", not unbalanced, ", ".join(unbalanced[:5]))
        posted = [("partner_id", "=", customer.id), ("parent_state", "=", "posted")]
        receivable = env["account.move.line"].search([*posted, ("account_id.account_type", "=", "asset_receivable")])
        income = env["account.move.line"].search(
            [*posted, "|", ("account_id.internal_group", "=", "income"), ("tax_line_id", "!=", False)]
        )
        balance, kept = sum(receivable.mapped("balance")), sum(inbound.mapped("amount"))
        check(
            "the customer's receivable nets to the money kept as credit, sales and taxes to zero",
            not currency.compare_amounts(balance, -kept) and currency.is_zero(sum(income.mapped("balance"))),
            f"receivable {balance}, kept {kept}, sales and taxes {sum(income.mapped('balance'))}",
        )


def stop(server):
    """SIGTERM to the whole group (master, workers, gevent process, job runner), SIGKILL to what
    is left after 30 seconds."""
    signal.alarm(0)  # bounded by itself: the global timeout must not cut it short
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        server.poll()  # reaps the master, which would otherwise stay in the group as a zombie
        try:
            os.killpg(server.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(server.pid, signal.SIGKILL)
    server.wait()


def run(conf, dbname, count, log):
    config.parse_config(["-c", conf, "-d", dbname, "--log-level=warn"])
    registry = Registry(dbname)
    query = "SELECT name FROM ir_module_module WHERE name IN %s AND state = 'installed'"
    installed = {name for (name,) in read(registry, query, [(ADDON, "queue_job")])}
    if not check(f"{ADDON} and queue_job are installed in {dbname}", installed == {ADDON, "queue_job"}, installed):
        return
    # The batch workers check's orders and batch: one product, paid, delivered, a member's batch
    # (payments kept, returns validated) started with _create_for_orders.
    batch_id, order_ids = set_up(registry, count)
    queuing_uuid = queuing_job(registry, batch_id)
    killed_jobs = []

    http_port, gevent_port = free_ports(2)
    with tempfile.TemporaryDirectory(prefix="check_queue_job_") as directory:
        server_conf = server_config(conf, directory, http_port)
        command = [sys.executable, ODOO_BIN, "-c", str(server_conf), "-d", dbname, f"--db-filter=^{dbname}$"]
        command += ["--workers=2", "--load=base,web,queue_job", "--max-cron-threads=0", "--log-level=info"]
        command += ["--http-interface=127.0.0.1", f"--http-port={http_port}", f"--gevent-port={gevent_port}"]
        with log.open("w") as output:
            # A session of its own, so that the master and every process it spawns stop together.
            server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        started = time.monotonic()
        try:
            answering = wait_until(lambda: health(http_port) and server.poll() is None, START_SECONDS, step=0.5)
            check(f"the server with --workers=2 answers on 127.0.0.1:{http_port}", answering)
            runner = answering and wait_until(lambda: STARTED in log.read_text(errors="replace"), START_SECONDS)
            if check("its job runner is ready for the database", runner) and answering:
                killed = kill_a_running_job(registry, server, batch_id, killed_jobs)
                detail = f": worker {killed[2]}, job {killed[0]}" if killed else ""
                if check(f"an HTTP worker was killed with SIGKILL while it ran a started job{detail}", killed):
                    check_killed_job(registry, log, killed)
                finished = wait_until(
                    lambda: not line_counts(registry, batch_id).get("queued"), REQUEUE_SECONDS, step=0.5
                )
                seconds = time.monotonic() - started
                check("no order is left queued", finished, str(line_counts(registry, batch_id)))
                attempts = read(registry, f"SELECT sum(attempts) FROM {LINE_TABLE} WHERE batch_id = %s", [batch_id])
                print(
                    f"queue_job workers: {len(order_ids)} orders in {seconds:.0f} s from the server's start, "
                    f"{attempts[0][0] or 0} conflicts retried",
                    flush=True,
                )
        finally:
            stop(server)
    check_batch(registry, batch_id, order_ids, queuing_uuid)
    check_server_log(log, killed_jobs)


def check_server_log(log, killed_jobs):
    """No ERROR, CRITICAL or traceback in the server's output but the job runner's cut request to
    a killed worker (with its traceback)."""
    records = []
    for line in log.read_text(errors="replace").splitlines():
        if RECORD_START.match(line) or not records:
            records.append([line])
        else:
            records[-1].append(line)
    unexpected, cut = [], 0
    for record in records:
        if not (
            " ERROR " in record[0] or " CRITICAL " in record[0] or any(line.startswith("Traceback") for line in record)
        ):
            continue
        if (match := CUT_REQUEST.search(record[0])) and match.group(1) in killed_jobs:
            cut += 1
            continue
        unexpected.append(record[0])
    if cut:
        print(f"expected: {cut} request(s) of the job runner to a killed worker cut (logged as ERROR by queue_job)")
    # Not the line itself: scripts/test.sh fails on any ERROR line of Odoo's format in its output.
    check(
        "the server logged no other ERROR and no other traceback",
        not unexpected,
        f"{len(unexpected)}, the first at {unexpected[0][:23]}: see {log}" if unexpected else "",
    )


def health(port):
    try:
        return HTTP.get(f"http://127.0.0.1:{port}/web/health", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def main(conf, dbname, count=12):
    log = Path(conf).resolve().parent / "check_queue_job_workers.log"

    def out_of_time(_signum, _frame):
        raise TimeoutError(f"the check took more than {TIMEOUT} s")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(TIMEOUT)
    start = time.monotonic()
    try:
        run(conf, dbname, int(count), log)
    except TimeoutError as error:  # the server is stopped on the way out; the failure is counted
        check("the check ends in time", False, str(error))
    finally:
        signal.alarm(0)
    failed = results.count(False)
    if failed:
        print(f"The server's output: {log}")
    print(f"queue_job workers: {time.monotonic() - start:.0f} s in all")
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
