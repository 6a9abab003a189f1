"""Benchmark of a mailing spread over workers: invites to 2,000 attendees against a loopback relay that
takes 20 ms per message (an ordinary relay across the internet), sent by 1, 2 and 4 `python worker.py`
processes. The mailing is cut into shards (`MAILING_SHARDS`, 8 here), each its own job and lease, so
every worker takes some. Printed: wall time from the town hall's creation to the last message, messages/s,
and the speed-up over one worker measured in the same run (the baseline of this benchmark); checks that
every attendee got exactly one message.

Run alone with `python -m bench.run shards`. Figures only; never part of the test run's pass/fail.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench import common
from bench.baselines import REPO_ROOT, redis_url, smtp_sink
from bench.bench_outbox import GROUPS, OCCURRENCES, stop_workers

ATTENDEES = 2_000
RELAY_SECONDS = 0.02
WORKER_COUNTS = (1, 2, 4)


def _one_run(folder: Path, workers: int) -> dict:
    from redis import Redis

    queue_name = f"bench-shards-{uuid.uuid4().hex[:12]}"
    connection = Redis.from_url(redis_url())
    running: list[subprocess.Popen] = []
    event_ids: list[str] = []
    with smtp_sink(delay=RELAY_SECONDS) as (host, port, relay):
        try:
            settings = common.app_settings(f"sqlite:///{folder / f'shards-{workers}.db'}", queue_name, (host, port))
            settings["MAILING_SHARDS"] = 8
            app = common.make_app(settings, folder / f"instance-{workers}")
            env = common.worker_env(settings)
            with (folder / "workers.log").open("a") as log:
                for _ in range(workers):
                    running.append(subprocess.Popen([sys.executable, "worker.py"], cwd=REPO_ROOT, env=env,
                                                    stdout=log, stderr=subprocess.STDOUT))
            time.sleep(3)  # every worker is up and waiting before the mailing starts
            began = time.perf_counter()
            made = common.create_town_hall(app, common.event_payload(GROUPS, OCCURRENCES),
                                           common.people(ATTENDEES, GROUPS))
            event_ids.append(made["event"]["id"])
            common.wait_until(lambda: relay.messages >= ATTENDEES, 600)
            seconds = time.perf_counter() - began
            time.sleep(0.5)
        finally:
            stop_workers(running, connection, queue_name, event_ids)
    return {"seconds": seconds, "rate": ATTENDEES / seconds, "exact": relay.messages == ATTENDEES}


def run(baselines: dict) -> dict:
    figures, results = {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-shards-") as folder:
        for workers in WORKER_COUNTS:
            results[workers] = _one_run(Path(folder), workers)
    one = results[1]["rate"]
    for workers, result in results.items():
        print(f"mailing of {ATTENDEES:,} to a relay taking {RELAY_SECONDS * 1000:.0f} ms a message, {workers} "
              f"worker(s): {result['seconds']:.1f} s, {result['rate']:,.1f} msg/s, {result['rate'] / one:.2f}x one "
              f"worker; {'exactly one each' if result['exact'] else 'MISMATCH in the count'}")
        figures[f"shards_{workers}_workers_msgs_per_s"] = round(result["rate"], 1)
        figures[f"shards_{workers}_workers_speedup"] = round(result["rate"] / one, 2)
    return figures
