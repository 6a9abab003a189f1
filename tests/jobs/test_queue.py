"""The one enqueue helper: real RQ on Redis with a real worker, or in-process, with the same job functions."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job

from eventhub.extensions import db, jobs
from eventhub.jobs import dispatch
from eventhub.models import TaskKind
from eventhub.queue import JobPolicy
from eventhub.services import outbox
from tests.conftest import ROOT
from tests.jobs import sample_jobs

NO_RETRY = JobPolicy(timeout=30, retry_intervals=(), result_ttl=60)


def _work(app):
    worker = SimpleWorker([jobs.queue], connection=jobs.connection)
    worker.work(burst=True)


def test_with_redis_a_job_is_enqueued_with_timeout_retry_and_result_ttl(rq_settings, app):
    job_id = jobs.enqueue(sample_jobs.count_to, 3, policy=JobPolicy(timeout=45, retry_intervals=(5, 30),
                                                                   result_ttl=120), owner="o1")
    job = Job.fetch(job_id, connection=jobs.connection)
    assert job.timeout == 45 and job.result_ttl == 120
    assert job.retries_left == 2 and job.retry_intervals == [5, 30]
    assert job.args == (3,)
    assert jobs.status(job_id) == {"status": "queued", "done": 0, "total": 0, "owner": "o1"}


def test_a_real_worker_runs_the_job_and_progress_is_reported(rq_settings, app):
    job_id = jobs.enqueue(sample_jobs.count_to, 4, policy=NO_RETRY, owner="o1")
    _work(app)
    assert jobs.status(job_id) == {"status": "finished", "done": 4, "total": 4, "owner": "o1"}
    assert Redis.from_url(rq_settings["REDIS_URL"]).get("sample:count_to") == b"1"


def test_a_failed_job_shows_failed_never_done(rq_settings, app):
    job_id = jobs.enqueue(sample_jobs.fail_halfway, 10, policy=NO_RETRY, owner="o1")
    _work(app)
    assert jobs.status(job_id) == {"status": "failed", "done": 5, "total": 10, "owner": "o1"}


def test_a_job_that_fails_is_retried_by_the_worker(rq_settings, app):
    job_id = jobs.enqueue(sample_jobs.fail_once_then_succeed, "sample:retry",
                          policy=JobPolicy(timeout=30, retry_intervals=(0,), result_ttl=60))
    _work(app)
    assert jobs.status(job_id)["status"] == "finished"
    assert Redis.from_url(rq_settings["REDIS_URL"]).get("sample:retry") == b"2"


def test_without_redis_the_same_job_runs_in_process(app):
    job_id = jobs.enqueue(sample_jobs.count_to, 2, policy=NO_RETRY, owner="o1")
    jobs.wait_local()
    assert jobs.status(job_id) == {"status": "finished", "done": 2, "total": 2, "owner": "o1"}


def test_in_process_failures_follow_the_retry_schedule_and_end_failed(app):
    job_id = jobs.enqueue(sample_jobs.fail_halfway, 4, policy=JobPolicy(timeout=5, retry_intervals=(0, 0)))
    jobs.wait_local()
    assert jobs.status(job_id)["status"] == "failed"


def test_job_status_endpoint_reports_progress_to_its_owner_only(rq_settings, app, client, auth_headers, organizer):
    from tests.conftest import free_port

    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), INVITE_RETRY_INTERVALS=(0,))
    created = client.post("/api/v1/events", headers=auth_headers, json={
        "title": "All hands", "start": "2030-03-05T14:00:00Z", "attendees": [{"email": "a@example.com"}]}).json
    other = outbox.arm(TaskKind.SUMMARY_DRAFT, created["id"], owner="someone-else").id
    db.session.commit()
    _work(app)  # the mail server is down: the first attempt fails
    status = client.get(f"/api/v1/jobs/{created['job_id']}", headers=auth_headers).json
    assert status["status"] == "queued" and status["done"] == 0 and "mail server" in status["error"]
    dispatch.sweep()  # its retry is due at once
    _work(app)
    status = client.get(f"/api/v1/jobs/{created['job_id']}", headers=auth_headers).json
    assert status["status"] == "failed" and status["done"] == 0 and status["total"] == 1
    assert client.get(f"/api/v1/jobs/{other}", headers=auth_headers).status_code == 404
    assert client.get("/api/v1/jobs/" + "x" * 500, headers=auth_headers).status_code == 404


def test_worker_py_runs_queued_jobs_in_a_separate_process(rq_settings, app, database_url):
    job_id = jobs.enqueue(sample_jobs.count_to, 3, policy=NO_RETRY)
    env = {**os.environ, "REDIS_URL": rq_settings["REDIS_URL"], "DATABASE_URL": database_url,
           "SECRET_KEY": "test", "RQ_QUEUE": "eventhub-test"}
    result = subprocess.run([sys.executable, "worker.py", "--burst"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert jobs.status(job_id)["status"] == "finished"


def test_worker_py_frees_the_scheduler_lock_of_a_dead_worker(redis_url):
    from worker import release_dead_scheduler_locks

    connection = Redis.from_url(redis_url)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    import socket

    connection.set("rq:scheduler-lock:eventhub-test", "sched1", ex=120)
    connection.hset("rq:scheduler:sched1", mapping={"hostname": socket.gethostname(), "pid": dead.pid})
    connection.set("rq:scheduler-lock:alive", "sched2", ex=120)
    connection.hset("rq:scheduler:sched2", mapping={"hostname": socket.gethostname(), "pid": os.getpid()})
    assert release_dead_scheduler_locks(connection, ["eventhub-test", "alive"]) == ["eventhub-test"]
    assert connection.get("rq:scheduler-lock:alive") == b"sched2"
    assert Queue("eventhub-test", connection=connection).count == 0


def test_in_process_a_job_waiting_for_its_retry_does_not_hold_up_the_others(app):
    from tests.processes import wait_for

    failing = jobs.enqueue(sample_jobs.fail_halfway, 2, policy=JobPolicy(timeout=5, retry_intervals=(30,)))
    other = jobs.enqueue(sample_jobs.count_to, 1, policy=NO_RETRY)
    wait_for(lambda: jobs.status(other)["status"] == "finished", 5, "the other job", interval=0.05)
    assert jobs.status(failing)["status"] == "queued"  # waiting for its retry, shown as queued, never done


def _processes_marked(mark: str) -> list[int]:
    """Live processes (not zombies) whose environment carries `mark`."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if mark.encode() in (entry / "environ").read_bytes() and \
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX":
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("moment", ["started with PID", "Listening on", "Acquired scheduler lock"])
def test_worker_py_told_to_stop_while_starting_or_idle_stops_and_leaves_no_process_behind(
        rq_settings, app, database_url, tmp_path, moment):
    """A service manager's stop, at each moment of start-up: the worker and the scheduler it started exit with
    0 (RQ's own handlers are installed only after the scheduler is forked); it does not start anew."""
    import signal
    import time
    import uuid

    from tests.processes import wait_for

    mark = f"EVENTHUB_TEST_MARK={uuid.uuid4().hex}"
    env = {**os.environ, "REDIS_URL": rq_settings["REDIS_URL"], "DATABASE_URL": database_url, "SECRET_KEY": "test",
           "RQ_QUEUE": "eventhub-test", "PYTHONFAULTHANDLER": "1", mark.split("=")[0]: mark.split("=")[1]}
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        wait_for(lambda: moment in log_path.read_text(), 30, f"the worker's log to say {moment!r}", interval=0.005)
        worker.send_signal(signal.SIGTERM)
        try:
            code = worker.wait(timeout=15)
        except subprocess.TimeoutExpired:  # where each of its processes is stuck, into the log (faulthandler)
            code = "still running 15 s after SIGTERM"
            for pid in [worker.pid, *_processes_marked(mark)]:
                os.kill(pid, signal.SIGABRT)
            time.sleep(1)
        assert code == 0, log_path.read_text()[-3000:]
        wait_for(lambda: _processes_marked(mark) == [], 5, "every process of the worker to end")
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        for pid in _processes_marked(mark):
            os.kill(pid, 9)


@pytest.mark.parametrize("backend", ["redis", "in-process"])
def test_a_job_past_its_timeout_is_stopped_and_failed_on_either_backend(request, backend):
    """Timeouts mean the same on both: RQ kills its work horse; in process the job is stopped where it keeps
    to its time. Either way it shows failed, and never finished."""
    if backend == "redis":
        request.getfixturevalue("rq_settings")
    app = request.getfixturevalue("app")
    Redis.from_url(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")).delete("sample:run_for")
    job_id = jobs.enqueue(sample_jobs.run_for, 10, policy=JobPolicy(timeout=1, retry_intervals=(), result_ttl=60))
    if backend == "redis":
        _work(app)
    else:
        jobs.wait_local(15)
    assert jobs.status(job_id)["status"] == "failed"
    assert Redis.from_url(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")).get("sample:run_for") is None
