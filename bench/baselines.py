"""Baselines measured at the start of every bench run, and the helpers benchmarks reuse.

Each baseline returns a dict of figures (merged into the `baselines` dict passed to every
benchmark) and prints one line. A benchmark divides its own figure by the matching baseline,
so the ratio stays meaningful on any machine.
"""

import asyncio
import contextlib
import http.client
import os
import re
import shutil
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


# ---------------------------------------------------------------- formatting


def fmt_rate(value: float) -> str:
    """A rate with thousands separators; one decimal below 100."""
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def ratio_text(value: float, base: float | None, base_name: str) -> str:
    """'0.42x flask' style text; 'n/a' when the baseline is missing."""
    if not base:
        return f"n/a x {base_name}"
    return f"{value / base:.2f}x {base_name}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- HTTP: gunicorn + load


def _gunicorn_has(setting: str) -> bool:
    from gunicorn.config import KNOWN_SETTINGS

    return any(s.name == setting for s in KNOWN_SETTINGS)


def _wait_until_answering(proc: subprocess.Popen, port: int, path: str, log_path: str, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{_tail(log_path)}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", path)
            conn.getresponse().read()
            return  # any HTTP answer means a worker is serving
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
        finally:
            conn.close()
    raise RuntimeError(f"gunicorn did not answer on port {port} within {timeout:.0f} s:\n{_tail(log_path)}")


def _tail(path: str, lines: int = 20) -> str:
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-lines:])


@contextlib.contextmanager
def serve_with_gunicorn(app_spec: str, env: dict | None = None, workers: int = 2, *,
                        worker_class: str = "sync", ready_path: str = "/", ready_timeout: float = 30.0,
                        config: str | None = None):
    """Serve `app_spec` (e.g. "bench.bare_app:app", "wsgi:app") with gunicorn on 127.0.0.1.

    Yields the base URL once a worker answers HTTP on `ready_path` (any status). `env` is added
    to the current environment. `config` replaces the repository's gunicorn.conf.py (which hooks
    EventHub's own app). Gunicorn is always stopped on exit, even on error.
    """
    # the listening socket is ours and handed down, so no other process can take the port meanwhile
    listener = socket.create_server(("127.0.0.1", 0), backlog=2048)
    port = listener.getsockname()[1]
    cmd = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", worker_class,
           "--bind", f"fd://{listener.fileno()}", "--chdir", str(REPO_ROOT), "--log-level", "warning",
           "--graceful-timeout", "5"]
    if config is not None:
        cmd += ["--config", config]
    if _gunicorn_has("control_socket_disable"):
        cmd.append("--no-control-socket")  # gunicorn >= 25.1 shares one socket path per user by default
    cmd.append(app_spec)
    log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)
    proc = None
    try:
        with listener:
            proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env={**os.environ, **(env or {})}, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    pass_fds=(listener.fileno(),))
        _wait_until_answering(proc, port, ready_path, log.name, ready_timeout)
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # our own session: master and its workers
                proc.wait()
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # workers left behind by a master that died
        log.close()
        os.unlink(log.name)


def load_tool() -> str:
    """'wrk' if wrk is on PATH (unless BENCH_LOADER=python), else 'python'."""
    wanted = os.environ.get("BENCH_LOADER", "").lower()
    if wanted == "python":
        return "python"
    if shutil.which("wrk"):
        return "wrk"
    if wanted == "wrk":
        raise RuntimeError("BENCH_LOADER=wrk but wrk is not on PATH")
    return "python"


def load(url: str, connections: int, seconds: float, method: str = "GET", body: str | bytes | None = None,
         headers: dict | None = None, lua_script: str | None = None) -> dict:
    """Load `url` for `seconds` over `connections` connections.

    Returns {"rps", "p99_ms", "requests", "errors", "tool", "connections"}; `errors` counts
    socket errors, timeouts and responses outside 2xx/3xx. `lua_script` is wrk Lua source run
    after `method`/`body`/`headers` are set; the Python loader cannot run it and raises.
    """
    if load_tool() == "wrk":
        return _load_wrk(url, connections, seconds, method, body, headers, lua_script)
    if lua_script:
        raise RuntimeError("lua_script needs wrk; the Python loader only sends a fixed request")
    return _load_python(url, connections, seconds, method, body, headers)


def _lua_string(value: str | bytes) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in b'"\\' else f"\\{b:03d}" for b in raw) + '"'


