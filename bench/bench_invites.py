"""Benchmark of the invite fan-out: one town hall, 5,000 attendees, sent by a real `worker.py --burst`.

The town hall is a weekly series of 6 occurrences at a fixed UTC time that crosses the United States'
spring clock change (New York's local time moves by an hour, Manila's does not); attendees are split
evenly between a Manila and a New York group. It is created through `POST /api/v1/events` (Flask's test
client, so the latency is the request's own work: parsing, 5,000 attendee rows, the enqueue), its one
RQ job goes to a queue of its own on the bench Redis, and `python worker.py --burst` runs it as a
separate process against an aiosmtpd sink that counts messages.

Printed: wall time from worker start to exit (process start, app creation and the job), messages/s and
their ratio to raw smtplib, the worker's peak memory, and whether the sink and the `deliveries` table
both hold exactly 5,000. Never part of the test run's pass/fail.

Run alone with `python -m bench.run invites`; `python -m bench.bench_invites --profile [N]` instead runs
the job under cProfile in-process (SimpleWorker) for N attendees and prints where the time goes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.baselines import REPO_ROOT, delete_queue_keys, fmt_rate, ratio_text, raw_smtp_rate, redis_url, smtp_sink

ATTENDEES = 5_000
OCCURRENCES = 6
MAIL_FROM = "townhall@eventhub.bench"
BASE_URL = "http://eventhub.bench"
GROUPS = (("Manila", "Asia/Manila"), ("New York", "America/New_York"))


# ---------------------------------------------------------------- the town hall


def series_starts(now: datetime, count: int = OCCURRENCES) -> list[datetime]:
    """Weekly UTC starts at 14:00 from the first Tuesday on or after 20 February of next year: six weeks
    that always span the second Sunday of March, when New York moves its clocks forward."""
    day = datetime(now.year + 1, 2, 20, 14, tzinfo=UTC)
    day += timedelta(days=(1 - day.weekday()) % 7)
    return [day + timedelta(weeks=week) for week in range(count)]


def event_payload(attendees: int = ATTENDEES) -> dict:
    starts = series_starts(datetime.now(UTC))
    return {
        "title": "Q1 Town Hall",
        "description": "Plans for the quarter, and your questions.",
        "timezone": "America/New_York",
        "duration_minutes": 60,
        "occurrences": [start.strftime("%Y-%m-%dT%H:%M:%SZ") for start in starts],
        "every": "week",
        "groups": [{"name": name, "timezone": zone} for name, zone in GROUPS],
        "attendees": [{"email": f"person{n:05d}@example.com", "name": f"Person {n}",
                       "group": GROUPS[n % len(GROUPS)][0]} for n in range(attendees)],
    }


def app_settings(database_url: str, queue_name: str | None, smtp: tuple[str, int]) -> dict:
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-secret",
        "REDIS_URL": redis_url() if queue_name else None,
        "RQ_QUEUE": queue_name or "eventhub",
        "SMTP_HOST": smtp[0],
        "SMTP_PORT": smtp[1],
        "MAIL_FROM": MAIL_FROM,
        "EVENTHUB_BASE_URL": BASE_URL,
    }


def make_app(settings: dict, instance: Path):
    """The app on a database brought to the current schema."""
    from flask_migrate import upgrade

    from eventhub import create_app

    app = create_app(settings)
    app.instance_path = str(instance)
    with app.app_context():
        upgrade()
    return app


def create_town_hall(app, attendees: int = ATTENDEES) -> tuple[dict, float]:
    """Create the organizer and the town hall through the API; returns its JSON and the request's seconds."""
    from eventhub.services.organizers import create_organizer

    with app.app_context():
        _, token = create_organizer(f"org-{uuid.uuid4().hex[:8]}@example.com", "correct horse battery staple")
    payload = event_payload(attendees)
    client = app.test_client()
    began = time.perf_counter()
    response = client.post("/api/v1/events", json=payload, headers={"Authorization": f"Bearer {token}"})
    seconds = time.perf_counter() - began
    if response.status_code != 201:
        raise RuntimeError(f"creating the town hall failed: {response.status_code} {response.get_data(as_text=True)}")
    return response.json, seconds


def sent_deliveries(app, event_id: str) -> int:
    from sqlalchemy import func, select

    from eventhub.extensions import db
    from eventhub.models import Delivery

    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.event_id == event_id, Delivery.status == "sent"))
        db.session.remove()
        return count


# ---------------------------------------------------------------- raw SMTP, the ceiling


# ---------------------------------------------------------------- the worker process and its memory


def _children(pid: int) -> list[int]:
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
    """Polls VmHWM (peak RSS) of a process and every descendant it has, every 20 ms, until stopped."""

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
                todo += _children(pid)
            self.done.wait(0.02)


