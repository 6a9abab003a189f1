"""An RQ worker with the scheduler, for the queue on `REDIS_URL`: `python worker.py`.

The app is created once here; each job runs inside its app context (the forked work horse inherits it).
A thread sweeps the outbox every few seconds, so work that Redis lost is queued again; the worker keeps
trying while Redis is away and works again when it returns.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, Worker
from rq.exceptions import StopRequested
from rq.registry import StartedJobRegistry
from rq.scheduler import RQScheduler

from eventhub import create_app
from eventhub.extensions import db
from eventhub.gateways.processes import process_alive
from eventhub.jobs import dispatch
from eventhub.jobs.answer_polling import start_for_worker
from eventhub.queue import worker_alive

log = logging.getLogger("eventhub.worker")


def release_dead_scheduler_locks(connection: Redis, queue_names: list[str]) -> list[str]:
    """Free scheduler locks held by a scheduler process on this host that no longer exists.

    RQ keeps a killed scheduler's lock until it expires, and a new worker waits a long interval
    before trying again, which would stall retries and scheduled jobs for minutes after a crash.
    """
    released = []
    for name in queue_names:
        lock_key = RQScheduler.get_locking_key(name)
        owner = connection.get(lock_key)
        if owner is None:
            continue
        info = connection.hgetall(f"rq:scheduler:{owner.decode()}")
        hostname = info.get(b"hostname", b"").decode()
        pid = int(info.get(b"pid", b"0") or 0)
        # No record left (it expired with its heartbeats), or a process of this host that is gone.
        if not info or (hostname == socket.gethostname() and not process_alive(pid)):
            connection.delete(lock_key)
            released.append(name)
    return released


def requeue_jobs_of_dead_workers(connection: Redis, queue_names: list[str]) -> list[str]:
    """Put back on the queue the started jobs whose worker (on this host) is dead.

    RQ would notice only after the job's whole timeout, or minutes of heartbeats; a restarted worker
    resumes them now. The jobs themselves skip whatever their delivery records say is done.
    """
    requeued = []
    for name in queue_names:
        queue = Queue(name, connection=connection)
        registry = StartedJobRegistry(queue=queue)
        for job_id in registry.get_job_ids():
            job = queue.fetch_job(job_id)
            if job is None or worker_alive(connection, job.worker_name):
                continue
            registry.remove_executions(job)
            queue.enqueue_job(job, at_front=True)
            requeued.append(job.id)
    return requeued


class StoppableWorker(Worker):
    """RQ's worker, remembering that a stop was asked for (SIGTERM, SIGINT): RQ records it only when a job is
    running, and this process must not start a new worker after an idle one was told to stop."""

    stop_asked = threading.Event()

    def request_stop(self, signum, frame):
        self.stop_asked.set()
        super().request_stop(signum, frame)

    def _install_signal_handlers(self):
        super()._install_signal_handlers()
        if self.stop_asked.is_set():  # asked while RQ was starting up, before its handlers were in place
            self._stop_requested = True


def ask_to_stop(*_) -> None:
    """This process's SIGTERM and SIGINT whenever RQ's own handlers are not in place."""
    StoppableWorker.stop_asked.set()


_STOPS = {signal.SIGTERM, signal.SIGINT}


def _hold_stops_over_fork() -> None:
    # A stop that reached a child between the fork and the reset below was caught by the parent's handler
    # and then cleared by Python after the fork, so it was lost: the scheduler lived on and its worker waited
    # for it for ever. Held back in the kernel instead, it is delivered after the reset and ends the child.
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)


def _release_stops() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)


def _default_signals_in_child() -> None:
    # The scheduler and the work horse install their own handlers; until then a stop ends them.
    for signum in _STOPS:
        signal.signal(signum, signal.SIG_DFL)
    _release_stops()


# RQ forks this process for the scheduler and for every job's work horse. A fork copies the locks the other
# threads hold at that instant (of a stream, a connection pool, a socket) and never releases them in the
# child, which then hangs on its first use of one. So our threads work only while holding `_quiet`, and a
# fork waits for them to be between two rounds.
_quiet = threading.Lock()


def quietly(work, *args) -> None:
    """`work(*args)` with no fork in between (see `_quiet`)."""
    with _quiet:
        work(*args)


def sweep_forever(app, interval: float, stop: threading.Event) -> None:
    """The outbox sweep, every `interval` seconds, until `stop`; a database or Redis away for a while is
    logged and tried again at the next sweep."""
    while not stop.is_set():
        try:
            with app.app_context():
                quietly(dispatch.sweep)
        except Exception:
            log.exception("outbox sweep failed; trying again in %.0f s", interval)
        stop.wait(interval)


def main(argv: list[str]) -> int:
    for signum in _STOPS:
        signal.signal(signum, ask_to_stop)
    os.register_at_fork(before=_quiet.acquire, after_in_parent=_quiet.release, after_in_child=_quiet.release)
    os.register_at_fork(before=_hold_stops_over_fork, after_in_parent=_release_stops,
                        after_in_child=_default_signals_in_child)
    app = create_app()
    redis_url = app.config.get("REDIS_URL")
    if not redis_url:
        print("REDIS_URL is not set: jobs run inside the web process, no worker is needed.", file=sys.stderr)
        return 2
    burst = "--burst" in argv
    queue_names = [app.config["RQ_QUEUE"]]
    with app.app_context():
        engine = db.engine
    engine.dispose()
    # A work horse is forked from this process: it must not share the sweep's database connections.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    stop = threading.Event()
    if burst:
        with app.app_context():
            dispatch.sweep()
    else:
        threading.Thread(target=sweep_forever, args=(app, app.config["OUTBOX_SWEEP_SECONDS"], stop),
                         name="outbox-sweep", daemon=True).start()
        start_for_worker(app, Redis.from_url(redis_url), guard=quietly)  # attendees' answers, every IMAP_POLL_SECONDS
    try:
        while not StoppableWorker.stop_asked.is_set():
            try:
                connection = Redis.from_url(redis_url)
                released = release_dead_scheduler_locks(connection, queue_names)
                if released:
                    print(f"released the scheduler lock of a dead worker for {', '.join(released)}", flush=True)
                requeued = requeue_jobs_of_dead_workers(connection, queue_names)
                if requeued:
                    print(f"requeued {len(requeued)} job(s) of a dead worker: {', '.join(requeued)}", flush=True)
                with app.app_context():
                    worker = StoppableWorker(queue_names, connection=connection)
                    worker.work(with_scheduler=True, burst=burst)
            except StopRequested:  # a stop that reached RQ's handler after its loop had ended
                pass
            except (RedisConnectionError, RedisTimeoutError) as error:
                print(f"Redis is unreachable ({error}); trying again in 2 s", file=sys.stderr, flush=True)
            # RQ's handlers are gone with its worker: a stop asked for from here on is ours to honour.
            for signum in _STOPS:
                signal.signal(signum, ask_to_stop)
            if burst or StoppableWorker.stop_asked.is_set():
                return 0
            # The worker quit on a lost connection: start a new one once Redis answers.
            StoppableWorker.stop_asked.wait(2)
        return 0
    finally:
        stop.set()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