_WRK_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _load_wrk(url, connections, seconds, method, body, headers, lua_script) -> dict:
    lines = [f"wrk.method = {_lua_string(method)}"] if method != "GET" else []
    if body is not None:
        lines.append(f"wrk.body = {_lua_string(body)}")
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in (headers or {}).items()]
    if lua_script:
        lines.append(lua_script)
    cmd = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    with tempfile.NamedTemporaryFile("w", prefix="bench-wrk-", suffix=".lua") as script:
        if lines:
            script.write("\n".join(lines) + "\n")
            script.flush()
            cmd += ["-s", script.name]
        done = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 60)
    out = done.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$", out, re.M)
    if done.returncode != 0 or not rps or not p99:
        raise RuntimeError(f"wrk failed (exit {done.returncode}):\n{out}{done.stderr}")
    requests = re.search(r"(\d+) requests in", out)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(rps.group(1)), "p99_ms": float(p99.group(1)) * _WRK_UNITS_MS[p99.group(2)],
            "requests": int(requests.group(1)) if requests else None,
            "errors": errors + (int(non2xx.group(1)) if non2xx else 0), "tool": "wrk",
            "connections": connections}


def _load_python(url, connections, seconds, method, body, headers) -> dict:
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    payload = body.encode() if isinstance(body, str) else body
    start = time.perf_counter()
    deadline = start + seconds

    def one_connection(_):
        # http.client reconnects by itself when the server closes (gunicorn sync workers do)
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
        latencies, errors = [], 0
        while (begin := time.perf_counter()) < deadline:
            try:
                conn.request(method, path, body=payload, headers=headers or {})
                response = conn.getresponse()
                response.read()
                latencies.append(time.perf_counter() - begin)
                errors += response.status >= 400
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
        conn.close()
        return latencies, errors

    with ThreadPoolExecutor(max_workers=connections) as pool:
        results = list(pool.map(one_connection, range(connections)))
    elapsed = time.perf_counter() - start
    latencies = sorted(t for lat, _ in results for t in lat)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000 if latencies else float("nan")
    return {"rps": len(latencies) / elapsed, "p99_ms": p99, "requests": len(latencies),
            "errors": sum(e for _, e in results), "tool": "python", "connections": connections}


def flask_rps(connections: int = 64, seconds: float = 5) -> dict:
    """Requests/s of a one-route Flask app under gunicorn (2 sync workers)."""
    # not the repository's gunicorn.conf.py: its hook starts EventHub's outbox sweep, which a bare app has not
    with serve_with_gunicorn("bench.bare_app:app", workers=2, config=os.devnull) as base_url:
        result = load(base_url + "/", connections, seconds)
    errors = f", {result['errors']:,} errors" if result["errors"] else ""
    print(f"baseline flask: {fmt_rate(result['rps'])} req/s ({result['tool']}, {connections} connections, "
          f"p99 {result['p99_ms']:.1f} ms{errors})")
    return {"flask_rps": result["rps"], "flask_p99_ms": result["p99_ms"], "flask_errors": result["errors"],
            "load_tool": result["tool"]}


