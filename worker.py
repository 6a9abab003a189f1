"""An RQ worker with the scheduler, for the queue on `REDIS_URL`: `python worker.py`.

The app is created once here; each job runs inside its app context (the forked work horse inherits it).
"""

from __future__ import annotations

import os
import socket
import sys

from redis import Redis
from rq import Queue, Worker
from rq.registry import StartedJobRegistry
from rq.scheduler import RQScheduler

from eventhub import create_app
from eventhub.extensions import db
from eventhub.response_polling import start_for_worker


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
        if not info or (hostname == socket.gethostname() and not _process_alive(pid)):
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
            if job is None or _worker_alive(connection, job.worker_name):
                continue
            registry.remove_executions(job)
            queue.enqueue_job(job, at_front=True)
            requeued.append(job.id)
    return requeued


def _worker_alive(connection: Redis, worker_name: str | None) -> bool:
    """Whether the worker still runs; a worker on another host is assumed alive (RQ handles it)."""
    if not worker_name:
        return False
    info = connection.hgetall(f"{Worker.redis_worker_namespace_prefix}{worker_name}")
    if not info:
        return False
    if info.get(b"hostname", b"").decode() != socket.gethostname():
        return True
    return _process_alive(int(info.get(b"pid", b"0") or 0))


def _process_alive(pid: int) -> bool:
    """Whether `pid` runs here; a zombie (killed, not yet reaped, as under a container's PID 1) is dead."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return True


def main(argv: list[str]) -> int:
    app = create_app()
    redis_url = app.config.get("REDIS_URL")
    if not redis_url:
        print("REDIS_URL is not set: jobs run inside the web process, no worker is needed.", file=sys.stderr)
        return 2
    burst = "--burst" in argv
    connection = Redis.from_url(redis_url)
    queue_names = [app.config["RQ_QUEUE"]]
    released = release_dead_scheduler_locks(connection, queue_names)
    if released:
        print(f"released the scheduler lock of a dead worker for {', '.join(released)}")
    requeued = requeue_jobs_of_dead_workers(connection, queue_names)
    if requeued:
        print(f"requeued {len(requeued)} job(s) of a dead worker: {', '.join(requeued)}")
    if not burst:
        start_for_worker(app, connection)  # attendees' answers: mailbox and Google, every IMAP_POLL_SECONDS
    with app.app_context():
        db.engine.dispose()  # no connection opened here is shared with the forked work horses
        worker = Worker(queue_names, connection=connection)
        worker.work(with_scheduler=True, burst=burst)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
