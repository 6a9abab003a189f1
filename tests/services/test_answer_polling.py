"""The mailbox is polled by itself: in the web process for the embedded default, and through the queue
under `worker.py` (one worker queues the reading per period, however many run)."""

import time
from datetime import UTC, datetime

from redis import Redis
from rq import SimpleWorker

from eventhub import create_app
from eventhub.extensions import jobs
from eventhub.response_polling import AnswerPoller, queue_answer_reading, read_answers_now
from tests.answer_mail import gmail_reply

START = datetime(2030, 3, 5, 14, tzinfo=UTC)
END = datetime(2030, 3, 5, 15, tzinfo=UTC)
BODY = {"title": "Q1 Town Hall", "start": "2030-03-05T14:00:00Z",
        "attendees": [{"email": "ana@example.com", "name": "Ana", "group": "Manila"}]}


def _reply(event_id: str) -> bytes:
    return gmail_reply(uid=f"{event_id}@eventhub.test", attendee="ana@example.com", name="Ana", partstat="ACCEPTED",
                       sequence=0, organizer="townhall@eventhub.test", start=START, end=END)


def _response(client, auth_headers, event_id) -> str:
    rows = client.get(f"/api/v1/events/{event_id}/attendees", headers=auth_headers).json["attendees"]
    return rows[0]["response"]


def test_the_in_process_poller_reads_the_mailbox_every_period(app, client, auth_headers, mail, imap):
    event = client.post("/api/v1/events", json=BODY, headers=auth_headers).json
    jobs.wait_local()
    poller = AnswerPoller(lambda: read_answers_now(app), interval=0.2)
    poller.start()
    try:
        imap.append(_reply(event["id"]))  # arrives after the first poll
        deadline = time.monotonic() + 15
        while _response(client, auth_headers, event["id"]) != "accepted" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        poller.stop()
        poller.join(timeout=10)
    assert _response(client, auth_headers, event["id"]) == "accepted"


def test_a_poll_that_fails_is_logged_and_the_poller_carries_on(app, imap, caplog):
    imap.stop()
    read_answers_now(app)  # the mailbox is down: logged, not raised
    assert "the next poll tries again" in caplog.text


def test_the_in_process_poller_starts_with_a_mailbox_and_never_under_tests_or_with_redis(settings, imap):
    assert create_app({**settings, **imap.settings()}).extensions["eventhub_answer_poller"] is None  # TESTING
    assert create_app({**settings, "TESTING": False}).extensions["eventhub_answer_poller"] is None  # no mailbox
    assert create_app({**settings, **imap.settings(), "TESTING": False, "REDIS_URL": "redis://127.0.0.1:1/0"}
                      ).extensions["eventhub_answer_poller"] is None  # worker.py polls then
    embedded = create_app({**settings, **imap.settings(), "TESTING": False})
    poller = embedded.extensions["eventhub_answer_poller"]
    assert poller is not None and poller.is_alive() and poller.interval == 60
    poller.stop()
    poller.join(timeout=10)


def test_under_workers_one_queues_the_reading_per_period_and_a_worker_runs_it(rq_settings, app, client,
                                                                              auth_headers, mail, imap, redis_url):
    event = client.post("/api/v1/events", json=BODY, headers=auth_headers).json
    SimpleWorker([jobs.queue], connection=jobs.connection).work(burst=True)
    imap.append(_reply(event["id"]))
    connection = Redis.from_url(redis_url)
    app.config["IMAP_POLL_SECONDS"] = 30

    assert queue_answer_reading(app, connection) is True
    assert queue_answer_reading(app, connection) is False  # a second worker, the same period
    assert jobs.queue.count == 2
    SimpleWorker([jobs.queue], connection=jobs.connection).work(burst=True)
    assert _response(client, auth_headers, event["id"]) == "accepted"
