"""Per-key counters over fixed windows: in Redis when the app has one (shared by every web process), else
in this process (kept on the app, so each app counts for itself).

Windows are fixed slices of the clock (an hour limit counts from 10:00 to 11:00), and a counter expires at
its window's end whatever happens inside it: its time to live is the same for every key of that window, so
it never dates a key's last (or first) use. Keys are pseudonyms (never a link token, an address or an IP).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from flask import current_app

from eventhub.extensions import shared


def count_lua(key: str, add: str, expires_at: str) -> str:
    """Lua (its arguments Lua expressions) that counts `add` uses on the counter `key`, leaving the total in
    `count`, and dates it to `expires_at`: its window's end, the same instant for every key of the window."""
    return f"local count = redis.call('INCRBY', {key}, {add})\nredis.call('EXPIREAT', {key}, {expires_at})\n"


_COUNT_SCRIPT = count_lua("KEYS[1]", "ARGV[1]", "ARGV[2]") + "return count\n"  # counted and dated in one command


@dataclass(frozen=True)
class WindowCount:
    count: int
    retry_after: int  # whole seconds until the window ends (at least 1)


def counter_name(key: str, window_seconds: int, index: int) -> str:
    """The Redis key of `key`'s counter in window number `index` of `window_seconds`."""
    return f"eventhub:rate:{key}:{window_seconds}:{index}"


def _window(window_seconds: int, now: float) -> tuple[int, int]:
    """The current window's index and the instant (epoch seconds) it ends."""
    index = int(now) // window_seconds
    return index, (index + 1) * window_seconds


class RateLimiter:
    def __init__(self):
        self._lock = threading.Lock()
        self._script = None

    def allow(self, key: str, limit: int, window_seconds: int) -> bool:
        """Count one use of `key`; False once it is past `limit` uses in the current window."""
        return self.hit(key, window_seconds).count <= limit

    def hit(self, key: str, window_seconds: int) -> WindowCount:
        """Count one use of `key` in the current window; the count including it."""
        return self._count(key, window_seconds, add=1)

    def counter(self, key: str, window_seconds: int) -> tuple[str, int]:
        """The Redis key counting `key` in the current window, and the instant (epoch seconds) it expires."""
        index, ends = _window(window_seconds, time.time())
        return counter_name(key, window_seconds, index), ends

    def peek(self, key: str, window_seconds: int) -> WindowCount:
        """The uses of `key` counted so far in the current window, counting none."""
        return self._count(key, window_seconds, add=0)

    def _count(self, key: str, window_seconds: int, add: int) -> WindowCount:
        now = time.time()
        index, ends = _window(window_seconds, now)
        retry_after = max(1, int(ends - now + 0.999))
        redis = shared.connection
        if redis is not None:
            name = counter_name(key, window_seconds, index)
            if not add:
                return WindowCount(int(redis.get(name) or 0), retry_after)
            if self._script is None:
                self._script = redis.register_script(_COUNT_SCRIPT)  # then run by its hash (EVALSHA)
            count = self._script(keys=[name], args=[add, ends], client=redis)
            return WindowCount(int(count), retry_after)
        local_key = f"{key}:{window_seconds}"
        with self._lock:
            local: dict[str, tuple[int, int]] = current_app.extensions.setdefault("eventhub_rate_limits", {})
            if len(local) > 100_000:  # forget finished windows rather than grow without end
                current = {k: v for k, v in local.items() if v[0] == int(now) // int(k.rsplit(":", 1)[1])}
                local.clear()
                local.update(current)
            window, count = local.get(local_key, (index, 0))  # key -> (window index, count)
            if window != index:
                count = 0
            count += add
            if add:
                local[local_key] = (index, count)
            return WindowCount(count, retry_after)


limiter = RateLimiter()
