"""The mailbox is polled by itself: in the web process for the embedded default, and through the queue
under `worker.py` (one worker queues the reading per period, however many run)."""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime

from redis import Redis
from rq import SimpleWorker

from eventhub import create_app
from eventhub.extensions import jobs
from eventhub.jobs.answer_polling import AnswerPoller, queue_answer_reading, read_answers_now
from tests.answer_mail import gmail_reply, refresh_request
from tests.conftest import ROOT
from tests.processes import stop_gently

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
    assert jobs.queue.count == 1  # the mailbox; Google is not configured here
    SimpleWorker([jobs.queue], connection=jobs.connection).work(burst=True)
    assert _response(client, auth_headers, event["id"]) == "accepted"


def test_python_worker_py_reads_the_mailbox_by_itself(rq_settings, app, client, auth_headers, smtp_server, imap,
                                                     tmp_path):
    """A real `python worker.py` process, with the mailbox in its environment, applies a reply that arrives
    while it runs and answers a REFRESH over SMTP."""
    sink, host, port = smtp_server
    app.config.update(SMTP_HOST=host, SMTP_PORT=port)
    event = client.post("/api/v1/events", json=BODY, headers=auth_headers).json
    env = {**os.environ, "DATABASE_URL": rq_settings["DATABASE_URL"], "REDIS_URL": rq_settings["REDIS_URL"],
           "RQ_QUEUE": rq_settings["RQ_QUEUE"], "SECRET_KEY": rq_settings["SECRET_KEY"],
           "EVENTHUB_BASE_URL": rq_settings["EVENTHUB_BASE_URL"], "MAIL_FROM": rq_settings["MAIL_FROM"],
           "SMTP_HOST": host, "SMTP_PORT": str(port), "IMAP_POLL_SECONDS": "1",
           **{key: str(value) for key, value in imap.settings().items()}}
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        imap.append(_reply(event["id"]))
        imap.append(refresh_request(uid=f"{event['id']}@eventhub.test", attendee="ana@example.com",
                                    organizer="townhall@eventhub.test"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
                _response(client, auth_headers, event["id"]) == "accepted" and len(sink.messages) >= 2):
            time.sleep(0.2)
    finally:
        stop_gently(worker)
    assert _response(client, auth_headers, event["id"]) == "accepted", log_path.read_text()[-3000:]
    invite, refreshed = sink.messages[0], sink.messages[-1]  # the first invitation, then the REFRESH's answer
    assert invite["to"] == refreshed["to"] == ["ana@example.com"]
    assert "METHOD:REQUEST" in next(p for p in refreshed["message"].walk()
                                    if p.get_content_type() == "text/calendar").get_payload(decode=True).decode()
