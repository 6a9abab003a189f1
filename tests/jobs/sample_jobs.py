"""Job functions for the queue tests; module-level so a worker process can import them by name."""

import os

from flask import current_app
from redis import Redis

from eventhub.queue import report_progress


def _redis() -> Redis:
    return Redis.from_url(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14"))


def count_to(total: int) -> None:
    """Reports progress step by step, and proves it runs inside the app."""
    assert current_app.name == "eventhub"
    for done in range(1, total + 1):
        report_progress(done, total)
    _redis().incr("sample:count_to")


def fail_halfway(total: int) -> None:
    report_progress(total // 2, total)
    raise RuntimeError("the mail server went away")


def fail_once_then_succeed(key: str) -> None:
    if _redis().incr(key) == 1:
        raise RuntimeError("a temporary failure")
    report_progress(1, 1)


def run_for(seconds: float) -> None:
    """Works for `seconds`, keeping to its timeout as a mailing does (between messages)."""
    import time

    from eventhub.queue import keep_within_time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        keep_within_time()
        time.sleep(0.05)
    _redis().incr("sample:run_for")
