"""The one way work is put on the queue: RQ on Redis when `REDIS_URL` is set, else a thread in this process.

Both run the same job functions; both keep status and progress (`done`, `total`) readable by job id, retry
on the same intervals, and end a job that runs past its timeout with RQ's `JobTimeoutException` (RQ kills
its work horse; a thread cannot be killed, so an in-process job is stopped where it calls `keep_within_time`,
which a mailing does before every message). Timed work is not held by either: it waits in the outbox.
"""

from __future__ import annotations

import contextvars
import importlib
import logging
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from flask import current_app
from redis import Redis
from rq import Queue, Retry, Worker, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.timeouts import JobTimeoutException

from eventhub.gateways.processes import process_alive

log = logging.getLogger(__name__)

# RQ's statuses folded into the four the API promises: a job waiting for a retry is still queued.
_PUBLIC_STATUS = {
    "queued": "queued",
    "deferred": "queued",
    "scheduled": "queued",
    "started": "started",
    "finished": "finished",
    "failed": "failed",
    "stopped": "failed",
    "canceled": "failed",
}


@dataclass(frozen=True)
class JobPolicy:
    """How long a job may run, when it is retried, and how long its result is kept (seconds)."""

    timeout: int = 600
    retry_intervals: tuple[int, ...] = (10, 60, 300)
    result_ttl: int = 7 * 24 * 3600


@dataclass
class _LocalJob:
    """A job run in this process: the in-process stand-in for `rq.job.Job`'s status and meta."""

    id: str
    status: str = "queued"
    meta: dict = field(default_factory=dict)
    retry_at: float = 0.0  # monotonic time of the next attempt, while "scheduled"
    deadline: float = float("inf")  # monotonic time past which the running attempt is stopped

    def save_meta(self) -> None:
        """Meta lives in memory here; kept for the same calls as an RQ job."""


_current_local_job: contextvars.ContextVar[_LocalJob | None] = contextvars.ContextVar(
    "eventhub_local_job", default=None
)


def current_job_meta_target():
    """The running job (RQ's or the in-process one), or None outside a job."""
    return get_current_job() or _current_local_job.get()


def keep_within_time() -> None:
    """Stop the running in-process job if it is past its timeout, as RQ stops its own (a no-op elsewhere)."""
    local = _current_local_job.get()
    if local is not None and time.monotonic() > local.deadline:
        raise JobTimeoutException(f"job {local.id} ran past its timeout")


class JobQueue:
    """The queue of the current app: `jobs.enqueue(...)` anywhere inside an app context."""

    def init_app(self, app) -> None:
        redis_url = app.config.get("REDIS_URL")
        backend = RedisJobs(redis_url, app.config["RQ_QUEUE"]) if redis_url else InProcessJobs(app)
        app.extensions["eventhub_jobs"] = backend

    @property
    def backend(self) -> RedisJobs | InProcessJobs:
        return current_app.extensions["eventhub_jobs"]

    @property
    def uses_redis(self) -> bool:
        return isinstance(self.backend, RedisJobs)

    def __getattr__(self, name):
        # enqueue, status, wait_local, connection, queue: whatever the current backend offers
        return getattr(self.backend, name)


def resolve(func):
    """A job function, given as itself or by its dotted name (how the dispatcher names the outbox job)."""
    if not isinstance(func, str):
        return func
    module, _, name = func.rpartition(".")
    return getattr(importlib.import_module(module), name)


class RedisJobs:
    """Jobs on RQ: `python worker.py` runs them."""

    def __init__(self, redis_url: str, queue_name: str):
        # A Redis that is down answers at once or within two seconds: a request never hangs on it.
        self.connection = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=10)
        self.queue = Queue(queue_name, connection=self.connection)

    def is_active(self, job_id: str) -> bool:
        """Whether the job waits in the queue or runs on a live worker (not lost, failed or finished)."""
        try:
            job = Job.fetch(job_id, connection=self.connection)
        except NoSuchJobError:
            return False
        status = str(getattr(job.get_status(refresh=False), "value", job.get_status(refresh=False)))
        if status in ("queued", "deferred", "scheduled"):
            return True
        return status == "started" and worker_alive(self.connection, job.worker_name)

    def enqueue(self, func, *args, policy: JobPolicy = JobPolicy(), job_id: str | None = None,
                owner: str | None = None, description: str | None = None) -> str:
        """Queue `func(*args)` under `policy`; return the job id. Arguments must be ids and plain values."""
        retry = None
        if policy.retry_intervals:
            retry = Retry(max=len(policy.retry_intervals), interval=list(policy.retry_intervals))
        name = func if isinstance(func, str) else func.__name__
        job = self.queue.enqueue_call(
            func,
            args=args,
            timeout=policy.timeout,
            result_ttl=policy.result_ttl,
            failure_ttl=policy.result_ttl,
            retry=retry,
            job_id=job_id,
            meta={"owner": owner, "done": 0, "total": 0},
            description=description or name,
        )
        log.info("job %s queued: %s", job.id, description or name)
        return job.id

    def status(self, job_id: str) -> dict | None:
        """`{"status", "done", "total", "owner", ...}` of a job, or None if no such job is known."""
        try:
            job = Job.fetch(job_id, connection=self.connection)
        except NoSuchJobError:
            return None
        return _describe(job.get_status(refresh=False) or "queued", job.meta)

    def wait_local(self, timeout: float = 30.0) -> None:
        """Nothing runs here: a worker does."""

    def close(self) -> None:
        """Let go of the connection (the app is being thrown away)."""
        self.connection.close()


