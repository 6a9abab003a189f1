"""Whose turn it is to write a SQLite file, found out within microseconds of the writer before being done.

SQLite lets one connection write at a time. A connection that finds the file locked waits in SQLite's busy
handler, which sleeps 1 ms, then 2, 5, 10... before it looks again, however short the write it waits for.
A vote writes for about 60 us, so two web processes voting at once spent a fifth of the machine's time
asleep in that handler (measured: a vote's statements took 137 us of wall time for 63 us of CPU, one in
eighteen slept a whole millisecond or more). The hot path's writes therefore first take their turn on a
lock of their own with a far finer wait: a `flock` on a file beside the database between processes, asked
for again after 20 us, then 40, up to 1 ms, and a `threading.Lock` between the threads of one process
(which share its descriptor). A turn lasts one statement, as SQLite's own lock does for a statement that
commits by itself.

Only the statements run through `services.prepared` for writes (`driver_statements(writes=True)`: a vote,
a vote taken back) take turns, each statement its own; any other write still meets SQLite's own handler,
which remains the arbiter, so a write that skips its turn is slower, never wrong.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time

from sqlalchemy.exc import OperationalError

WAIT_SECONDS = 5.0  # as long as SQLite itself waits for its lock (sqlite3's default timeout); then 503
_FIRST_PAUSE, _LONGEST_PAUSE = 20e-6, 1e-3  # a vote's write holds the turn for about 60 us


class WriteTurns:
    """Turns to write one SQLite file, for every thread of every process that uses this lock file: a write
    runs inside `with turns:`. A turn not had within `WAIT_SECONDS` raises SQLAlchemy's `OperationalError`,
    as a database locked for that long does (the service answers 503)."""

    def __init__(self, database_path: str):
        self.lock_path = f"{database_path}-write-turns"
        self._threads = threading.Lock()
        self._fd: int | None = None

    def __enter__(self) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        if not self._threads.acquire(timeout=WAIT_SECONDS):
            raise _locked("no write turn within the wait")
        try:
            self._take_the_file(deadline)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *_exc) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _take_the_file(self, deadline: float) -> None:
        """The lock between processes, asked for again after pauses from 20 us doubling up to 1 ms (a blocking
        `flock` could not be given up at the deadline)."""
        try:
            if self._fd is None:
                self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            pause = _FIRST_PAUSE
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise _locked("no write turn within the wait") from None
                    time.sleep(pause)
                    pause = min(pause * 2, _LONGEST_PAUSE)
        except OSError as error:  # the lock file cannot be opened: the database is unusable as well
            raise _locked(f"write turns unavailable ({type(error).__name__})") from error

    def _after_fork(self) -> None:
        """A forked child starts with no turn: a fresh thread lock, and the parent's descriptor closed (kept, it
        would hold the parent's lock on in the child)."""
        self._threads = threading.Lock()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _locked(why: str) -> OperationalError:
    return OperationalError("write turn", None, sqlite3.OperationalError(f"database is locked: {why}"))


_turns: dict[str, WriteTurns] = {}
_turns_lock = threading.Lock()


def write_turns(database_path: str | None) -> WriteTurns | None:
    """The turns of a SQLite file (None for a database in memory, which one process alone can see)."""
    if not database_path or database_path == ":memory:" or database_path.startswith("file::memory:"):
        return None
    if (turns := _turns.get(database_path)) is None:
        with _turns_lock:
            turns = _turns.setdefault(database_path, WriteTurns(database_path))
    return turns


def _reset_after_fork() -> None:
    global _turns_lock
    _turns_lock = threading.Lock()
    for turns in _turns.values():
        turns._after_fork()


os.register_at_fork(after_in_child=_reset_after_fork)
