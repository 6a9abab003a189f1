"""The one job the queue runs: carry out an outbox task, by id. Thin: the services do the work; a failure
is counted on the task's retry schedule and raised, so the queue shows the run failed."""

from __future__ import annotations

import logging

from eventhub.extensions import db
from eventhub.models import OutboxTask, TaskKind
from eventhub.services import invites, outbox, question_window, storage_order, summaries
from eventhub.services.delivery import FanOutBusy

log = logging.getLogger(__name__)

RUNNERS = {
    TaskKind.INVITES: lambda task: invites.deliver_invites(
        task.event_id, retry_failed=bool(task.payload.get("retry_failed"))),
    TaskKind.SUMMARY: lambda task: summaries.send_summary(task.event_id),
    TaskKind.REMINDER: lambda task: question_window.send_question_reminder(task.event_id),
    TaskKind.CLOSE_QUESTIONS: lambda task: question_window.close_questions(task.event_id),
    TaskKind.SUMMARY_DRAFT: lambda task: summaries.prepare_draft(task.event_id),
    TaskKind.REORDER_STORAGE: lambda task: storage_order.reorder_question_storage(),
}


def run_task(task_id: str) -> None:
    """Run the task if it is still pending and due; mark it done, or count the failure and raise."""
    task = outbox.begin_run(task_id)
    if task is None:
        log.info("task %s: nothing to do (done, superseded or not yet due)", task_id)
        return
    work = OutboxTask(id=task.id, kind=task.kind, event_id=task.event_id, owner=task.owner,
                      payload=dict(task.payload or {}))
    log.info("task %s: %s for event %s, attempt %d", task_id, work.kind, work.event_id, task.attempts + 1)
    try:
        with outbox.running(work):
            RUNNERS[TaskKind(work.kind)](work)
    except FanOutBusy:
        _roll_back()
        log.info("task %s: another run holds this mailing; looking again shortly", task_id)
        outbox.postpone(task_id)
        return
    except Exception as error:
        _roll_back()
        failed = outbox.fail_run(task_id, f"{type(error).__name__}: {error}")
        if failed is not None and failed.status == "failed":
            log.error("task %s: failed for good after %d attempts: %s", task_id, failed.attempts, error)
        else:
            log.warning("task %s: attempt failed, retried on its schedule: %s", task_id, error)
        raise
    outbox.finish_run(task_id)
    log.info("task %s: done", task_id)


def _roll_back() -> None:
    try:
        db.session.rollback()
    except Exception:  # the database went away mid-run: its connection is dropped with the session
        db.session.remove()
