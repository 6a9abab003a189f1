"""The outbox: what must be done is a row written with the change that causes it; the queue only carries
it out, so a queue that is unreachable or comes back empty loses nothing, and a database that is down
answers 503 with nothing stored."""

import pytest
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import select

from eventhub import create_app
from eventhub.extensions import db, jobs
from eventhub.jobs import dispatch
from eventhub.models import Event, OutboxTask, TaskKind, TaskStatus
from tests.conftest import free_port
from tests.processes import PrivateRedis

TOWN_HALL = {"title": "All hands", "start": "2030-03-05T14:00:00Z",
             "attendees": [{"email": "a@example.com"}, {"email": "b@example.com"}]}


def _pending(kind: TaskKind) -> list[OutboxTask]:
    return list(db.session.scalars(select(OutboxTask).where(OutboxTask.kind == kind,
                                                            OutboxTask.status == TaskStatus.PENDING)))


def _work() -> None:
    SimpleWorker([jobs.queue], connection=jobs.connection).work(burst=True)


def test_a_town_hall_is_stored_with_its_invites_and_timed_work_in_one_transaction(app, client, auth_headers):
    created = client.post("/api/v1/events", headers=auth_headers, json=TOWN_HALL).json
    kinds = sorted(task.kind for task in db.session.scalars(
        select(OutboxTask).where(OutboxTask.event_id == created["id"])))
    assert kinds == sorted([TaskKind.INVITES, TaskKind.REMINDER, TaskKind.CLOSE_QUESTIONS, TaskKind.SUMMARY_DRAFT])
    assert created["job_id"] == next(t.id for t in db.session.scalars(
        select(OutboxTask).where(OutboxTask.kind == TaskKind.INVITES)))


@pytest.fixture
def unreachable_redis(settings, tmp_path):
    """A private redis-server the app is configured with, not started yet: the queue is unreachable."""
    redis = PrivateRedis(tmp_path)
    settings.update(REDIS_URL=redis.url, RQ_QUEUE="eventhub-test")
    yield redis
    redis.stop()


def test_with_the_queue_unreachable_changes_are_accepted_and_go_out_once_it_is_back(app, mail, client, auth_headers,
                                                                                    unreachable_redis):
    redis = unreachable_redis
    created = client.post("/api/v1/events", headers=auth_headers, json=TOWN_HALL)
    assert created.status_code == 201 and created.json["invites"]["pending"] == 2
    summary = client.post(f"/api/v1/events/{created.json['id']}/summary", headers=auth_headers, json={})
    assert summary.status_code == 202
    health = client.get("/api/v1/health")
    assert health.status_code == 503 and health.json == {"status": "down", "database": "ok", "jobs": "down"}
    redis.start()
    assert dispatch.sweep() == 2  # the invites and the summary, found in the database
    _work()
    subjects = sorted(item["message"]["Subject"].split(" @ ")[0].strip() for item in mail.messages)
    assert subjects == ["Invitation: All hands"] * 2 + ["Summary: All hands"] * 2
    assert dispatch.sweep() == 0 and _pending(TaskKind.INVITES) == [] and _pending(TaskKind.SUMMARY) == []


def test_a_queue_that_comes_back_empty_is_refilled_from_the_outbox(rq_settings, app, mail, client, auth_headers):
    client.post("/api/v1/events", headers=auth_headers, json=TOWN_HALL)
    Redis.from_url(rq_settings["REDIS_URL"]).flushdb()  # a Redis without persistence restarted
    assert jobs.queue.count == 0
    assert dispatch.sweep() == 1
    _work()
    assert sorted(item["to"][0] for item in mail.messages) == ["a@example.com", "b@example.com"]


def test_a_sweep_leaves_alone_what_is_queued_and_what_is_not_yet_due(rq_settings, app, client, auth_headers):
    client.post("/api/v1/events", headers=auth_headers, json=TOWN_HALL)
    assert jobs.queue.count == 1  # the invites, dispatched right after the commit
    assert dispatch.sweep() == 0  # still queued: not dispatched twice; reminder and close are not due
    assert jobs.queue.count == 1


def test_a_database_that_is_down_answers_503_and_stores_nothing(settings):
    settings.update(DATABASE_URL=f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    application = create_app(settings)
    client = application.test_client()
    answer = client.post("/api/v1/events", headers={"Authorization": "Bearer eh_x"}, json=TOWN_HALL)
    assert answer.status_code == 503
    assert answer.json["error"]["code"] == "unavailable" and answer.json["error"]["field"] == "database"
    assert answer.headers["Retry-After"]
    health = client.get("/api/v1/health")
    assert health.status_code == 503 and health.json["database"] == "down"


def test_health_answers_every_part_in_the_embedded_default(client):
    answer = client.get("/api/v1/health")
    assert answer.status_code == 200
    assert answer.json == {"status": "ok", "database": "ok", "jobs": "in-process"}


def test_a_failed_change_leaves_no_task_behind(app, client, auth_headers):
    body = dict(TOWN_HALL, attendees=[{"email": "not an address"}])
    assert client.post("/api/v1/events", headers=auth_headers, json=body).status_code == 422
    assert db.session.scalars(select(OutboxTask)).all() == [] and db.session.scalars(select(Event)).all() == []
