"""What one process knows of board versions: the notifier its live streams wait on, and the re-reads that
catch the changes Redis announced no message for.

A board's changes are announced at most once per `QUIET_MS` (the first change of a quiet board goes out at
once; later ones within the window only raise the version), so a town hall taking a thousand votes a
second costs each web process ten announcements a second, not a thousand. A process catches what was not
announced by reading the version again once the window is over: every version it learns (from a message,
from its own change, or read from Redis) books a re-read `FOLLOW_UP_SECONDS` later, and a re-read that finds
a newer version books another. So no process lags a change by much more than `FOLLOW_UP_SECONDS`.
"""

from __future__ import annotations

import threading
import time

QUIET_MS = 100  # at most one announcement per board this often
FOLLOW_UP_SECONDS = QUIET_MS / 1000 + 0.05  # past the window, with room for the message's way here


class Notifier:
    """This process's view of board versions: streams wait here for their event's next version."""

    def __init__(self):
        self._changed = threading.Condition()
        self._latest: dict[str, int] = {}

    def announce(self, event_id: str, version: int) -> None:
        with self._changed:
            if version > self._latest.get(event_id, -1):
                self._latest[event_id] = version
            self._changed.notify_all()

    def latest(self, event_id: str) -> int | None:
        return self._latest.get(event_id)

    def wait_past(self, event_id: str, seen: int, timeout: float) -> int | None:
        """The event's version once it is past `seen`, or None after `timeout` seconds."""
        with self._changed:
            if self._changed.wait_for(lambda: self._latest.get(event_id, -1) > seen, timeout):
                return self._latest[event_id]
        return None


class FollowUps:
    """The boards whose version this process reads again, and when (a monotonic time each)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._due: dict[str, float] = {}

    def book(self, event_id: str) -> None:
        """Read `event_id`'s version again `FOLLOW_UP_SECONDS` from now (or later, if already booked later)."""
        at = time.monotonic() + FOLLOW_UP_SECONDS
        with self._lock:
            if at > self._due.get(event_id, 0.0):
                self._due[event_id] = at

    def seconds_to_next(self, longest: float) -> float:
        """How long the relay may wait for a message before a re-read is due (at most `longest`)."""
        with self._lock:
            soonest = min(self._due.values(), default=None)
        return longest if soonest is None else min(longest, max(0.0, soonest - time.monotonic()))

    def take_due(self) -> list[str]:
        now = time.monotonic()
        with self._lock:
            due = [event_id for event_id, at in self._due.items() if at <= now]
            for event_id in due:
                del self._due[event_id]
        return due

    def clear(self) -> None:
        with self._lock:
            self._due.clear()
