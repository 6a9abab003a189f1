"""What the mailing benchmarks share: the app on a bench database, the town hall (made through the API, in
pages of attendees when it is large), a `worker.py` run with its peak memory, the Redis clean-up, and the
profile table. Redis key names come from the modules that own them, so a renamed key cannot leave a
benchmark cleaning up the wrong thing.

The bench Redis is `REDIS_URL` (else `bench.baselines.DEFAULT_REDIS_URL`); a benchmark's database is a
fresh SQLite file unless `BENCH_DATABASE_URL` names another (its other rows are left alone: every count is
of the benchmark's own town hall).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.baselines import REPO_ROOT, delete_queue_keys, redis_url

MAIL_FROM = "townhall@eventhub.bench"
BASE_URL = "http://eventhub.bench"
PAGE = 10_000  # attendees per request: the API's own limit (eventhub.domain.events.MAX_ATTENDEES)


# ---------------------------------------------------------------- the app and its database


def database_url(folder: Path, name: str = "bench") -> str:
    """BENCH_DATABASE_URL if set, else a fresh SQLite file in `folder`."""
    return os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder / f'{name}.db'}"


def database_label(url: str) -> str:
    return "BENCH_DATABASE_URL" if url == os.environ.get("BENCH_DATABASE_URL") else "fresh SQLite file"


def app_settings(url: str, queue_name: str | None, smtp: tuple[str, int]) -> dict:
    return {
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret",
        "REDIS_URL": redis_url() if queue_name else None,
        "RQ_QUEUE": queue_name or "eventhub",
        "SMTP_HOST": smtp[0],
        "SMTP_PORT": smtp[1],
        "MAIL_FROM": MAIL_FROM,
        "EVENTHUB_BASE_URL": BASE_URL,
    }


def make_app(settings: dict, instance: Path):
    """The app on a database brought to the current schema (what is in it already stays)."""
    from flask_migrate import upgrade

    from eventhub import create_app

    app = create_app(settings)
    app.instance_path = str(instance)
    with app.app_context():
        upgrade()
    return app


def worker_env(settings: dict, **extra) -> dict:
    """The environment of a `worker.py` process for these settings."""
    env = {**os.environ, **{key: str(value) for key, value in {**settings, **extra}.items()}}
    env.pop("FLASK_DEBUG", None)
    return env


# ---------------------------------------------------------------- the town hall


def series_starts(now: datetime, count: int) -> list[datetime]:
    """Weekly UTC starts at 14:00 from the first Tuesday on or after 20 February of next year: six weeks
    always span the second Sunday of March, when New York moves its clocks forward."""
    day = datetime(now.year + 1, 2, 20, 14, tzinfo=UTC)
    day += timedelta(days=(1 - day.weekday()) % 7)
    return [day + timedelta(weeks=week) for week in range(count)]


def people(count: int, groups: tuple, start: int = 0) -> list[dict]:
    """`count` attendees from number `start`, spread over `groups` in turn (a None group: the event's zone)."""
    chosen = [name for name, _ in groups]
    return [{"email": f"person{n:06d}@example.com", "name": f"Person {n}",
             **({"group": chosen[n % len(chosen)]} if chosen[n % len(chosen)] else {})}
            for n in range(start, start + count)]


def event_payload(groups: tuple, occurrences: int = 1, timezone: str = "America/New_York") -> dict:
    """A town hall (a weekly series when `occurrences` > 1) for `groups`, without attendees."""
    starts = [start.strftime("%Y-%m-%dT%H:%M:%SZ") for start in series_starts(datetime.now(UTC), occurrences)]
    payload = {"title": "Q1 Town Hall", "description": "Plans for the quarter, and your questions.",
               "timezone": timezone, "duration_minutes": 60,
               "groups": [{"name": name, "timezone": zone} for name, zone in groups if name]}
    if occurrences > 1:
        payload |= {"occurrences": starts, "every": "week"}
    else:
        payload["start"] = starts[0]
    return payload


def organizer_headers(app) -> dict:
    from eventhub.services.organizers import create_organizer

    with app.app_context():
        _, token = create_organizer(f"org-{uuid.uuid4().hex[:8]}@example.com", "correct horse battery staple")
    return {"Authorization": f"Bearer {token}"}


def create_town_hall(app, payload: dict, attendees: list[dict], headers: dict | None = None) -> dict:
    """Create the town hall through the API with its first page of attendees, then add the rest in pages
    (`POST /api/v1/events/<id>/attendees`). Returns the event's JSON, the organizer's `headers`, the job
    ids of its mailings, `seconds` (all requests) and `pages` (each request's seconds)."""
    headers = headers or organizer_headers(app)
    client = app.test_client()
    began = time.perf_counter()
    response = client.post("/api/v1/events", json={**payload, "attendees": attendees[:PAGE]}, headers=headers)
    pages = [time.perf_counter() - began]
    if response.status_code != 201:
        raise RuntimeError(f"creating the town hall failed: {response.status_code} {response.get_data(as_text=True)}")
    created, job_ids = response.json, [response.json.get("job_id")]
    for start in range(PAGE, len(attendees), PAGE):
        began = time.perf_counter()
        added = client.post(f"/api/v1/events/{created['id']}/attendees", headers=headers,
                            json={"attendees": attendees[start:start + PAGE]})
        pages.append(time.perf_counter() - began)
        if added.status_code != 202:
            raise RuntimeError(f"adding attendees failed: {added.status_code} {added.get_data(as_text=True)}")
        job_ids.append((added.json or {}).get("job_id"))
    return {"event": created, "headers": headers, "job_ids": [j for j in job_ids if j], "seconds": sum(pages),
            "pages": pages}


def delivered(app, event_id: str, kind: str | None = None) -> int:
    """How many 'sent' delivery records the event has (of `kind`, when given)."""
    from sqlalchemy import func, select

    from eventhub.extensions import db
    from eventhub.models import Delivery

    with app.app_context():
        query = select(func.count()).select_from(Delivery).where(Delivery.event_id == event_id,
                                                                 Delivery.status == "sent")
        if kind is not None:
            query = query.where(Delivery.kind == kind)
        try:
            return db.session.scalar(query)
        finally:
            db.session.remove()


def commit_cost_us(app, rows: int = 300) -> float:
    """Microseconds per committed one-row insert on the app's database, each its own transaction, as a vote
    is: on PostgreSQL mostly the flush of its write-ahead log, on SQLite (WAL, synchronous=NORMAL) an append."""
    from eventhub.extensions import db

    with app.app_context(), db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("CREATE TEMPORARY TABLE bench_commit_probe (n INTEGER)")
        insert = "INSERT INTO bench_commit_probe (n) VALUES (%s)" if db.engine.dialect.name != "sqlite" else \
            "INSERT INTO bench_commit_probe (n) VALUES (?)"
        started = time.perf_counter()
        for n in range(rows):
            connection.exec_driver_sql(insert, (n,))
        elapsed = time.perf_counter() - started
        connection.exec_driver_sql("DROP TABLE bench_commit_probe")
    return elapsed / rows * 1e6


# ---------------------------------------------------------------- Redis


def rate_keys(connection) -> set:
    """The rate-limit counters now in Redis (to delete, later, only those a benchmark added)."""
    from eventhub.services.rate_limit import counter_name

    return set(connection.scan_iter(match=counter_name("*", 0, 0).split("*")[0] + "*", count=1000))


def cleanup_redis(connection, queue, job_ids=(), event_ids=(), rate_keys_before: set | None = None) -> None:
    """Everything a benchmark's run left in the bench Redis, and nothing else: its queue, registries and jobs
    (scheduled and ended ones too, and their executions), the workers and schedulers registered for that
    queue, its town halls' leases and board keys and, given the rate counters from before the run, those it
    added. RQ's own global keys (`rq:workers`, `rq:clean_groups`) stay."""
    from eventhub.services.board import VERSION_KEY
    from eventhub.services.delivery import LEASE_PREFIX

    registries = (queue.scheduled_job_registry, queue.started_job_registry, queue.finished_job_registry,
                  queue.failed_job_registry, queue.deferred_job_registry, queue.canceled_job_registry)
    job_ids = {*job_ids, *queue.get_job_ids(), *(job for registry in registries for job in registry.get_job_ids())}
    delete_queue_keys(connection, queue, job_ids)
    executions = [key for key in connection.scan_iter(match="rq:execution:*", count=1000)
                  if key.decode().split(":")[2] in job_ids]
    connection.delete(*executions, *[f"rq:executions:{job_id}" for job_id in job_ids], "-")
    for pattern in ("rq:worker:*", "rq:scheduler:*"):  # the workers and their schedulers, for this queue only
        for key in connection.scan_iter(match=pattern, count=1000):
            if connection.type(key) != b"hash":
                continue
            queues = connection.hget(key, "queues")
            if queues is not None and queue.name in queues.decode().split(","):
                connection.srem("rq:workers", key)
                connection.delete(key, key + b":executions")
    for event_id in event_ids:  # the mailings' leases (normally released already) and the board's keys
        board = VERSION_KEY.format(event_id=event_id).rsplit(":", 1)[0]
        for pattern in (f"{LEASE_PREFIX}{event_id}*", f"{board}:*"):
            for key in connection.scan_iter(match=pattern, count=1000):
                connection.delete(key)
    if rate_keys_before is not None:
        added = list(rate_keys(connection) - rate_keys_before)
        for start in range(0, len(added), 1000):
            connection.delete(*added[start:start + 1000])


# ---------------------------------------------------------------- worker processes and their memory


def children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(child) for child in handle.read().split()]
    return found