def run_worker(env: dict) -> dict:
    """`python worker.py --burst` until it exits: seconds, exit code, and the peak RSS (VmHWM) of the worker
    and each process under it (RQ's work horse), polled from /proc every 20 ms.

    Not getrusage/wait4: Linux carries the parent's peak RSS into a child's ru_maxrss across fork and exec,
    so the worker's figure would be at least this bench process's own size. Also returned, for comparison.
    """
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
    return {"seconds": seconds, "returncode": proc.returncode, "maxrss_mib": usage.ru_maxrss / 1024,
            "polled_mib": {pid: kib / 1024 for pid, kib in poll.peaks.items()}, "root": proc.pid,
            "output": b"".join(output).decode(errors="replace")}


def _cleanup_redis(connection, queue, job_ids, event_id: str | None) -> None:
    delete_queue_keys(connection, queue, job_ids)
    for key in connection.scan_iter(match="rq:worker:*", count=1000):
        queues = connection.hget(key, "queues")
        if queues is not None and queue.name in queues.decode().split(","):
            connection.srem("rq:workers", key)
            connection.delete(key)
    if event_id:  # the fan-out's lease, normally released already
        for key in connection.scan_iter(match=f"eventhub:fan-out:{event_id}*", count=1000):
            connection.delete(key)


# ---------------------------------------------------------------- the benchmark


def run(baselines: dict) -> dict:
    """Create the town hall, run the worker once, print the figures and whether every invite arrived."""
    from redis import Redis
    from rq import Queue

    queue_name = f"bench-invites-{uuid.uuid4().hex[:12]}"
    connection = Redis.from_url(redis_url())
    queue = Queue(queue_name, connection=connection)
    job_ids: list[str] = []
    event_id = None
    with tempfile.TemporaryDirectory(prefix="bench-invites-") as folder, smtp_sink() as (host, port, counter):
        database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{Path(folder) / 'bench.db'}"
        database = "BENCH_DATABASE_URL" if os.environ.get("BENCH_DATABASE_URL") else "fresh SQLite file"
        try:
            raw_rate = baselines.get("smtp_msgs_per_s")
            raw_source = "baseline"
            if not raw_rate:
                raw_rate, raw_source = raw_smtp_rate(host, port), "measured here"
            settings = app_settings(database_url, queue_name, (host, port))
            app = make_app(settings, Path(folder) / "instance")
            created, create_seconds = create_town_hall(app)
            event_id = created["id"]
            job_ids.append(created["job_id"])
            print(f"town hall: {ATTENDEES:,} attendees in 2 groups (Manila, New York), weekly series of "
                  f"{OCCURRENCES} crossing New York's March DST change; {database}; queue {queue_name}")
            print(f"create through the API: {create_seconds:.2f} s ({ATTENDEES / create_seconds:,.0f} attendees/s, "
                  f"Flask test client, one request)")

            before = counter.messages
            env = {**os.environ, **{key: str(value) for key, value in settings.items()}}
            env.pop("FLASK_DEBUG", None)
            worker = run_worker(env)
            received = counter.messages - before
            sent_rows = sent_deliveries(app, event_id)
            job = queue.fetch_job(created["job_id"])
            job_status = getattr(job.get_status(), "value", "?") if job is not None else "missing"
            job_seconds = ((job.ended_at - job.started_at).total_seconds()
                           if job is not None and job.ended_at and job.started_at else None)
        finally:
            _cleanup_redis(connection, queue, job_ids, event_id)
            connection.close()

    rate = ATTENDEES / worker["seconds"]
    peaks = worker["polled_mib"]
    horses = {pid: mib for pid, mib in peaks.items() if pid != worker["root"]}
    peak = max(peaks.values(), default=0.0)
    print(f"worker: {worker['seconds']:.2f} s from start to exit (exit {worker['returncode']}), job "
          f"{job_seconds:.2f} s by RQ's own clock, job {job_status}" if job_seconds is not None else
          f"worker: {worker['seconds']:.2f} s from start to exit (exit {worker['returncode']}), job {job_status}")
    children = ", ".join(f"child {mib:.0f} MiB" for mib in horses.values()) or "no child seen"
    print(f"worker peak RSS {peak:.0f} MiB (largest VmHWM polled from /proc every 20 ms: worker "
          f"{peaks.get(worker['root'], 0):.0f} MiB, {children}; wait4 ru_maxrss {worker['maxrss_mib']:.0f} MiB is "
          f"not used, it includes this bench process's own peak carried into the child)")
    problems = []
    if received != ATTENDEES:
        problems.append(f"sink received {received:,} messages, expected {ATTENDEES:,}")
    if sent_rows != ATTENDEES:
        problems.append(f"deliveries has {sent_rows:,} 'sent' rows, expected {ATTENDEES:,}")
    if worker["returncode"] != 0:
        problems.append(f"worker exited {worker['returncode']}:\n{worker['output'][-2000:]}")
    print("check: OK (sink received 5,000 messages; deliveries has 5,000 'sent' rows)" if not problems
          else "check: MISMATCH: " + "; ".join(problems))
    print(f"invites {ATTENDEES:,} attendees: {fmt_rate(rate)} msg/s ({ratio_text(rate, raw_rate, 'raw smtp')}, "
          f"raw smtp {raw_source}), worker peak RSS {peak:.0f} MiB, create {create_seconds:.1f} s")
    figures = {
        "invites_msgs_per_s": round(rate, 1),
        "invites_ratio_raw_smtp": round(rate / raw_rate, 3) if raw_rate else None,
        "invites_worker_s": round(worker["seconds"], 2),
        "invites_worker_peak_rss_mib": round(peak, 1),
        "invites_create_s": round(create_seconds, 3),
        "invites_check_ok": not problems,
    }
    if job_seconds is not None:
        figures["invites_job_s"] = round(job_seconds, 2)
    return figures


