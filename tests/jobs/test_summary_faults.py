"""Exactly once under faults, with real RQ worker processes (`python worker.py`) and a real SMTP server:
a worker killed with SIGKILL mid-fan-out, a mail server that refuses for a while, an address that fails
for good."""

import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import update

from eventhub.extensions import db, jobs
from eventhub.models import OutboxTask, TaskKind, TaskStatus
from tests.factories import create_town_hall, instant, people
from tests.processes import Processes, app_env, start_sink, wait_for


@pytest.fixture
def sink():
    handler, controller = start_sink()
    yield handler
    controller.stop()


@pytest.fixture
def fault_settings(rq_settings):
    """Short retry intervals, so a mail server's outage is waited out within the test."""
    rq_settings.update(RQ_QUEUE="eventhub-faults", SUMMARY_RETRY_INTERVALS=(1, 1, 2, 2, 3))
    return rq_settings


class Workers:
    """`python worker.py` processes sharing the test's database, Redis and mail server."""

    def __init__(self, settings, sink, log_path: Path):
        self.processes = Processes(log_path)
        self.env = app_env(settings["DATABASE_URL"], sink, settings["REDIS_URL"])

    def start(self):
        return self.processes.worker(self.env)

    def kill_hard(self, process) -> None:
        self.processes.kill_hard(process)


@pytest.fixture
def workers(fault_settings, settings, sink, tmp_path):
    group = Workers(settings, sink, tmp_path / "workers.log")
    yield group
    group.processes.stop_all()
    print(group.processes.log())  # shown when a test fails


def _town_hall(client, headers, count):
    event = create_town_hall(client, headers, start=instant(48), attendees=people(count, width=4))
    # The invites are not what these tests are about: they are marked done before any worker runs.
    db.session.execute(update(OutboxTask).where(OutboxTask.kind == TaskKind.INVITES).values(status=TaskStatus.DONE))
    db.session.commit()
    jobs.queue.empty()
    return event


