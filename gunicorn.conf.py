"""gunicorn reads this file from the working folder: `make run` and `gunicorn -w N wsgi:app` alike."""


def post_worker_init(worker):
    """The embedded default (no REDIS_URL) runs the outbox in the web process: start its sweep now, so a
    mailing cut off by a restart resumes without waiting for a first request. With Redis, `worker.py` does."""
    from eventhub.jobs.dispatch import start_in_process_sweeper

    start_in_process_sweeper(worker.wsgi)
