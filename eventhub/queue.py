"""The one way work is put on the queue: RQ on Redis when `REDIS_URL` is set, else a thread in this process.

Both run the same job functions; both keep status and progress (`done`, `total`) readable by job id.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app
from redis import Redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job

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

    def save_meta(self) -> None:
        """Meta lives in memory here; kept for the same calls as an RQ job."""


_current_local_job: contextvars.ContextVar[_LocalJob | None] = contextvars.ContextVar(
    "eventhub_local_job", default=None
)


def current_job_meta_target():
    """The running job (RQ's or the in-process one), or None outside a job."""
    from rq import get_current_job

    return get_current_job() or _current_local_job.get()


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


class RedisJobs:
    """Jobs on RQ: `python worker.py` runs them."""

    def __init__(self, redis_url: str, queue_name: str):
        self.connection = Redis.from_url(redis_url)
        self.queue = Queue(queue_name, connection=self.connection)

    def enqueue(self, func, *args, policy: JobPolicy = JobPolicy(), job_id: str | None = None,
                owner: str | None = None, description: str | None = None) -> str:
        """Queue `func(*args)` under `policy`; return the job id. Arguments must be ids and plain values."""
        retry = None
        if policy.retry_intervals:
            retry = Retry(max=len(policy.retry_intervals), interval=list(policy.retry_intervals))
        job = self.queue.enqueue_call(
            func,
            args=args,
            timeout=policy.timeout,
            result_ttl=policy.result_ttl,
            failure_ttl=policy.result_ttl,
            retry=retry,
            job_id=job_id,
            meta={"owner": owner, "done": 0, "total": 0},
            description=description or func.__name__,
        )
        log.info("job %s queued: %s", job.id, description or func.__name__)
        return job.id

    def enqueue_at(self, when: datetime, func, *args, policy: JobPolicy = JobPolicy(), job_id: str | None = None,
                   description: str | None = None) -> str:
        """Queue `func(*args)` to run at `when` (aware); RQ's scheduler (run by `worker.py`) releases it."""
        retry = None
        if policy.retry_intervals:
            retry = Retry(max=len(policy.retry_intervals), interval=list(policy.retry_intervals))
        job = self.queue.enqueue_at(when, func, *args, job_timeout=policy.timeout, result_ttl=policy.result_ttl,
                                    failure_ttl=policy.result_ttl, retry=retry, job_id=job_id,
                                    description=description or func.__name__)
        log.info("job %s scheduled for %s: %s", job.id, when.isoformat(), description or func.__name__)
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


class InProcessJobs:
    """Jobs on one background thread of this process (the embedded default: no Redis, no worker)."""

    def __init__(self, app):
        self.app = app
        self._jobs: dict[str, _LocalJob] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eventhub-job")
        self._lock = threading.Lock()

    def enqueue(self, func, *args, policy: JobPolicy = JobPolicy(), job_id: str | None = None,
                owner: str | None = None, description: str | None = None) -> str:
        local = _LocalJob(id=job_id or uuid.uuid4().hex, meta={"owner": owner, "done": 0, "total": 0})
        with self._lock:
            self._jobs[local.id] = local
        self._executor.submit(self._run, local, func, args, policy, 0)
        log.info("job %s queued in-process: %s", local.id, description or func.__name__)
        return local.id

    def _run(self, local: _LocalJob, func, args, policy: JobPolicy, attempt: int) -> None:
        """One attempt; a failure with retries left is run again after its interval, as RQ would, on a
        timer rather than by sleeping, so other jobs are not held up meanwhile."""
        token = _current_local_job.set(local)
        local.status = "started"
        try:
            with self.app.app_context():
                func(*args)
        except Exception:
            log.exception("job %s failed (attempt %d)", local.id, attempt + 1)
            if attempt < len(policy.retry_intervals):
                delay = policy.retry_intervals[attempt]
                local.status, local.retry_at = "scheduled", time.monotonic() + delay
                timer = threading.Timer(delay, self._executor.submit,
                                        (self._run, local, func, args, policy, attempt + 1))
                timer.daemon = True
                timer.start()
            else:
                local.status = "failed"
        else:
            local.status = "finished"
        finally:
            _current_local_job.reset(token)

    def enqueue_at(self, when: datetime, func, *args, policy: JobPolicy = JobPolicy(), job_id: str | None = None,
                   description: str | None = None) -> str:
        """Run `func(*args)` at `when` in this process (a timer; it does not survive a restart)."""
        delay = max((when - datetime.now(UTC)).total_seconds(), 0)
        local_id = job_id or uuid.uuid4().hex
        timer = threading.Timer(delay, self.enqueue, (func, *args), {"policy": policy, "job_id": local_id,
                                                                      "description": description})
        timer.daemon = True
        timer.start()
        return local_id

    def wait_local(self, timeout: float = 30.0) -> None:
        """Block until the jobs queued so far have run, retries due within `timeout` included (for tests)."""
        deadline = time.monotonic() + timeout
        while True:
            self._executor.submit(lambda: None).result(timeout=max(deadline - time.monotonic(), 0.1))
            waiting = [job for job in self._jobs.values() if job.status in ("queued", "started")
                       or (job.status == "scheduled" and job.retry_at <= deadline)]
            if not waiting or time.monotonic() >= deadline:
                return
            time.sleep(0.02)

    def status(self, job_id: str) -> dict | None:
        local = self._jobs.get(job_id)
        return None if local is None else _describe(local.status, local.meta)


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