def durable_write_rps(database_url: str, connections: int = 64, seconds: float = 5) -> dict:
    """Requests/s of bare Flask committing one inserted row per request (`bench/durable_write_app.py`) on the
    database of `database_url` (a SQLAlchemy URL), under gunicorn with 2 sync workers as `flask_rps`."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    postgres = url.get_backend_name() == "postgresql"
    database = url.set(drivername="postgresql").render_as_string(hide_password=False) if postgres else \
        str(Path(url.database).with_name("durable-write-probe.db"))  # beside the app's file, not in it

    def run(*statements: str) -> None:
        with (psycopg.connect(database, autocommit=True) if postgres else
              contextlib.closing(sqlite3.connect(database, isolation_level=None))) as connection:
            for statement in statements:
                connection.execute(statement)

    run("DROP TABLE IF EXISTS durable_write_probe",
        "CREATE TABLE durable_write_probe (id VARCHAR(32) PRIMARY KEY, voter VARCHAR(64) NOT NULL)")
    try:
        with serve_with_gunicorn("bench.durable_write_app:app", env={"DURABLE_WRITE_DATABASE": database},
                                 workers=2, config=os.devnull) as base_url:
            result = load(base_url + "/", connections, seconds, method="POST")
    finally:
        run("DROP TABLE durable_write_probe")
    print(f"durable write ({url.get_backend_name()}): bare flask committing one row per request "
          f"{fmt_rate(result['rps'])} req/s ({result['tool']}, {connections} connections, "
          f"p99 {result['p99_ms']:.1f} ms)")
    return {"durable_write_rps": result["rps"], "durable_write_errors": result["errors"]}


# ---------------------------------------------------------------- SMTP


class MessageCounter:
    """An aiosmtpd handler that accepts every message and only counts it, taking `delay` seconds for each
    (a relay slower than loopback) without holding up the other connections."""

    def __init__(self, delay: float = 0.0):
        self.messages = 0
        self.recipients = 0
        self.delay = delay
        self.first_at = self.last_at = None  # time.perf_counter() of the first and the last message

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        self.messages += 1
        self.recipients += len(envelope.rcpt_tos)
        self.last_at = time.perf_counter()
        if self.first_at is None:
            self.first_at = self.last_at
        return "250 OK"


@contextlib.contextmanager
def smtp_sink(delay: float = 0.0):
    """A counting SMTP server on 127.0.0.1 taking `delay` seconds a message; yields (host, port, counter)."""
    from aiosmtpd.controller import Controller

    counter = MessageCounter(delay)
    controller = Controller(counter, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.hostname, controller.port, counter
    finally:
        controller.stop()


def raw_smtp_rate(host: str, port: int, messages: int = 2000, raw: bytes | None = None) -> float:
    """Messages/s through raw smtplib over one connection to the SMTP server at host:port: a small message
    built once, or the bytes `raw` (a message built elsewhere, sent as it is)."""
    msg = EmailMessage()
    msg["From"] = "bench@eventhub.test"
    msg["To"] = "someone@eventhub.test"
    msg["Subject"] = "Benchmark message"
    msg.set_content("A short plain-text body, about the size of a reminder.\n")
    raw = raw or msg.as_bytes()
    with smtplib.SMTP(host, port) as smtp:
        smtp.ehlo()
        start = time.perf_counter()
        for _ in range(messages):
            smtp.sendmail(msg["From"], [msg["To"]], raw)
        return messages / (time.perf_counter() - start)


def smtp_msgs_per_s(messages: int = 2000) -> dict:
    """The baseline: raw smtplib to a loopback aiosmtpd that only counts what it receives."""
    with smtp_sink() as (host, port, counter):
        rate = raw_smtp_rate(host, port, messages)
        if counter.messages != messages:
            raise RuntimeError(f"SMTP sink counted {counter.messages} of {messages} messages")
    print(f"baseline smtp: {fmt_rate(rate)} msg/s (smtplib, 1 connection, {messages:,} messages)")
    return {"smtp_msgs_per_s": rate}


# ---------------------------------------------------------------- RQ


def noop_job():
    """The cheapest possible RQ job."""
    return None


def redis_url() -> str:
    """REDIS_URL if set, else db 15 on the local Redis."""
    return os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


def delete_queue_keys(connection, queue, job_ids=()) -> None:
    """Remove a bench queue, its registries and its jobs; other keys are left alone."""
    queue.delete(delete_jobs=True)
    keys = [k for jid in job_ids for k in (f"rq:job:{jid}", f"rq:results:{jid}", f"rq:job:{jid}:dependents")]
    keys += list(connection.scan_iter(match=f"rq:*:{queue.name}", count=1000))
    for i in range(0, len(keys), 500):
        connection.delete(*keys[i:i + 500])


def rq_noop_jobs_per_s(jobs: int = 2000, one_by_one: int = 200) -> dict:
    """No-op jobs/s through an in-process SimpleWorker, plus enqueue rates."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    connection = Redis.from_url(redis_url())
    queue = Queue(f"bench-noop-{uuid.uuid4().hex[:12]}", connection=connection)
    options = {"result_ttl": 60, "failure_ttl": 60}
    job_ids, worker = [], None
    saved_signals = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        start = time.perf_counter()
        for _ in range(one_by_one):
            job_ids.append(queue.enqueue(noop_job, job_timeout=30, **options).id)
        enqueue_rate = one_by_one / (time.perf_counter() - start)

        batch = [Queue.prepare_data(noop_job, timeout=30, **options) for _ in range(jobs - one_by_one)]
        start = time.perf_counter()
        job_ids += [job.id for job in queue.enqueue_many(batch)]
        many_rate = len(batch) / (time.perf_counter() - start)

        worker = SimpleWorker([queue], connection=connection, log_job_description=False)
        start = time.perf_counter()
        worker.work(burst=True, logging_level="WARNING")
        rate = jobs / (time.perf_counter() - start)
        finished = queue.finished_job_registry.count
        if finished != jobs:
            raise RuntimeError(f"{finished} of {jobs} no-op jobs finished")
    finally:
        for signum, handler in saved_signals.items():
            signal.signal(signum, handler)  # the worker installs its own
        delete_queue_keys(connection, queue, job_ids)
        if worker is not None:
            connection.delete(worker.key)  # a dead worker's hash, kept briefly by RQ
    print(f"baseline rq: {fmt_rate(rate)} jobs/s (SimpleWorker, {jobs:,} no-op jobs; enqueue "
          f"{fmt_rate(enqueue_rate)}/s one by one, {fmt_rate(many_rate)}/s with enqueue_many)")
    return {"rq_noop_jobs_per_s": rate, "rq_enqueue_per_s": enqueue_rate, "rq_enqueue_many_per_s": many_rate}


BASELINES = (flask_rps, smtp_msgs_per_s, rq_noop_jobs_per_s)
