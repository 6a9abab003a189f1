"""Benchmark of a mailing spread over workers: invites to 2,000 attendees against a loopback relay that
takes 20 ms per message (an ordinary relay across the internet), sent by 1, 2 and 4 `python worker.py`
processes, and by one worker holding 4 SMTP connections (`SMTP_CONNECTIONS`). The mailing is cut into
shards (`MAILING_SHARDS`, 8 here), each its own job and lease, so every worker takes some. Printed: wall
time from the town hall's creation to the last message, messages/s, and the speed-up over one worker with
one connection measured in the same run (the baseline of this benchmark); checks that every attendee got
exactly one message.

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
RUNS = ((1, 1), (2, 1), (4, 1), (1, 4))  # (workers, SMTP connections each)


def _one_run(folder: Path, workers: int, connections: int = 1) -> dict:
    from redis import Redis

    queue_name = f"bench-shards-{uuid.uuid4().hex[:12]}"
    connection = Redis.from_url(redis_url())
    running: list[subprocess.Popen] = []
    event_ids: list[str] = []
    with smtp_sink(delay=RELAY_SECONDS) as (host, port, relay):
        try:
            name = f"{workers}-{connections}"
            settings = common.app_settings(f"sqlite:///{folder / f'shards-{name}.db'}", queue_name, (host, port))
            settings.update(MAILING_SHARDS=8, SMTP_CONNECTIONS=connections)
            app = common.make_app(settings, folder / f"instance-{name}")
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
        for workers, connections in RUNS:
            results[workers, connections] = _one_run(Path(folder), workers, connections)
    one = results[1, 1]["rate"]
    for (workers, connections), result in results.items():
        print(f"mailing of {ATTENDEES:,} to a relay taking {RELAY_SECONDS * 1000:.0f} ms a message, {workers} "
              f"worker(s) with {connections} SMTP connection(s) each: {result['seconds']:.1f} s, "
              f"{result['rate']:,.1f} msg/s, {result['rate'] / one:.2f}x one worker with one connection; "
              f"{'exactly one each' if result['exact'] else 'MISMATCH in the count'}")
        key = f"shards_{workers}_workers" + (f"_{connections}_connections" if connections > 1 else "")
        figures[f"{key}_msgs_per_s"] = round(result["rate"], 1)
        figures[f"{key}_speedup"] = round(result["rate"] / one, 2)
    return figures
