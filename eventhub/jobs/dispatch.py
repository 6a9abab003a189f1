"""The dispatcher: puts due outbox tasks on the queue. Right after the commit that wrote them, when the
queue answers; and from a periodic sweep (`worker.py`, or a thread of the web process for the embedded
default) for every pending task that is due and neither queued nor running, so a Redis that came back
empty, a run out of retries or a worker that died is picked up again. A doubled dispatch is harmless:
the run checks the task, and mailings hold a lease and per-recipient delivery records."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app, has_app_context
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

from eventhub.extensions import jobs
from eventhub.models import OutboxTask, TaskKind, utcnow
from eventhub.queue import InProcessJobs, JobPolicy
from eventhub.services import outbox

log = logging.getLogger(__name__)

RUN_TASK = "eventhub.jobs.outbox.run_task"
# How long one run of a task may take before the queue stops it (seconds).
TIMEOUTS = {
    TaskKind.INVITES: 3600,
    TaskKind.SUMMARY: 3 * 3600,
    TaskKind.REMINDER: 3600,
    TaskKind.CLOSE_QUESTIONS: 600,
    TaskKind.SUMMARY_DRAFT: 300,
    TaskKind.REORDER_STORAGE: 600,
}
_NEW_TASKS = "eventhub_new_tasks"


def init_app(app) -> None:
    """Dispatch tasks after each commit; let the in-process queue sweep while tests wait on it."""
    backend = app.extensions["eventhub_jobs"]
    if isinstance(backend, InProcessJobs):
        backend.sweep = lambda: _sweep_in(app)
    if not event.contains(Session, "after_commit", _dispatch_committed):
        event.listen(Session, "after_flush", _collect_new_tasks)
        event.listen(Session, "after_commit", _dispatch_committed)
        event.listen(Session, "after_rollback", _forget_new_tasks)


def start_in_process_sweeper(app) -> None:
    """For the embedded default (no Redis): sweep the outbox from a thread of this web process. At start it
    finds every task left pending by the last run (a mailing cut off, a reminder due while it was down)."""
    backend = app.extensions["eventhub_jobs"]
    interval = float(app.config["OUTBOX_SWEEP_SECONDS"])
    if isinstance(backend, InProcessJobs) and interval > 0 and not app.testing:
        backend.start_sweeper(sweep, interval)


def dispatch(task_id: str, kind: str) -> bool:
    """Put one task on the queue; False (and the task waits in the outbox) if the queue is unreachable."""
    policy = JobPolicy(timeout=TIMEOUTS[TaskKind(kind)], retry_intervals=(), result_ttl=24 * 3600)
    try:
        jobs.enqueue(RUN_TASK, task_id, policy=policy, job_id=task_id, description=f"{kind} task {task_id}")
    except RedisError as error:
        log.warning("task %s (%s) waits in the outbox: the queue is unreachable (%s)", task_id, kind, error)
        return False
    return True


def sweep() -> int:
    """Dispatch every pending task that is due and not queued or running; return how many were."""
    dispatched = 0
    for task_id, kind in outbox.due_tasks(utcnow()):
        try:
            active = jobs.is_active(task_id)
        except RedisError as error:
            log.warning("outbox sweep: the queue is unreachable (%s)", error)
            break
        if not active and dispatch(task_id, kind):
            dispatched += 1
    if dispatched:
        log.info("outbox sweep: %d task(s) dispatched", dispatched)
    return dispatched


def _sweep_in(app) -> float | None:
    """One sweep inside `app`; seconds until the next pending task falls due (for `wait_local`)."""
    with app.app_context():
        sweep()
        due = outbox.next_due_at()
    return None if due is None else max((due - utcnow()).total_seconds(), 0.0)


def _collect_new_tasks(session, _flush_context) -> None:
    new = [(task.id, task.kind, task.due_at) for task in session.new if isinstance(task, OutboxTask)]
    if new:
        session.info.setdefault(_NEW_TASKS, []).extend(new)


def _dispatch_committed(session) -> None:
    new = session.info.pop(_NEW_TASKS, None)
    if not new or not has_app_context() or "eventhub_jobs" not in current_app.extensions:
        return
    soon = utcnow() + timedelta(seconds=1)
    for task_id, kind, due_at in new:
        if due_at is None or due_at <= soon:
            dispatch(task_id, kind)


def _forget_new_tasks(session) -> None:
    session.info.pop(_NEW_TASKS, None)
