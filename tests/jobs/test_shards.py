"""A mailing spreads over the workers: it is cut into shards (each its own job, lease and slice of the
recipients), the per-recipient records keep exactly-once across them, and the organizer follows one job."""

import re
import time
from collections import Counter

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from eventhub.extensions import db, jobs
from eventhub.models import OutboxTask
from tests.factories import create_town_hall, instant, people
from tests.processes import Processes, app_env, start_sink, wait_for


def _town_hall(client, headers, count: int) -> dict:
    return create_town_hall(client, headers, title="All hands", start=instant(48), attendees=people(count, width=3))


def _shards_of(job_id: str) -> list[OutboxTask]:
    return list(db.session.scalars(select(OutboxTask).where(OutboxTask.parent_id == job_id)))


def test_a_mailing_is_cut_into_shards_and_read_as_one_job(rq_settings, app, client, auth_headers, mail):
    app.config["MAILING_SHARDS"] = 4
    created = _town_hall(client, auth_headers, 60)
    SimpleWorker([jobs.queue], connection=jobs.connection).work(burst=True)
    shards = _shards_of(created["job_id"])
    assert 2 <= len(shards) <= 4 and len({shard.payload["shard"] for shard in shards}) == len(shards)
    assert Counter(item["to"][0] for item in mail.messages) == {f"p{n:03d}@example.com": 1 for n in range(60)}
    assert client.get(f"/api/v1/jobs/{created['job_id']}", headers=auth_headers).json == {
        "status": "finished", "done": 60, "total": 60, "failed": 0}


def test_shards_of_two_runs_of_one_mailing_share_their_slices_and_send_nobody_twice(rq_settings, app, client,
                                                                                  auth_headers, mail):
    app.config["MAILING_SHARDS"] = 3
    created = _town_hall(client, auth_headers, 30)
    client.post(f"/api/v1/events/{created['id']}/invites/resend", headers=auth_headers)  # a second run at once
    SimpleWorker([jobs.queue], connection=jobs.connection).work(burst=True)
    assert Counter(item["to"][0] for item in mail.messages) == {f"p{n:03d}@example.com": 1 for n in range(30)}


@pytest.fixture
def slow_sink():
    handler, controller = start_sink(delay=0.02)  # a relay across the internet takes about this long
    yield handler
    controller.stop()


def test_several_workers_send_one_mailing_at_once(rq_settings, app, client, auth_headers, slow_sink, tmp_path,
                                                  database_url):
    processes = Processes(tmp_path / "workers.log")
    env = app_env(database_url, slow_sink, rq_settings["REDIS_URL"], RQ_QUEUE=rq_settings["RQ_QUEUE"],
                  MAILING_SHARDS="4")
    try:
        for _ in range(3):
            processes.worker(env)
        created = _town_hall(client, auth_headers, 150)
        wait_for(lambda: len(slow_sink.recipients("Invitation:")) == 150, 90, "every invite")
        time.sleep(0.5)
        log = processes.log(tail=1_000_000)
    finally:
        processes.stop_all()
    assert max(slow_sink.recipients("Invitation:").values()) == 1
    shard_ids = {shard.id for shard in _shards_of(created["job_id"])}
    ran_on = {worker for worker, task in re.findall(r"Worker (\w+): eventhub-\w+: invites task (\w+)", log)
              if task in shard_ids}
    assert len(ran_on) >= 2, log[-4000:]  # the shards ran on more than one worker