# ---------------------------------------------------------------- profiling the fan-out in-process


def profile(attendees: int = 1000, top: int = 30) -> None:
    """Run the job under cProfile in this process (SimpleWorker) and print where the time goes per message."""
    import pstats

    from redis import Redis
    from rq import Queue

    queue_name = f"bench-invites-profile-{uuid.uuid4().hex[:12]}"
    connection = Redis.from_url(redis_url())
    queue = Queue(queue_name, connection=connection)
    job_ids, event_id = [], None
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with tempfile.TemporaryDirectory(prefix="bench-invites-") as folder, smtp_sink() as (host, port, counter):
        try:
            app = make_app(app_settings(f"sqlite:///{Path(folder) / 'bench.db'}", queue_name, (host, port)),
                           Path(folder) / "instance")
            created, _ = create_town_hall(app, attendees)
            event_id = created["id"]
            job_ids.append(created["job_id"])
            profiler, seconds = profiled_burst(app, queue, connection)
        finally:
            for signum, handler in saved.items():
                signal.signal(signum, handler)
            _cleanup_redis(connection, queue, job_ids, event_id)
            connection.close()
    print(f"{attendees:,} attendees, {counter.messages:,} messages in {seconds:.2f} s under cProfile "
          f"({seconds / attendees * 1000:.2f} ms/message)")
    stats = pstats.Stats(profiler)
    steps = {  # label: the profiled functions (file name ending, function name) whose cumulative times add up
        "building the message (all of it)": [("invites.py", "build_invite_message"), ("invites.py", "message")],
        "  build_calendar (iCalendar)": [("calendar.py", "build_calendar")],
        "    planning the series (_plan_series)": [("calendar.py", "_plan_series")],
        "    VTIMEZONE (_vtimezone)": [("calendar.py", "_vtimezone")],
        "    serializing (to_ical)": [("component.py", "to_ical")],
        "  context (local times, links)": [("invites.py", "invite_context"), ("invites.py", "_attendee_context"),
                                           ("invites.py", "zone_context")],
        "  render_template (2 Jinja templates)": [("templating.py", "render_template")],
        "  build_imip_message (email MIME)": [("imip.py", "build_imip_message")],
        "send (serialization + SMTP)": [("mail.py", "send")],
        "  as_bytes / generator (serialization)": [("generator.py", "flatten")],
        "  smtplib sendmail (SMTP round trips)": [("smtplib.py", "sendmail")],
        "_record (delivery row + commit)": [("delivery.py", "_record")],
        "  session commit": [("scoping.py", "commit")],
    }
    print_profile_steps(stats, steps, attendees, seconds, top)


def profiled_burst(app, queue, connection) -> tuple:
    """Run the queue once in this process (SimpleWorker) under cProfile: (profiler, seconds)."""
    import cProfile

    from rq import SimpleWorker

    profiler = cProfile.Profile()
    with app.app_context():
        worker = SimpleWorker([queue], connection=connection, log_job_description=False)
        began = time.perf_counter()
        profiler.enable()
        worker.work(burst=True, logging_level="WARNING")
        profiler.disable()
        seconds = time.perf_counter() - began
        connection.delete(worker.key)
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


if __name__ == "__main__":
    if "--profile" in sys.argv:
        numbers = [int(arg) for arg in sys.argv[1:] if arg.isdigit()]
        profile(*numbers[:1])
    else:
        run({})
