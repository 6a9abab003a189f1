"""Polling for attendees' answers every IMAP_POLL_SECONDS: the mailbox (with IMAP_HOST set) and Google
Calendar (when configured).

In the embedded default (no REDIS_URL) a daemon thread of the web process reads them itself, started by
`create_app` in a serving process (not for `flask db upgrade` and other commands). Under `worker.py` a
thread of each worker puts the reading jobs on the queue; a short Redis key lets only one worker do so
per period, however many run.
"""

from __future__ import annotations

import logging
import threading

import click

from eventhub.extensions import jobs
from eventhub.jobs.rsvp import read_google_responses, read_mailbox
from eventhub.queue import JobPolicy

log = logging.getLogger(__name__)

# A poll that has not finished by the next one is not worth retrying: the next poll reads the same mail.
POLL_POLICY = JobPolicy(timeout=300, retry_intervals=(), result_ttl=600)
_LOCK_KEY = "eventhub:responses-poll"


def polling_wanted(settings: dict) -> bool:
    """Whether there is anything to read answers from."""
    return bool(settings.get("IMAP_HOST") or _google_configured(settings))


def _google_configured(settings: dict) -> bool:
    return bool(settings.get("GOOGLE_SERVICE_ACCOUNT_FILE") and settings.get("GOOGLE_CALENDAR_ID"))


def read_answers_now(app) -> None:
    """One poll in this process: the mailbox, then Google; a failure of one is logged and the other still runs."""
    for step in (read_mailbox, read_google_responses):
        with app.app_context():
            try:
                step()
            except Exception:
                log.exception("reading attendees' answers (%s) failed; the next poll tries again", step.__name__)


def queue_answer_reading(app, connection) -> bool:
    """Put the reading jobs on the queue, unless another worker did so this period; True if queued here."""
    period = int(app.config["IMAP_POLL_SECONDS"])
    if not connection.set(_LOCK_KEY, b"1", nx=True, ex=max(period - 1, 1)):
        return False
    with app.app_context():
        if app.config.get("IMAP_HOST"):
            jobs.enqueue(read_mailbox, policy=POLL_POLICY, description="read attendees' answers from the mailbox")
        if _google_configured(app.config):
            jobs.enqueue(read_google_responses, policy=POLL_POLICY,
                         description="read attendees' answers from Google")
    return True


class AnswerPoller(threading.Thread):
    """Calls `tick()` now and then every `interval` seconds until `stop()`."""

    def __init__(self, tick, interval: float):
        super().__init__(name="eventhub-answer-poller", daemon=True)
        self.tick, self.interval = tick, interval
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("polling for attendees' answers failed; trying again in %s s", self.interval)
            self._stopped.wait(self.interval)

    def stop(self) -> None:
        self._stopped.set()


def start_in_process(app) -> AnswerPoller | None:
    """The embedded default's poller (from `create_app`): only with something to read, never under TESTING."""
    if app.config.get("TESTING") or app.config.get("REDIS_URL") or not polling_wanted(app.config):
        return None
    command = click.get_current_context(silent=True)
    if command is not None and command.command.name != "run":
        return None  # `flask db upgrade`, `flask organizer ...`: a command, not a serving process
    poller = AnswerPoller(lambda: read_answers_now(app), app.config["IMAP_POLL_SECONDS"])
    poller.start()
    return poller


def start_for_worker(app, connection, guard=lambda work, *args: work(*args)) -> AnswerPoller | None:
    """The worker's poller (from `worker.py`): queues the reading jobs every IMAP_POLL_SECONDS, each round run
    through `guard` (the worker's: no fork in the middle of one)."""
    if not polling_wanted(app.config):
        return None
    poller = AnswerPoller(lambda: guard(queue_answer_reading, app, connection), app.config["IMAP_POLL_SECONDS"])
    poller.start()
    return poller
