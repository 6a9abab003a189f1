"""The outbox: work the service owes, as rows written in the transaction of the change that causes it.

A task is pending until its run succeeds. The queue only carries tasks out (`eventhub.jobs.dispatch`
puts due tasks on it right after the commit and again from a periodic sweep), so whatever Redis or a
worker loses is found here again. A failed run waits on the retry schedule of its kind; once that is
spent the task is failed, with its reason, until "send again" arms a new one.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
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
    TaskKind.REORDER_STORAGE: (60, 300, 900),
}
_CONFIG_INTERVALS = {TaskKind.INVITES: "INVITE_RETRY_INTERVALS", TaskKind.SUMMARY: "SUMMARY_RETRY_INTERVALS"}
# How long a run that finds another run of the same mailing under way waits before it looks again.
BUSY_POSTPONE_SECONDS = 2

_running_task: contextvars.ContextVar[OutboxTask | None] = contextvars.ContextVar("eventhub_task", default=None)


@dataclass(frozen=True)
class Shard:
    """Slice `index` of `count` of a mailing's recipients: those whose attendee id falls in it."""

    index: int
    count: int

    def holds(self, attendee_id: str) -> bool:
        return int(attendee_id[:8], 16) % self.count == self.index


@dataclass(frozen=True)
class JobProgress:
    """A job as its organizer follows it: a task, or a mailing cut into shards, read as one."""

    status: str  # queued | started | finished | failed
    done: int
    total: int
    failed: int | None
    error: str | None


def retry_intervals(kind: str) -> tuple[int, ...]:
    configured = current_app.config.get(_CONFIG_INTERVALS.get(kind, ""))
    return tuple(configured) if configured else RETRY_INTERVALS[TaskKind(kind)]


def arm(kind: TaskKind, event_id: str | None, *, due_at: datetime | None = None, owner: str | None = None,
        payload: dict | None = None, created_at: datetime | None = None) -> OutboxTask:
    """Add a pending task to the session, to be committed with the change that causes it. A pending task
    of the same kind for the same event is superseded: the new one does its work."""
    now = utcnow()
    db.session.execute(update(OutboxTask).where(
        OutboxTask.kind == kind, OutboxTask.event_id == event_id, OutboxTask.status == TaskStatus.PENDING,
    ).values(status=TaskStatus.SUPERSEDED, finished_at=now))
    task = OutboxTask(id=new_id(), kind=kind, event_id=event_id, owner=owner, payload=payload or {},
                      status=TaskStatus.PENDING, due_at=due_at or now, attempts=0, done=0, total=0,
                      created_at=created_at or now)
    db.session.add(task)
    return task


def disarm(kind: TaskKind, event_id: str) -> None:
    """Drop the pending task of `kind` for the event (its moment no longer comes)."""
    db.session.execute(update(OutboxTask).where(
        OutboxTask.kind == kind, OutboxTask.event_id == event_id, OutboxTask.status == TaskStatus.PENDING,
    ).values(status=TaskStatus.SUPERSEDED, finished_at=utcnow()))


def pending_task(kind: TaskKind, event_id: str | None) -> OutboxTask | None:
    return db.session.scalar(select(OutboxTask).where(
        OutboxTask.kind == kind, OutboxTask.event_id == event_id, OutboxTask.status == TaskStatus.PENDING).limit(1))


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
def running(task: OutboxTask):
    """Within it, `record_progress`, `current_shard` and `split_running_task` concern this task (a
    detached copy: the services may empty the session)."""
    token = _running_task.set(task)
    try:
        yield
    finally:
        _running_task.reset(token)


def current_shard() -> Shard | None:
    task = _running_task.get()
    if task is None or "shard" not in (task.payload or {}):
        return None
    return Shard(int(task.payload["shard"]), int(task.payload["of"]))


def may_split() -> bool:
    """Whether the running task is a whole mailing that may be cut into shards (one per slice of its
    recipients, each its own job and lease, so several workers send it at once)."""
    task = _running_task.get()
    return task is not None and "shard" not in (task.payload or {}) and current_app.config["MAILING_SHARDS"] > 1


def split_running_task(slices: list[int], done: int, total: int) -> None:
    """Arm one shard task per slice index in `slices` of the running task, and commit: the shards are
    dispatched after the commit. The running task keeps the progress of what was done before."""
    parent = _running_task.get()
    count = current_app.config["MAILING_SHARDS"]
    for index in slices:
        db.session.add(OutboxTask(
            id=new_id(), kind=parent.kind, event_id=parent.event_id, owner=parent.owner, parent_id=parent.id,
            payload={**(parent.payload or {}), "shard": index, "of": count}, status=TaskStatus.PENDING,
            due_at=utcnow(), attempts=0, done=0, total=0))
    db.session.execute(update(OutboxTask).where(OutboxTask.id == parent.id).values(done=done, total=total))
    db.session.commit()


def record_progress(done: int, total: int, failed: int | None = None) -> None:
    """Record how far the running task is, where `GET /api/v1/jobs/<id>` reads it; a no-op outside a task.
    A shard keeps the total of its first run, so a resumed shard goes on counting from where it was."""
    task = _running_task.get()
    if task is None:
        return
    if current_shard() is not None:
        first_total = db.session.scalar(select(OutboxTask.total).where(OutboxTask.id == task.id)) or 0
        if first_total >= total:
            done, total = first_total - (total - done), first_total
    db.session.execute(update(OutboxTask).where(OutboxTask.id == task.id)
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


def progress(task: OutboxTask) -> JobProgress:
    """The task's progress; for a mailing cut into shards, theirs added up: started while any runs,
    queued while any waits, failed once one failed for good and none is left to run."""
    shards = list(db.session.scalars(select(OutboxTask).where(OutboxTask.parent_id == task.id)))
    if not shards:
        return JobProgress(public_status(task), task.done, task.total, task.failed, task.last_error)
    statuses = [public_status(shard) for shard in shards]
    if "started" in statuses:
        status = "started"
    elif "queued" in statuses:
        status = "queued"
    else:
        status = "failed" if "failed" in statuses else "finished"
    failed = [shard.failed for shard in shards if shard.failed is not None]
    errors = [shard.last_error for shard in shards if shard.last_error]
    return JobProgress(status, task.done + sum(shard.done for shard in shards),
                       max(task.total, task.done + sum(shard.total for shard in shards)),
                       sum(failed) if failed else task.failed, errors[0] if errors else None)
