"""Nothing lost, nothing stuck, with real processes: gunicorn, `python worker.py`, a private redis-server
stopped and started again empty, a private PostgreSQL cluster restarted mid-mailing, and the embedded
default (`make run`'s configuration) killed with SIGKILL mid-mailing and started again."""

import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.conftest import ROOT, free_port
from tests.processes import PrivatePostgres, PrivateRedis, Processes, app_env, start_sink, wait_for

PEOPLE = [{"email": f"p{n}@example.com", "name": f"P{n}"} for n in range(5)]


def _start(days: float = 3) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def processes(tmp_path):
    group = Processes(tmp_path / "service.log")
    yield group
    group.stop_all()
    print(group.log())  # shown when a test fails


@pytest.fixture
def sink():
    handler, controller = start_sink()
    yield handler
    controller.stop()


def _messages_by_kind(sink) -> Counter:
    """(recipient, subject up to the " @ " of the time) -> how many such messages arrived."""
    with sink.lock:
        return Counter((item["to"][0], item["message"]["Subject"].strip().split(" @ ")[0]) for item in sink.messages)


def _flask(env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _organizer_token(env: dict) -> dict:
    _flask(env, "db", "upgrade")
    token = _flask(env, "organizer", "create", "ops@example.com", "--password", "correct horse battery")
    return {"Authorization": f"Bearer {token.strip().splitlines()[-1].removeprefix('token: ')}"}


def test_a_redis_that_restarts_empty_under_a_running_service_loses_nothing(app, organizer, auth_headers, sink,
                                                                            processes, database_url, tmp_path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    env = app_env(database_url, sink, redis.url)
    port = free_port()
    processes.web(env, port)
    processes.worker(env)
    api = f"http://127.0.0.1:{port}/api/v1"
    kept = requests.post(f"{api}/events", headers=auth_headers, json={
        "title": "Kept", "start": _start(), "attendees": PEOPLE}).json()
    doomed = requests.post(f"{api}/events", headers=auth_headers, json={
        "title": "Doomed", "start": _start(), "attendees": PEOPLE}).json()
    wait_for(lambda: len(sink.messages) == 10, 30, "the first invites")

    redis.stop()
    health = requests.get(f"{api}/health")
    assert health.status_code == 503 and health.json()["jobs"] == "down" and health.json()["database"] == "ok"
    created = requests.post(f"{api}/events", headers=auth_headers, json={
        "title": "Outage", "start": _start(), "attendees": PEOPLE})
    changed = requests.patch(f"{api}/events/{kept['id']}", headers=auth_headers, json={"start": _start(4)})
    cancelled = requests.delete(f"{api}/events/{doomed['id']}", headers=auth_headers)
    summary = requests.post(f"{api}/events/{kept['id']}/summary", headers=auth_headers, json={"notes": "Thanks"})
    assert [created.status_code, changed.status_code, cancelled.status_code, summary.status_code] == [
        201, 200, 200, 202]
    time.sleep(1)
    assert len(sink.messages) == 10  # nothing could be queued: it all waits in the database

    redis.start()  # empty: no queue, no job, no registry survived
    try:
        expected = {(person["email"], subject) for person in PEOPLE for subject in (
            "Invitation: Kept", "Invitation: Doomed", "Invitation: Outage", "Updated invitation: Kept",
            "Cancelled: Doomed", "Summary: Kept")}
        wait_for(lambda: set(_messages_by_kind(sink)) >= expected, 60, "every message of the outage")
        time.sleep(1.5)  # a few more sweeps: nothing further may go out
        assert _messages_by_kind(sink) == Counter({key: 1 for key in expected})  # each exactly once
        assert requests.get(f"{api}/health").json() == {"status": "ok", "database": "ok", "jobs": "redis"}
    finally:
        redis.stop()


def test_the_embedded_default_killed_mid_mailing_finishes_it_when_started_again(sink, processes, tmp_path):
    sink.delay = 0.01
    env = app_env(f"sqlite:///{tmp_path / 'eventhub.db'}", sink)  # no REDIS_URL: jobs run in the web process
    headers = _organizer_token(env)
    port = free_port()
    web = processes.web(env, port)
    everyone = [{"email": f"p{n:03d}@example.com"} for n in range(300)]
    created = requests.post(f"http://127.0.0.1:{port}/api/v1/events", headers=headers, json={
        "title": "Embedded", "start": _start(), "attendees": everyone})
    assert created.status_code == 201
    close_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    closing = requests.post(f"http://127.0.0.1:{port}/api/v1/events", headers=headers, json={
        "title": "Closing", "start": _start(), "attendees": [{"email": "closing@example.com"}],
        "questions_close": close_at.strftime("%Y-%m-%dT%H:%M:%SZ")}).json()
    wait_for(lambda: len(sink.messages) >= 50, 60, "the mailing to be under way")
    processes.kill_hard(web)
    sent_before = len(sink.messages)
    assert sent_before < 300
    wait_for(lambda: datetime.now(UTC) > close_at, 10, "the questions of 'Closing' to close while it is down")
    started = time.monotonic()
    processes.web(env, port)  # nobody has to visit a page: the restart alone resumes the mailing
    wait_for(lambda: len(sink.messages) > sent_before, 30, "the restarted service to resume")
    print(f"embedded default resumed {time.monotonic() - started:.2f} s after it was started again")
    wait_for(lambda: len(sink.recipients("Invitation: Embedded")) == 300, 60, "every invite")
    received = sink.recipients("Invitation: Embedded")
    assert sum(received.values()) <= 301 and max(received.values()) <= 2  # at most the one in flight twice
    with sqlite3.connect(tmp_path / "eventhub.db") as database:
        wait_for(lambda: database.execute(
            "SELECT status FROM outbox WHERE kind = 'close_questions' AND event_id = ? AND status != 'superseded'",
            (closing["id"],)).fetchone() == ("done",), 15, "the close that fell due while it was down")


def test_postgresql_restarted_mid_mailing_the_mailing_finishes_with_nobody_doubled(sink, processes, redis_url):
    postgres = PrivatePostgres()
    try:
        postgres.start()
        sink.delay = 0.01
        env = app_env(postgres.url, sink, redis_url)
        headers = _organizer_token(env)
        port = free_port()
        processes.web(env, port)
        processes.worker(env)
        everyone = [{"email": f"p{n:03d}@example.com"} for n in range(300)]
        created = requests.post(f"http://127.0.0.1:{port}/api/v1/events", headers=headers, json={
            "title": "Restart", "start": _start(), "attendees": everyone})
        assert created.status_code == 201
        wait_for(lambda: len(sink.messages) >= 60, 60, "the mailing to be under way")
        postgres.stop()
        time.sleep(1)
        health = requests.get(f"http://127.0.0.1:{port}/api/v1/health")
        assert health.status_code == 503 and health.json()["database"] == "down"
        postgres.start()
        wait_for(lambda: len(sink.recipients("Invitation:")) == 300, 90, "every invite")
        time.sleep(1)
        received = sink.recipients("Invitation:")
        assert sum(received.values()) <= 301 and max(received.values()) <= 2
    finally:
        postgres.remove()