def _vm_hwm_kib(pid: int) -> int | None:
    with contextlib.suppress(OSError, ValueError), open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


class TreePeaks(threading.Thread):
    """Polls VmHWM (the peak RSS, what the process's own ru_maxrss reports) of a process and every descendant
    it has, every 20 ms, until stopped."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root = root
        self.peaks: dict[int, int] = {}  # pid -> KiB
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            todo = [self.root]
            while todo:
                pid = todo.pop()
                hwm = _vm_hwm_kib(pid)
                if hwm is not None:
                    self.peaks[pid] = max(hwm, self.peaks.get(pid, 0))
                todo += children(pid)
            self.done.wait(0.02)


def run_worker(env: dict) -> dict:
    """`python worker.py --burst` until it exits: seconds, exit code, output, and the peak RSS (VmHWM) of the
    worker (`worker_mib`) and of its largest work horse (`horse_mib`), polled from /proc every 20 ms.

    Not wait4's ru_maxrss: Linux carries the parent's peak RSS into a child's across fork and exec, so the
    worker's figure would be at least this bench process's own size. Also returned, for comparison."""
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "worker.py", "--burst"], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    poll = TreePeaks(proc.pid)
    poll.start()
    output: list[bytes] = []
    reader = threading.Thread(target=lambda: output.append(proc.stdout.read()), daemon=True)
    reader.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    seconds = time.perf_counter() - began
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
    poll.done.set()
    poll.join()
    reader.join(timeout=5)
    peaks = {pid: kib / 1024 for pid, kib in poll.peaks.items()}
    horses = [mib for pid, mib in peaks.items() if pid != proc.pid]
    return {"seconds": seconds, "returncode": proc.returncode, "maxrss_mib": usage.ru_maxrss / 1024,
            "worker_mib": peaks.get(proc.pid, 0.0), "horse_mib": max(horses, default=0.0),
            "peak_mib": max(peaks.values(), default=0.0), "horses": len(horses),
            "output": b"".join(output).decode(errors="replace")}


def memory_text(worker: dict) -> str:
    return (f"peak RSS {worker['peak_mib']:.0f} MiB (VmHWM from /proc every 20 ms: worker {worker['worker_mib']:.0f} "
            f"MiB, largest of {worker['horses']} work horse(s) {worker['horse_mib']:.0f} MiB)")


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL a worker and its work horse (which RQ puts in a process group of its own)."""
    for pid in [*children(process.pid), process.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()


def wait_until(condition, timeout: float) -> float:
    """Seconds until `condition()` held; raises after `timeout`."""
    began = time.perf_counter()
    while not condition():
        if time.perf_counter() - began > timeout:
            raise RuntimeError("timed out")
        time.sleep(0.005)
    return time.perf_counter() - began


# ---------------------------------------------------------------- profiling a job in this process


def profiled_burst(app, queue, connection) -> tuple:
    """Run the queue once in this process (SimpleWorker) under cProfile: (profiler, seconds)."""
    import cProfile

    from rq import SimpleWorker

    profiler = cProfile.Profile()
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with app.app_context():
            worker = SimpleWorker([queue], connection=connection, log_job_description=False)
            began = time.perf_counter()
            profiler.enable()
            worker.work(burst=True, logging_level="WARNING")
            profiler.disable()
            seconds = time.perf_counter() - began
            connection.delete(worker.key)
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)  # the worker installs its own
    return profiler, seconds


def print_profile_steps(stats, steps: dict, messages: int, seconds: float, top: int) -> None:
    """A table of the named steps' cumulative times per message, then the profiler's own top entries.
    `steps` maps a label to the (file name ending, function name) pairs whose times add up to it."""
    print(f"{'step':44} {'cumulative s':>12} {'ms/message':>10} {'share':>6}")
    for label, functions in steps.items():
        total = sum(entry[3] for (path, _, name), entry in stats.stats.items()
                    if any(name == function and path.endswith(end) for end, function in functions))
        print(f"{label:44} {total:12.2f} {total / messages * 1000:10.3f} {total / seconds:6.0%}")
    stats.sort_stats("cumulative").print_stats(top)
