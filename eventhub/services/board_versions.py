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

import atexit
import threading
import time
from collections import Counter
from collections.abc import Callable

QUIET_MS = 100  # at most one announcement per board this often
FOLLOW_UP_SECONDS = QUIET_MS / 1000 + 0.05  # past the window, with room for the message's way here
BUMP_DELAY_SECONDS = 0.05  # a vote's version bump waits this long for the board's other votes to share it


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


class PendingBumps:
    """Board changes committed by this process whose version is not raised yet (votes, by `announce_soon`).

    A background thread raises them `BUMP_DELAY_SECONDS` after the first, all at once, so the votes of a busy
    board share one bump instead of one round trip each. Other processes learn of a change that much later
    (they may lag it by `FOLLOW_UP_SECONDS` anyway); this process never does: `settle` raises a board's pending
    change before this process reads that board, so a link reading after its own vote sees it."""

    def __init__(self, bump: Callable[[set[str]], None]):
        self._bump = bump
        self._changed = threading.Condition()
        self._waiting: set[str] = set()  # committed, not yet taken by a bump
        self._in_flight: Counter = Counter()  # taken by bumps that have not returned yet
        self._thread: threading.Thread | None = None
        self._closed = False
        self._at_exit = False

    def add(self, event_ids: set[str]) -> None:
        with self._changed:
            self._waiting |= event_ids
            if self._thread is None or not self._thread.is_alive():  # (a forked process starts its own)
                self._thread = threading.Thread(target=self._run, name="eventhub-board-bumps", daemon=True)
                self._thread.start()
                if not self._at_exit:  # what is pending when the process ends is bumped before it does
                    atexit.register(self.close)
                    self._at_exit = True
            self._changed.notify_all()

    def settle(self, event_id: str, timeout: float = 2.0) -> None:
        """Return once every change of `event_id` this process committed so far has raised its version."""
        with self._changed:
            mine = event_id in self._waiting
            if mine:
                self._waiting.discard(event_id)
                self._in_flight[event_id] += 1
            else:
                self._changed.wait_for(lambda: not self._in_flight[event_id], timeout)
        if mine:
            self._raise({event_id})

    def close(self) -> None:
        """Raise what is pending and stop (the process is ending)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._waiting or self._closed)
                if self._closed and not self._waiting:
                    return
                closing = self._closed
            if not closing:
                time.sleep(BUMP_DELAY_SECONDS)  # the board's other votes in the next moments join this bump
            with self._changed:
                taken, self._waiting = self._waiting, set()
                self._in_flight.update(taken)
            self._raise(taken)

    def _raise(self, event_ids: set[str]) -> None:
        try:
            self._bump(event_ids)
        finally:
            with self._changed:
                self._in_flight.subtract(event_ids)
                for event_id in event_ids:
                    if self._in_flight[event_id] <= 0:
                        del self._in_flight[event_id]
                self._changed.notify_all()
