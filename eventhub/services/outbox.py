"""The outbox: work the service owes, as rows written in the transaction of the change that causes it.

A task is pending until its run succeeds. The queue only carries tasks out (`eventhub.jobs.dispatch`
puts due tasks on it right after the commit and again from a periodic sweep), so whatever Redis or a
worker loses is found here again. A failed run waits on the retry schedule of its kind; once that is
spent the task is failed, with its reason, until "send again" arms a new one.
"""

from __future__ import annotations

import contextlib
import contextvars
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from eventhub.extensions import db
from eventhub.models import OutboxTask, TaskKind, TaskStatus, new_id, utcnow

# Seconds between the attempts of a task, by kind; a kind's schedule may be overridden in the config.
RETRY_INTERVALS = {
    TaskKind.INVITES: (10, 30, 60, 120, 300, 600),
    TaskKind.SUMMARY: (10, 30, 60, 120, 300, 600, 1800, 3600),
    TaskKind.REMINDER: (30, 120, 600),
    TaskKind.CLOSE_QUESTIONS: (30, 120, 600, 1800),
    TaskKind.SUMMARY_DRAFT: (60, 300),
}
_CONFIG_INTERVALS = {TaskKind.INVITES: "INVITE_RETRY_INTERVALS", TaskKind.SUMMARY: "SUMMARY_RETRY_INTERVALS"}
# How long a run that finds another run of the same mailing under way waits before it looks again.
BUSY_POSTPONE_SECONDS = 2

_running_task: contextvars.ContextVar[str | None] = contextvars.ContextVar("eventhub_task", default=None)


def retry_intervals(kind: str) -> tuple[int, ...]:
    configured = current_app.config.get(_CONFIG_INTERVALS.get(kind, ""))
    return tuple(configured) if configured else RETRY_INTERVALS[TaskKind(kind)]


def arm(kind: TaskKind, event_id: str | None, *, due_at: datetime | None = None, owner: str | None = None,
        payload: dict | None = None) -> OutboxTask:
    """Add a pending task to the session, to be committed with the change that causes it. A pending task
    of the same kind for the same event is superseded: the new one does its work."""
    now = utcnow()
    db.session.execute(update(OutboxTask).where(
        OutboxTask.kind == kind, OutboxTask.event_id == event_id, OutboxTask.status == TaskStatus.PENDING,
    ).values(status=TaskStatus.SUPERSEDED, finished_at=now))
    task = OutboxTask(id=new_id(), kind=kind, event_id=event_id, owner=owner, payload=payload or {},
                      status=TaskStatus.PENDING, due_at=due_at or now, attempts=0, done=0, total=0)
    db.session.add(task)
    return task


def disarm(kind: TaskKind, event_id: str) -> None:
    """Drop the pending task of `kind` for the event (its moment no longer comes)."""
    db.session.execute(update(OutboxTask).where(
        OutboxTask.kind == kind, OutboxTask.event_id == event_id, OutboxTask.status == TaskStatus.PENDING,
    ).values(status=TaskStatus.SUPERSEDED, finished_at=utcnow()))


def latest_task(kind: TaskKind, event_id: str) -> OutboxTask | None:
    return db.session.scalar(select(OutboxTask).where(OutboxTask.kind == kind, OutboxTask.event_id == event_id)
                             .order_by(OutboxTask.created_at.desc(), OutboxTask.id).limit(1))


def due_tasks(now: datetime, limit: int = 1000) -> list[tuple[str, str]]:
    """(id, kind) of the pending tasks whose time has come, oldest first."""
    return [tuple(row) for row in db.session.execute(
        select(OutboxTask.id, OutboxTask.kind).where(
            OutboxTask.status == TaskStatus.PENDING, OutboxTask.due_at <= now,
        ).order_by(OutboxTask.due_at).limit(limit))]


def next_due_at() -> datetime | None:
    """When the next pending task falls due (in the past for one due now), or None."""
    return db.session.scalar(select(OutboxTask.due_at).where(OutboxTask.status == TaskStatus.PENDING)
                             .order_by(OutboxTask.due_at).limit(1))


def begin_run(task_id: str, now: datetime | None = None) -> OutboxTask | None:
    """Mark the task's run as started; None if it is not pending or not yet due (a doubled dispatch)."""
    now = now or utcnow()
    started = db.session.execute(update(OutboxTask).where(
        OutboxTask.id == task_id, OutboxTask.status == TaskStatus.PENDING,
        OutboxTask.due_at <= now + timedelta(seconds=1),
    ).values(started_at=now)).rowcount
    db.session.commit()
    return db.session.get(OutboxTask, task_id) if started else None


def finish_run(task_id: str) -> None:
    db.session.execute(update(OutboxTask).where(
        OutboxTask.id == task_id, OutboxTask.status == TaskStatus.PENDING,
    ).values(status=TaskStatus.DONE, finished_at=utcnow(), started_at=None, last_error=None))
    db.session.commit()


def fail_run(task_id: str, error: str) -> OutboxTask | None:
    """Count a failed attempt: wait for the next one on the kind's schedule, or fail for good once it is
    spent. A task superseded meanwhile is left as it is."""
    task = db.session.get(OutboxTask, task_id)
    if task is None or task.status != TaskStatus.PENDING:
        return task
    intervals = retry_intervals(task.kind)
    task.attempts += 1
    task.started_at = None
    task.last_error = error[:500]
    if task.attempts <= len(intervals):
        task.due_at = utcnow() + timedelta(seconds=intervals[task.attempts - 1])
    else:
        task.status, task.finished_at = TaskStatus.FAILED, utcnow()
    db.session.commit()
    return task


def postpone(task_id: str, seconds: float = BUSY_POSTPONE_SECONDS) -> None:
    """Look again shortly, without counting an attempt (another run of the same mailing holds it)."""
    db.session.execute(update(OutboxTask).where(
        OutboxTask.id == task_id, OutboxTask.status == TaskStatus.PENDING,
    ).values(due_at=utcnow() + timedelta(seconds=seconds), started_at=None))
    db.session.commit()


@contextlib.contextmanager
def running(task_id: str):
    """Within it, `record_progress` writes to this task."""
    token = _running_task.set(task_id)
    try:
        yield
    finally:
        _running_task.reset(token)


def record_progress(done: int, total: int, failed: int | None = None) -> None:
    """Record how far the running task is, where `GET /api/v1/jobs/<id>` reads it; a no-op outside a task."""
    task_id = _running_task.get()
    if task_id is None:
        return
    db.session.execute(update(OutboxTask).where(OutboxTask.id == task_id)
                       .values(done=done, total=total, failed=failed))
    db.session.commit()


def task_of(owner: str, task_id: str) -> OutboxTask | None:
    """The task if `owner` may see it."""
    task = db.session.get(OutboxTask, task_id)
    return task if task is not None and task.owner == owner else None


def public_status(task: OutboxTask) -> str:
    """The four statuses the API promises: a task waiting for its time or its retry is queued."""
    if task.status in (TaskStatus.DONE, TaskStatus.SUPERSEDED):
        return "finished"
    if task.status == TaskStatus.FAILED:
        return "failed"
    return "started" if task.started_at is not None else "queued"
