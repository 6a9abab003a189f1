"""The embedded default's own timers: with no Redis, no worker and no test driving the outbox, the web
process's sweeping thread does the timed work when it falls due (a reminder, the close of the questions)."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from eventhub.extensions import db, jobs
from eventhub.models import OutboxTask, QuestionKey, TaskKind, TaskStatus, Vote
from tests.factories import create_town_hall, iso, links, people
from tests.processes import wait_for


@pytest.fixture
def settings(settings):
    """The app as `make run` serves it (not under test), sweeping its outbox every fifth of a second."""
    settings.update(TESTING=False, OUTBOX_SWEEP_SECONDS=0.2)
    return settings


@pytest.fixture
def embedded(app):
    """The app's in-process queue; its sweeping thread (started by the first request) is stopped after."""
    backend = app.extensions["eventhub_jobs"]
    assert not jobs.uses_redis
    yield backend
    backend.stop_sweeper()
    wait_for(lambda: not [t for t in threading.enumerate() if t.name == "eventhub-outbox-sweep"], 10,
             "the sweeping thread to stop")


def _fresh(query):
    """Run `query` in a new transaction, so rows the job thread committed meanwhile are seen."""
    db.session.rollback()
    return query()


def test_a_reminder_due_in_seconds_is_mailed_by_the_web_process_itself(embedded, client, auth_headers, mail):
    close = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1, seconds=3)  # reminder due in 3 s
    create_town_hall(client, auth_headers, start=iso(close + timedelta(hours=1)), questions_close=iso(close),
                     attendees=people(2))

    def reminded():
        with mail.lock:
            return {item["to"][0] for item in mail.messages if item["message"]["Subject"].startswith("Questions")}

    wait_for(lambda: reminded() == {"p0@example.com", "p1@example.com"}, 30, "the reminder, with nobody sweeping")
    assert datetime.now(UTC) >= close - timedelta(days=1)  # not sent before it was due


def test_questions_close_on_time_and_the_votes_go_with_the_key(embedded, client, auth_headers):
    close = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    event = create_town_hall(client, auth_headers, questions_close=iso(close), attendees=people(2))
    first, second = links(event["id"]).values()
    question = client.post(f"/api/v1/ask/{first}/questions", json={"text": "Is the close on time?"}).json["id"]
    assert client.post(f"/api/v1/ask/{second}/questions/{question}/vote").status_code == 200
    db.session.remove()

    def closed() -> bool:  # read from the database only: a request to the board would close it itself
        return _fresh(lambda: db.session.scalar(select(OutboxTask.status).where(
            OutboxTask.event_id == event["id"], OutboxTask.kind == TaskKind.CLOSE_QUESTIONS,
            OutboxTask.status != TaskStatus.SUPERSEDED))) == TaskStatus.DONE

    wait_for(closed, 30, "the close, with nobody sweeping")
    assert datetime.now(UTC) >= close
    assert _fresh(lambda: db.session.get(QuestionKey, event["id"])) is None
    assert _fresh(lambda: db.session.query(Vote).count()) == 0
