"""Exactly once under faults, with real RQ worker processes (`python worker.py`) and a real SMTP server:
a worker killed with SIGKILL mid-fan-out, a mail server that refuses for a while, an address that fails
for good."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from eventhub.extensions import db, jobs
from eventhub.models import OutboxTask, TaskKind, TaskStatus
from tests.conftest import ROOT, MailSink, free_port


class SlowSink(MailSink):
    """A mail server that takes a moment per message and can refuse everyone for a while."""

    def __init__(self, delay: float = 0.0):
        super().__init__()
        self.delay = delay
        self.refuse_all_until = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if time.monotonic() < self.refuse_all_until:
            return "451 4.3.0 Try again later"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def sink():
    handler = SlowSink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    yield handler
    controller.stop()


@pytest.fixture
def fault_settings(rq_settings):
    """Short retry intervals, so a mail server's outage is waited out within the test."""
    rq_settings.update(RQ_QUEUE="eventhub-faults", SUMMARY_RETRY_INTERVALS=(1, 1, 2, 2, 3, 3, 5))
    return rq_settings


class Workers:
    """`python worker.py` processes sharing the test's database, Redis and mail server."""

    def __init__(self, settings, sink, log_path: Path):
        self.log_path = log_path
        self.env = {**os.environ, "DATABASE_URL": settings["DATABASE_URL"], "REDIS_URL": settings["REDIS_URL"],
                    "RQ_QUEUE": settings["RQ_QUEUE"], "SECRET_KEY": settings["SECRET_KEY"],
                    "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port), "MAIL_FROM": settings["MAIL_FROM"],
                    "EVENTHUB_BASE_URL": settings["EVENTHUB_BASE_URL"], "FAN_OUT_LEASE_SECONDS": "3",
                    "SUMMARY_RETRY_INTERVALS": ",".join(map(str, settings["SUMMARY_RETRY_INTERVALS"])),
                    "OUTBOX_SWEEP_SECONDS": "0.5"}
        self.running: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        with self.log_path.open("a") as log:
            process = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=self.env,
                                       stdout=log, stderr=subprocess.STDOUT)
        self.running.append(process)
        return process

    def kill_hard(self, process: subprocess.Popen) -> None:
        """SIGKILL the worker and its work horse, as a crash would (the horse is in its own group)."""
        horses = [int(pid) for task in Path(f"/proc/{process.pid}/task").iterdir()
                  for pid in (task / "children").read_text().split()]
        for pid in [process.pid, *horses]:
            os.kill(pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                self.kill_hard(process)


@pytest.fixture
def workers(fault_settings, settings, sink, tmp_path):
    group = Workers(settings, sink, tmp_path / "workers.log")
    yield group
    group.stop_all()
    print(group.log_path.read_text()[-6000:])  # shown when a test fails


def _town_hall(client, headers, count):
    start = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = client.post("/api/v1/events", headers=headers, json={
        "title": "Town hall", "start": start,
        "attendees": [{"email": f"p{n:04d}@example.com"} for n in range(count)]}).json
    # The invites are not what these tests are about: they are marked done before any worker runs.
    db.session.execute(update(OutboxTask).where(OutboxTask.kind == TaskKind.INVITES).values(status=TaskStatus.DONE))
    db.session.commit()
    jobs.queue.empty()
    return event


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _job(client, headers, job_id):
    answer = client.get(f"/api/v1/jobs/{job_id}", headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json


def test_a_worker_killed_mid_fan_out_is_resumed_with_nobody_skipped(workers, sink, app, client, auth_headers):
    sink.delay = 0.01
    event = _town_hall(client, auth_headers, 300)
    job_id = client.post(f"/api/v1/events/{event['id']}/summary", headers=auth_headers, json={}).json["job_id"]
    first = workers.start()
    _wait_for(lambda: len(sink.messages) >= 60, 60, "the first worker to send 60 messages")
    workers.kill_hard(first)
    sent_before_crash = len(sink.messages)
    assert sent_before_crash < 300
    workers.start()
    _wait_for(lambda: _job(client, auth_headers, job_id)["status"] == "finished", 120, "the job to finish")
    received = Counter(item["to"][0] for item in sink.messages)
    assert set(received) == {f"p{n:04d}@example.com" for n in range(300)}  # nobody skipped
    assert sum(received.values()) <= 301 and max(received.values()) <= 2  # at most the one in flight twice
    assert _job(client, auth_headers, job_id) == {"status": "finished", "done": 300, "total": 300, "failed": 0}


def test_a_mail_server_that_refuses_for_a_while_is_retried_without_duplicates(workers, sink, app, client,
                                                                               auth_headers):
    event = _town_hall(client, auth_headers, 20)
    sink.refuse_all_until = time.monotonic() + 4
    job_id = client.post(f"/api/v1/events/{event['id']}/summary", headers=auth_headers, json={}).json["job_id"]
    workers.start()
    time.sleep(1)
    assert _job(client, auth_headers, job_id)["status"] in ("queued", "started")  # waiting to retry, not done
    _wait_for(lambda: _job(client, auth_headers, job_id)["status"] == "finished", 90, "the job to finish")
    received = Counter(item["to"][0] for item in sink.messages)
    assert len(received) == 20 and max(received.values()) == 1


def test_an_address_that_fails_for_good_is_reported_and_the_others_are_served(workers, sink, app, client,
                                                                               auth_headers):
    event = _town_hall(client, auth_headers, 10)
    sink.refuse["p0003@example.com"] = "550 5.1.1 No such mailbox"
    job_id = client.post(f"/api/v1/events/{event['id']}/summary", headers=auth_headers, json={}).json["job_id"]
    workers.start()
    _wait_for(lambda: _job(client, auth_headers, job_id)["status"] == "finished", 60, "the job to finish")
    assert len(sink.messages) == 9 and "p0003@example.com" not in {item["to"][0] for item in sink.messages}
    assert _job(client, auth_headers, job_id) == {"status": "finished", "done": 10, "total": 10, "failed": 1}
    summary = client.get(f"/api/v1/events/{event['id']}/summary", headers=auth_headers).json
    assert summary["sent"] == 9 and summary["failed"] == 1