class InProcessJobs:
    """Jobs on one background thread of this process (the embedded default: no Redis, no worker)."""

    def __init__(self, app):
        self.app = app
        self._jobs: dict[str, _LocalJob] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eventhub-job")
        self._lock = threading.Lock()
        self._sweeper: threading.Thread | None = None
        self._stop_sweeping = threading.Event()
        # Set by the dispatcher: puts due outbox tasks on this queue; returns seconds to the next one due.
        self.sweep = None
        self._closed = False

    def enqueue(self, func, *args, policy: JobPolicy = JobPolicy(), job_id: str | None = None,
                owner: str | None = None, description: str | None = None) -> str:
        local = _LocalJob(id=job_id or uuid.uuid4().hex, meta={"owner": owner, "done": 0, "total": 0})
        with self._lock:
            if len(self._jobs) > 10_000:  # forget ended jobs rather than grow without end
                self._jobs = {k: v for k, v in self._jobs.items() if v.status in ("queued", "started", "scheduled")}
            self._jobs[local.id] = local
        self._executor.submit(self._run, local, resolve(func), args, policy, 0)
        log.info("job %s queued in-process: %s", local.id, description or getattr(func, "__name__", func))
        return local.id

    def is_active(self, job_id: str) -> bool:
        local = self._jobs.get(job_id)
        return local is not None and local.status in ("queued", "started")

    def start_sweeper(self, sweep, interval: float) -> None:
        """Run `sweep()` (in an app context) every `interval` seconds on a thread of this process, once."""
        with self._lock:
            if self._sweeper is not None:
                return
            self._sweeper = threading.Thread(target=self._sweep_forever, args=(sweep, interval),
                                             name="eventhub-outbox-sweep", daemon=True)
        self._sweeper.start()

    def _sweep_forever(self, sweep, interval: float) -> None:
        while not self._stop_sweeping.is_set():
            try:
                with self.app.app_context():
                    sweep()
            except Exception:  # the database may be away for a moment: the next sweep tries again
                log.exception("outbox sweep failed; trying again in %.0f s", interval)
            self._stop_sweeping.wait(interval)

    def stop_sweeper(self) -> None:
        self._stop_sweeping.set()

    def close(self) -> None:
        """Stop this app's jobs (the app is being thrown away): no more sweeps or retries, queued jobs dropped,
        the running one finished first. Its work is still in the outbox for the next process."""
        self._closed = True
        self._stop_sweeping.set()
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _run_again(self, local: _LocalJob, func, args, policy: JobPolicy, attempt: int) -> None:
        if not self._closed:
            self._executor.submit(self._run, local, func, args, policy, attempt)

    def _run(self, local: _LocalJob, func, args, policy: JobPolicy, attempt: int) -> None:
        """One attempt; a failure with retries left is run again after its interval, as RQ would, on a
        timer rather than by sleeping, so other jobs are not held up meanwhile."""
        token = _current_local_job.set(local)
        local.status, local.deadline = "started", time.monotonic() + policy.timeout
        try:
            with self.app.app_context():
                func(*args)
        except Exception:
            log.exception("job %s failed (attempt %d)", local.id, attempt + 1)
            if attempt < len(policy.retry_intervals):
                delay = policy.retry_intervals[attempt]
                local.status, local.retry_at = "scheduled", time.monotonic() + delay
                timer = threading.Timer(delay, self._run_again, (local, func, args, policy, attempt + 1))
                timer.daemon = True
                timer.start()
            else:
                local.status = "failed"
        else:
            local.status = "finished"
        finally:
            _current_local_job.reset(token)

    def wait_local(self, timeout: float = 30.0) -> None:
        """Block until the jobs queued so far have run, retries due within `timeout` included (for tests)."""
        deadline = time.monotonic() + timeout
        while True:
            self._executor.submit(lambda: None).result(timeout=max(deadline - time.monotonic(), 0.1))
            next_task = self.sweep() if self.sweep is not None else None
            waiting = [job for job in self._jobs.values() if job.status in ("queued", "started")
                       or (job.status == "scheduled" and job.retry_at <= deadline)]
            task_soon = next_task is not None and time.monotonic() + next_task <= deadline
            if not (waiting or task_soon) or time.monotonic() >= deadline:
                return
            time.sleep(0.02)

    def status(self, job_id: str) -> dict | None:
        local = self._jobs.get(job_id)
        return None if local is None else _describe(local.status, local.meta)


def worker_alive(connection: Redis, worker_name: str | None) -> bool:
    """Whether an RQ worker still runs; one of another host is assumed alive (RQ's heartbeats judge it)."""
    if not worker_name:
        return False
    info = connection.hgetall(f"{Worker.redis_worker_namespace_prefix}{worker_name}")
    if not info:
        return False
    if info.get(b"hostname", b"").decode() != socket.gethostname():
        return True
    return process_alive(int(info.get(b"pid", b"0") or 0))


def _describe(raw_status, meta: dict) -> dict:
    status = _PUBLIC_STATUS.get(str(getattr(raw_status, "value", raw_status)), "queued")
    total = int(meta.get("total") or 0)
    done = int(meta.get("done") or 0)
    if status == "finished" and not total:
        done = total = 1
    description = {"status": status, "done": done, "total": total, "owner": meta.get("owner")}
    if "failed" in meta:
        description["failed"] = meta["failed"]
    return description


def report_progress(done: int, total: int, **extra) -> None:
    """Record a running job's progress where `GET /api/v1/jobs/<id>` reads it; a no-op outside a job."""
    job = current_job_meta_target()
    if job is None:
        return
    job.meta.update(done=done, total=total, **extra)
    job.save_meta()
