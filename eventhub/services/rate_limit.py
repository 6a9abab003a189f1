"""Per-key rate limits: fixed windows in Redis when the app has one, else in this process.

Keys are pseudonyms (never a link token or an IP) and expire with their window.
"""

from __future__ import annotations

import threading
import time

from eventhub.extensions import jobs


class RateLimiter:
    def __init__(self):
        self._local: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, limit: int, window_seconds: int) -> bool:
        """Count one use of `key`; False once it is past `limit` uses in the current window."""
        if jobs.uses_redis:
            name = f"eventhub:rate:{key}:{int(time.time()) // window_seconds}"
            pipeline = jobs.connection.pipeline()
            pipeline.incr(name)
            pipeline.expire(name, window_seconds)
            count, _ = pipeline.execute()
            return count <= limit
        now = time.monotonic()
        with self._lock:
            if len(self._local) > 100_000:  # forget finished windows rather than grow without end
                self._local = {k: v for k, v in self._local.items() if v[1] > now}
            count, resets = self._local.get(key, (0, now + window_seconds))
            if now >= resets:
                count, resets = 0, now + window_seconds
            self._local[key] = (count + 1, resets)
            return count + 1 <= limit


limiter = RateLimiter()