def _job(client, headers, job_id):
    answer = client.get(f"/api/v1/jobs/{job_id}", headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json


def _resume_after_a_crash(workers, sink, count: int) -> float:
    """Kill the first worker (and its horse) mid-mailing, start another; seconds until it sends again."""
    first = workers.start()
    wait_for(lambda: len(sink.messages) >= 60, 60, "the first worker to send 60 messages")
    workers.kill_hard(first)
    sent_before_crash = len(sink.messages)
    assert sent_before_crash < count
    started = time.monotonic()
    workers.start()
    wait_for(lambda: len(sink.messages) > sent_before_crash, 30, "the new worker to resume")
    return time.monotonic() - started


def test_a_worker_killed_mid_summary_is_resumed_within_seconds_with_nobody_skipped(workers, sink, app, client,
                                                                                  auth_headers):
    sink.delay = 0.01
    event = _town_hall(client, auth_headers, 300)
    job_id = client.post(f"/api/v1/events/{event['id']}/summary", headers=auth_headers, json={}).json["job_id"]
    resumed_after = _resume_after_a_crash(workers, sink, 300)
    print(f"summary resumed {resumed_after:.2f} s after the new worker started")
    assert resumed_after < 15  # loose: the dead holder's lease is freed at once, not after its term
    wait_for(lambda: _job(client, auth_headers, job_id)["status"] == "finished", 120, "the job to finish")
    received = sink.recipients("Summary:")
    assert set(received) == {f"p{n:04d}@example.com" for n in range(300)}  # nobody skipped
    assert sum(received.values()) <= 301 and max(received.values()) <= 2  # at most the one in flight twice
    assert _job(client, auth_headers, job_id) == {"status": "finished", "done": 300, "total": 300, "failed": 0}


def test_a_worker_killed_mid_invites_is_resumed_within_seconds_with_nobody_skipped(workers, sink, app, client,
                                                                                  auth_headers):
    sink.delay = 0.01
    created = create_town_hall(client, auth_headers, start=instant(48), attendees=people(300, width=4))
    resumed_after = _resume_after_a_crash(workers, sink, 300)
    print(f"invites resumed {resumed_after:.2f} s after the new worker started")
    assert resumed_after < 15
    wait_for(lambda: _job(client, auth_headers, created["job_id"])["status"] == "finished", 120, "the invites")
    received = sink.recipients("Invitation:")
    assert set(received) == {f"p{n:04d}@example.com" for n in range(300)}
    assert sum(received.values()) <= 301 and max(received.values()) <= 2


def test_a_summary_refused_past_its_whole_retry_schedule_fails_then_send_again_serves_the_rest(
        workers, sink, app, client, auth_headers):
    event = _town_hall(client, auth_headers, 10)
    sink.refuse_all_until = time.monotonic() + 3600
    first = client.post(f"/api/v1/events/{event['id']}/summary", headers=auth_headers, json={"notes": "N"})
    workers.start()
    wait_for(lambda: _job(client, auth_headers, first.json["job_id"])["status"] == "failed", 60, "the job to fail")
    failed = _job(client, auth_headers, first.json["job_id"])
    assert "refused for now" in failed["error"] and len(sink.messages) == 0
    sink.refuse_all_until = 0.0  # the mail server is back
    again = client.post(f"/api/v1/events/{event['id']}/summary", headers=auth_headers, json={"notes": "changed"})
    assert again.status_code == 202
    wait_for(lambda: _job(client, auth_headers, again.json["job_id"])["status"] == "finished", 60, "the resend")
    received = sink.recipients("Summary:")
    assert len(received) == 10 and max(received.values()) == 1
    body = sink.messages[0]["message"].get_body(("plain",)).get_content()
    assert "N" in body and "changed" not in body  # what was first sent is what everyone gets
    refused = client.post(f"/api/v1/events/{event['id']}/summary", headers=auth_headers, json={})
    assert refused.status_code == 409  # everyone served


def test_a_mail_server_that_refuses_for_a_while_is_retried_without_duplicates(workers, sink, app, client,
                                                                               auth_headers):
    event = _town_hall(client, auth_headers, 20)
    sink.refuse_all_until = float("inf")  # until the first attempt has met it, however slow the start
    job_id = client.post(f"/api/v1/events/{event['id']}/summary", headers=auth_headers, json={}).json["job_id"]
    workers.start()
    wait_for(lambda: sink.refused > 0, 60, "the first attempt to be refused")
    assert _job(client, auth_headers, job_id)["status"] in ("queued", "started")  # waiting to retry, not done
    sink.refuse_all_until = time.monotonic() + 3  # and a while longer
    wait_for(lambda: _job(client, auth_headers, job_id)["status"] == "finished", 90, "the job to finish")
    received = Counter(item["to"][0] for item in sink.messages)
    assert len(received) == 20 and max(received.values()) == 1


def test_an_address_that_fails_for_good_is_reported_and_the_others_are_served(workers, sink, app, client,
                                                                               auth_headers):
    event = _town_hall(client, auth_headers, 10)
    sink.refuse["p0003@example.com"] = "550 5.1.1 No such mailbox"
    job_id = client.post(f"/api/v1/events/{event['id']}/summary", headers=auth_headers, json={}).json["job_id"]
    workers.start()
    wait_for(lambda: _job(client, auth_headers, job_id)["status"] == "finished", 60, "the job to finish")
    assert len(sink.messages) == 9 and "p0003@example.com" not in {item["to"][0] for item in sink.messages}
    assert _job(client, auth_headers, job_id) == {"status": "finished", "done": 10, "total": 10, "failed": 1}
    summary = client.get(f"/api/v1/events/{event['id']}/summary", headers=auth_headers).json
    assert summary["sent"] == 9 and summary["failed"] == 1
