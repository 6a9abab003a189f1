"""Creating large town halls: 10,000 and 100,000 attendees through the API, in pages of 10,000 (the first
with `POST /api/v1/events`, the rest with `POST /api/v1/events/<id>/attendees`), timed request by request.

Each size gets a database of its own (a fresh SQLite file, or `BENCH_DATABASE_URL`), and its mailings go to
a queue of its own on the bench Redis that no worker reads (removed afterwards): only the requests are
timed. `BENCH_CREATE_SIZES` (default `10000,100000`) changes the sizes. Printed: total seconds,
attendees/s, and the first and the last page's seconds (whether a page costs more as the town hall grows).
Figures only; never part of the test run's pass/fail.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from bench import common
from bench.baselines import free_port, redis_url

GROUPS = (("Manila", "Asia/Manila"), ("New York", "America/New_York"), ("London", "Europe/London"), (None, None))


def sizes() -> list[int]:
    return [int(size) for size in os.environ.get("BENCH_CREATE_SIZES", "10000,100000").split(",") if size.strip()]


def create_once(folder: Path, size: int) -> dict:
    from redis import Redis
    from rq import Queue

    queue_name = f"bench-create-{uuid.uuid4().hex[:12]}"
    connection = Redis.from_url(redis_url())
    made = None
    try:
        url = common.database_url(folder, f"create-{size}")
        app = common.make_app(common.app_settings(url, queue_name, ("127.0.0.1", free_port())),
                              folder / f"instance-{size}")
        made = common.create_town_hall(app, common.event_payload(GROUPS), common.people(size, GROUPS))
        made["database"] = common.database_label(url)
        return made
    finally:
        common.cleanup_redis(connection, Queue(queue_name, connection=connection),
                             made["job_ids"] if made else (), [made["event"]["id"]] if made else ())
        connection.close()


def run(baselines: dict) -> dict:
    figures = {}
    with tempfile.TemporaryDirectory(prefix="bench-create-") as folder:
        for size in sizes():
            made = create_once(Path(folder), size)
            pages = made["pages"]
            print(f"create a town hall of {size:,} ({len(pages)} page(s) of {common.PAGE:,}, {made['database']}): "
                  f"{made['seconds']:.2f} s, {size / made['seconds']:,.0f} attendees/s; first page {pages[0]:.2f} s, "
                  f"last page {pages[-1]:.2f} s")
            figures[f"create_{size}_s"] = round(made["seconds"], 2)
            figures[f"create_{size}_last_page_s"] = round(pages[-1], 2)
    return figures


if __name__ == "__main__":
    run({})
