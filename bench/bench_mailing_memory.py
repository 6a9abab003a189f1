"""Worker memory for a large mailing: the invites of a town hall of 100,000 attendees (made in pages of
10,000 through the API) sent by one `python worker.py --burst` to a loopback sink that only counts.

Printed: the peak RSS of the worker and of its largest work horse (VmHWM, polled from /proc: the figure
the process's own ru_maxrss gives), the time from the worker's start to its exit, messages/s, and whether
the sink and the `deliveries` table hold exactly one invite per attendee. The aim is a worker under 200 MB.
`BENCH_MAILING_ATTENDEES` (default 100000) sets the size, `BENCH_MAILING_SHARDS` the mailing's shards
(default: the app's `MAILING_SHARDS`). Figures only; never part of the test run's pass/fail.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from bench import common
from bench.baselines import fmt_rate, redis_url, smtp_sink

GROUPS = (("Manila", "Asia/Manila"), ("New York", "America/New_York"))


def run(baselines: dict) -> dict:
    from redis import Redis
    from rq import Queue

    size = int(os.environ.get("BENCH_MAILING_ATTENDEES", "100000"))
    queue_name = f"bench-memory-{uuid.uuid4().hex[:12]}"
    connection = Redis.from_url(redis_url())
    queue = Queue(queue_name, connection=connection)
    made = None
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder, smtp_sink() as (host, port, counter):
        url = common.database_url(Path(folder))
        try:
            settings = common.app_settings(url, queue_name, (host, port))
            if os.environ.get("BENCH_MAILING_SHARDS"):
                settings["MAILING_SHARDS"] = int(os.environ["BENCH_MAILING_SHARDS"])
            app = common.make_app(settings, Path(folder) / "instance")
            made = common.create_town_hall(app, common.event_payload(GROUPS, 6), common.people(size, GROUPS))
            shards = app.config["MAILING_SHARDS"]
            print(f"town hall of {size:,} (a weekly series of 6) made in {made['seconds']:.1f} s, "
                  f"{len(made['pages'])} page(s); {common.database_label(url)}; MAILING_SHARDS={shards}")
            worker = common.run_worker(common.worker_env(settings))
            received = counter.messages
            sent_rows = common.delivered(app, made["event"]["id"])
        finally:
            common.cleanup_redis(connection, queue, made["job_ids"] if made else (),
                                 [made["event"]["id"]] if made else ())
            connection.close()
    exact = received == size and sent_rows == size and worker["returncode"] == 0
    rate = size / worker["seconds"]
    print(f"mailing of {size:,}: worker {common.memory_text(worker)}; {worker['seconds']:.1f} s start to exit, "
          f"{fmt_rate(rate)} msg/s; {'exactly one each' if exact else 'MISMATCH'} (sink {received:,}, "
          f"'sent' rows {sent_rows:,}, exit {worker['returncode']})")
    if not exact:
        print(worker["output"][-3000:])
    return {"memory_attendees": size, "memory_worker_peak_mib": round(worker["peak_mib"], 1),
            "memory_horse_peak_mib": round(worker["horse_mib"], 1), "memory_worker_s": round(worker["seconds"], 1),
            "memory_msgs_per_s": round(rate, 1), "memory_check_ok": exact}


if __name__ == "__main__":
    run({})
