"""Benchmark of the outbox: how fast a mailing resumes after a crash, and what the outbox costs.

1. Crash recovery. A town hall of 2,000 attendees; `python worker.py` sends its invites to a loopback
   sink; after 300 messages the worker and its work horse are killed with SIGKILL and a new worker is
   started. Printed: seconds from the new worker's start to its first resumed message, beside the same
   measure for the first worker's cold start (the baseline of this run), and how many messages went twice.
2. The outbox's cost on creating a town hall of 10,000 attendees through the API: with the outbox (the
   task rows written in the change's transaction, then dispatched) and without it (the old way: the job
   enqueued directly, no row), best of three each, alternated, same run, same database.

Run alone with `python -m bench.run outbox`. Figures only; never part of the test run's pass/fail.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench import common
from bench.baselines import REPO_ROOT, free_port, redis_url, smtp_sink

CRASH_ATTENDEES = 2_000
KILL_AFTER = 300
CREATE_ATTENDEES = 10_000
OCCURRENCES = 6
GROUPS = (("Manila", "Asia/Manila"), ("New York", "America/New_York"))


def stop_workers(workers: list[subprocess.Popen], connection, queue_name: str, event_ids=()) -> None:
    """Kill what is left of a benchmark's workers and remove what its run left in Redis."""
    from rq import Queue

    for worker in workers:
        if worker.poll() is None:
            common.kill_tree(worker)
    common.cleanup_redis(connection, Queue(queue_name, connection=connection), event_ids=event_ids)
    connection.close()


def _town_hall(app, attendees: int) -> dict:
    return common.create_town_hall(app, common.event_payload(GROUPS, OCCURRENCES), common.people(attendees, GROUPS))


def crash_recovery(folder: Path) -> dict:
    from redis import Redis

    queue_name = f"bench-outbox-{uuid.uuid4().hex[:12]}"
    connection = Redis.from_url(redis_url())
    workers: list[subprocess.Popen] = []
    event_ids: list[str] = []
    # A relay a little slower than loopback: 2 ms a message.
    with smtp_sink(delay=0.002) as (host, port, counter):
        try:
            settings = common.app_settings(f"sqlite:///{folder / 'crash.db'}", queue_name, (host, port))
            app = common.make_app(settings, folder / "instance")
            event_ids.append(_town_hall(app, CRASH_ATTENDEES)["event"]["id"])
            env = common.worker_env(settings, FAN_OUT_LEASE_SECONDS=15)
            log = (folder / "workers.log").open("a")

            def start() -> subprocess.Popen:
                workers.append(subprocess.Popen([sys.executable, "worker.py"], cwd=REPO_ROOT, env=env,
                                                stdout=log, stderr=subprocess.STDOUT))
                return workers[-1]

            first = start()
            cold = common.wait_until(lambda: counter.messages >= 1, 60)
            common.wait_until(lambda: counter.messages >= KILL_AFTER, 120)
            common.kill_tree(first)
            sent_before = counter.messages
            start()
            resumed = common.wait_until(lambda: counter.messages > sent_before, 60)
            common.wait_until(lambda: counter.messages >= CRASH_ATTENDEES, 180)
            time.sleep(0.5)
        finally:
            stop_workers(workers, connection, queue_name, event_ids)
    twice = counter.messages - CRASH_ATTENDEES
    print(f"crash recovery: first resumed message {resumed:.2f} s after the new worker started; a cold worker's "
          f"first message {cold:.2f} s after its start ({resumed / cold:.2f}x the cold start); killed after "
          f"{sent_before:,} of {CRASH_ATTENDEES:,}; {twice} message(s) sent twice")
    return {"outbox_resume_s": round(resumed, 2), "outbox_cold_first_message_s": round(cold, 2),
            "outbox_resume_ratio_cold": round(resumed / cold, 2), "outbox_sent_twice": twice}


def create_cost(folder: Path) -> dict:
    from redis import Redis
    from rq import Queue

    from eventhub.extensions import jobs
    from eventhub.services import events

    queue_name = f"bench-outbox-{uuid.uuid4().hex[:12]}"
    settings = common.app_settings(f"sqlite:///{folder / 'create.db'}", queue_name, ("127.0.0.1", free_port()))
    app = common.make_app(settings, folder / "instance-create")
    arm_invites, arm_timed = events._arm_invites, events.arm_timed_tasks

    def enqueue_directly(event, retry_failed=False):  # the way before the outbox: a job and no row
        return jobs.enqueue("eventhub.jobs.outbox.run_task", event.id, job_id=uuid.uuid4().hex)

    timings: dict[bool, list[float]] = {True: [], False: []}
    event_ids = []
    try:
        event_ids.append(_town_hall(app, 1_000)["event"]["id"])  # warm up: first-request costs fall on neither side
        for outbox in (True, False, True, False, True, False):  # alternated, so drift falls on both
            if outbox:
                events._arm_invites, events.arm_timed_tasks = arm_invites, arm_timed
            else:
                events._arm_invites, events.arm_timed_tasks = enqueue_directly, lambda event: None
            made = _town_hall(app, CREATE_ATTENDEES)
            timings[outbox].append(made["seconds"])
            event_ids.append(made["event"]["id"])
    finally:
        events._arm_invites, events.arm_timed_tasks = arm_invites, arm_timed
        connection = Redis.from_url(redis_url())
        common.cleanup_redis(connection, Queue(queue_name, connection=connection), event_ids=event_ids)
        connection.close()
    with_outbox, without = min(timings[True]), min(timings[False])
    print(f"create a town hall of {CREATE_ATTENDEES:,} through the API: {with_outbox:.2f} s with the outbox, "
          f"{without:.2f} s without it ({with_outbox / without:.2f}x), best of 3 each, alternated, SQLite")
    return {"outbox_create_10k_s": round(with_outbox, 3), "outbox_create_10k_without_s": round(without, 3),
            "outbox_create_ratio": round(with_outbox / without, 3)}


def run(baselines: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-outbox-") as folder:
        figures = crash_recovery(Path(folder))
        figures.update(create_cost(Path(folder)))
    return figures
