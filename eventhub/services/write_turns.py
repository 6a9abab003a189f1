"""Whose turn it is to write a SQLite file, handed over the moment the writer before is done.

SQLite lets one connection write at a time. A connection that finds the file locked waits in SQLite's busy
handler, which sleeps 1 ms, then 2, 5, 10... before it looks again, however short the write it waits for.
A vote writes for about 60 us, so two web processes voting at once spent a fifth of the machine's time
asleep in that handler (measured: a vote's statements took 137 us of wall time for 63 us of CPU, one in
eighteen slept a whole millisecond or more). The hot path's writes therefore first take their turn on a
lock the kernel hands to the next waiter at once: a `flock` on a file beside the database, between
processes, and a `threading.Lock` between the threads of one process (which share its descriptor). A turn
lasts one statement, as SQLite's own lock does for a statement that commits by itself.

Only the statements run through `services.prepared` for writes (`driver_statements(writes=True)`: a vote,
a vote taken back) take turns, each statement its own; any other write still meets SQLite's own handler,
which remains the arbiter, so a write that skips its turn is slower, never wrong.
"""

from __future__ import annotations

import fcntl
import os
import threading


class WriteTurns:
    """Turns to write one SQLite file, for every thread of every process that uses this lock file: a write
    runs inside `with turns:`."""

    def __init__(self, database_path: str):
        self.lock_path = f"{database_path}-write-turns"
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid: int | None = None

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            fcntl.flock(self._descriptor(), fcntl.LOCK_EX)  # blocks in the kernel; woken when the holder lets go
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *_exc) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _descriptor(self) -> int:
        """This process's own descriptor (a forked child opens its own: a shared one would share the lock)."""
        if self._pid != os.getpid():
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd


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
