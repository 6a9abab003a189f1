"""The one way tests make town halls and their attendees: through the API, as an organizer does. A test
names only what its town hall must have; the request's shape and the defaults live here once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from eventhub.extensions import db, jobs
from eventhub.models import Attendee, OutboxTask, TaskStatus, utcnow
from eventhub.services.events import personal_token


def iso(moment: datetime) -> str:
    """An instant as the API takes it: UTC, whole seconds, with `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def instant(hours: float = 72) -> str:
    """The API instant `hours` from now (negative: in the past)."""
    return iso(datetime.now(UTC) + timedelta(hours=hours))


def people(count: int, prefix: str = "p", width: int = 1, **fields) -> list[dict]:
    """`count` attendees `p0@example.com`, `p1@example.com`, … (numbers zero-padded to `width`), each with
    `fields` (a `group`, say)."""
    return [{"email": f"{prefix}{n:0{width}d}@example.com", **fields} for n in range(count)]


def create_town_hall(client, headers, *, sent: bool = False, **fields) -> dict:
    """`POST /api/v1/events` with `fields` over the default (a town hall in three days with one attendee);
    fails the test unless it is created, and returns its JSON. `sent=True` also waits until the jobs run
    in-process (the invites) are done."""
    body = {"title": "Town hall", "start": instant(72), "attendees": people(1), **fields}
    response = client.post("/api/v1/events", json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    if sent:
        jobs.wait_local()
    return response.json


def links(event_id: str) -> dict[str, str]:
    """Each attendee's personal link token by email, in the order of the emails."""
    attendees = db.session.query(Attendee).filter_by(event_id=event_id).order_by(Attendee.email)
    return {attendee.email: personal_token(attendee.id) for attendee in attendees}


def retry_now(event_id: str) -> None:
    """Make the town hall's waiting retries due now, so a test sets retry intervals far beyond its own
    waits and decides itself when the retry runs, rather than racing a short interval."""
    db.session.execute(update(OutboxTask).where(
        OutboxTask.event_id == event_id, OutboxTask.status == TaskStatus.PENDING).values(due_at=utcnow()))
    db.session.commit()
