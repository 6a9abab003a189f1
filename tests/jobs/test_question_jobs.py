"""The question window through the outbox and real RQ: the reminder a day before close, armed and sent once."""

from datetime import UTC, datetime, timedelta

from rq import SimpleWorker
from sqlalchemy import select

from eventhub.extensions import db, jobs
from eventhub.models import OutboxTask, TaskKind, TaskStatus
from eventhub.services import outbox
from tests.factories import create_town_hall, iso


def test_creating_a_town_hall_arms_the_reminder_a_day_before_questions_close(rq_settings, app, client,
                                                                              auth_headers):
    close = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    event = create_town_hall(client, auth_headers, start=iso(close + timedelta(hours=1)), questions_close=iso(close))
    when = {task.kind: task.due_at for task in db.session.scalars(select(OutboxTask).where(
        OutboxTask.event_id == event["id"], OutboxTask.status == TaskStatus.PENDING))}
    assert when[TaskKind.REMINDER] == close - timedelta(days=1)
    assert when[TaskKind.CLOSE_QUESTIONS] == close
    assert when[TaskKind.SUMMARY_DRAFT] == close + timedelta(hours=2)
    assert jobs.queue.count == 1  # only the invites are due now; the timed tasks wait in the database


def test_moving_the_close_re_arms_the_reminder_and_the_close(rq_settings, app, client, auth_headers):
    close = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    event = create_town_hall(client, auth_headers, start=iso(close + timedelta(days=2)), questions_close=iso(close))
    later = close + timedelta(days=1)
    client.patch(f"/api/v1/events/{event['id']}", headers=auth_headers, json={"questions_close": iso(later)})
    pending = {task.kind: task.due_at for task in db.session.scalars(select(OutboxTask).where(
        OutboxTask.event_id == event["id"], OutboxTask.status == TaskStatus.PENDING))}
    assert pending[TaskKind.REMINDER] == later - timedelta(days=1) and pending[TaskKind.CLOSE_QUESTIONS] == later
    superseded = db.session.scalars(select(OutboxTask.kind).where(
        OutboxTask.event_id == event["id"], OutboxTask.status == TaskStatus.SUPERSEDED)).all()
    assert sorted(superseded) == sorted([TaskKind.REMINDER, TaskKind.CLOSE_QUESTIONS, TaskKind.SUMMARY_DRAFT])


def test_a_real_worker_sends_each_attendee_one_reminder(rq_settings, app, client, auth_headers, mail):
    close = datetime.now(UTC) + timedelta(hours=23)
    event = create_town_hall(client, auth_headers, start=iso(close + timedelta(hours=1)), questions_close=iso(close),
                             attendees=[{"email": "a@example.com", "name": "Ana"}, {"email": "b@example.com"}])
    worker = SimpleWorker([jobs.queue], connection=jobs.connection)
    worker.work(burst=True)  # the invites
    mail.messages.clear()
    for _ in range(2):  # a retried or doubled reminder sends nobody a second one
        outbox.arm(TaskKind.REMINDER, event["id"])
        db.session.commit()  # dispatched right after the commit
        worker.work(burst=True)
    reminders = {item["to"][0]: item["message"] for item in mail.messages}
    assert len(mail.messages) == 2 and set(reminders) == {"a@example.com", "b@example.com"}
    text = reminders["a@example.com"].get_body(("plain",)).get_content()
    assert reminders["a@example.com"]["Subject"].strip() == "Questions close soon: Town hall"
    assert "Hello Ana" in text and "http://eventhub.test/ask/" in text
