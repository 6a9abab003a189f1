"""The timed work of a town hall, armed in the outbox with the change that sets its times: the question
reminder a day before questions close, the close itself, and the summary draft when the meeting ends."""

from __future__ import annotations

from datetime import timedelta

from eventhub.models import Event, TaskKind, utcnow
from eventhub.services import outbox

REMINDER_BEFORE_CLOSE = timedelta(days=1)


def meeting_end(event: Event):
    """When the town hall the questions were for is over: the end of its first meeting."""
    return event.start + timedelta(minutes=event.duration_minutes)


def arm_timed_tasks(event: Event) -> None:
    """(Re)arm the event's timed tasks for its current times; tasks armed for earlier times are superseded."""
    now = utcnow()
    reminder_at = event.questions_close - REMINDER_BEFORE_CLOSE
    if reminder_at > now:
        outbox.arm(TaskKind.REMINDER, event.id, due_at=reminder_at)
    else:
        outbox.disarm(TaskKind.REMINDER, event.id)
    outbox.arm(TaskKind.CLOSE_QUESTIONS, event.id, due_at=max(event.questions_close, now))
    outbox.arm(TaskKind.SUMMARY_DRAFT, event.id, due_at=max(meeting_end(event), now))
