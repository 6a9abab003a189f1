"""Sending one message to each of many attendees, exactly once, whatever fails on the way.

Each message is recorded (`deliveries`) the moment the server accepts it, so a retried or restarted job
skips everyone already served and at most the one message in flight can go twice. A recipient the
server refuses for good is recorded as failed and never retried; one refused for now is retried by
the next run of the job, which is raised for RQ to schedule on its backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from flask import current_app
from redis.exceptions import LockNotOwnedError
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from eventhub.extensions import db, jobs
from eventhub.gateways.mail import MailError, MessageForMany, RecipientRefused, mail_gateway
from eventhub.models import Delivery, utcnow
from eventhub.queue import report_progress

log = logging.getLogger(__name__)

BATCH_SIZE = 200

# Recording an outcome: Core statements on the table, built once, with the values bound at each execution
# (building a statement per message costs more than running it).
_deliveries = Delivery.__table__
_RECORD_AGAIN = (
    update(_deliveries)
    .where(_deliveries.c.attendee_id == bindparam("of_attendee"), _deliveries.c.kind == bindparam("of_kind"),
           _deliveries.c.sequence == bindparam("of_sequence"))
    .values(attempts=_deliveries.c.attempts + 1, status=bindparam("status"), error=bindparam("error"),
            at=bindparam("at"))
)
_RECORD_FIRST = insert(_deliveries)


@dataclass(frozen=True)
class Recipient:
    attendee_id: str
    email: str
    kind: str  # request | cancel | summary | reminder
    sequence: int


class DeliveriesDeferred(Exception):
    """Some recipients were refused for now; the job is raised so RQ retries them later."""


class FanOutBusy(Exception):
    """Another worker is sending these messages right now; this run is retried later."""


@dataclass
class FanOutResult:
    sent: int = 0
    failed: int = 0
    deferred: int = 0


def fan_out(event_id: str, purpose: str, pending: Callable[[], tuple[list[Recipient], int]],
            build: Callable[[Recipient], EmailMessage | MessageForMany]) -> FanOutResult:
    """Send `build(r)` to every recipient `pending()` names, in batches over one SMTP connection, recording
    each delivery. `build` returns the recipient's own message, or a `MessageForMany` they get a copy of.

    `pending()` (who is still to be served, and how many already were) is asked only once this run holds
    the lease of the mailing (`purpose` of this event): a second run of the same mailing, from a doubled
    enqueue or a requeue after a crash, waits and then finds nothing left, rather than sending again.
    """
    result = FanOutResult()
    with _lease(f"eventhub:fan-out:{event_id}:{purpose}") as lease:
        recipients, already_done = pending()
        total = already_done + len(recipients)
        report_progress(already_done, total, failed=0)
        if not recipients:
            return result
        with mail_gateway().session() as sender:
            for start in range(0, len(recipients), BATCH_SIZE):
                for recipient in recipients[start:start + BATCH_SIZE]:
                    lease.keep()
                    _send_one(sender, recipient, build(recipient), event_id, result)
                report_progress(already_done + result.sent + result.failed, total, failed=result.failed)
    log.info("event %s: %d %s messages sent, %d failed, %d deferred", event_id, result.sent, purpose,
             result.failed, result.deferred)
    if result.deferred:
        raise DeliveriesDeferred(f"{result.deferred} recipients refused for now; retrying later")
    return result


def pending_once(event_id: str, kind: str, attendees: list[tuple[str, str]]) -> tuple[list[Recipient], int]:
    """For a mailing each attendee gets once (summary, reminder): who of `attendees` (id, email) has no
    final delivery of `kind` yet, and how many have."""
    served = set(db.session.scalars(select(Delivery.attendee_id).where(
        Delivery.event_id == event_id, Delivery.kind == kind, Delivery.status.in_(("sent", "failed")))))
    todo = [Recipient(attendee_id, email, kind, 0) for attendee_id, email in attendees if attendee_id not in served]
    return todo, len(attendees) - len(todo)


def _send_one(sender, recipient: Recipient, message: EmailMessage | MessageForMany, event_id: str,
              result: FanOutResult) -> None:
    try:
        if isinstance(message, MessageForMany):
            sender.send_copy(message, recipient.email)
        else:
            sender.send(message, [recipient.email])
    except RecipientRefused as refusal:
        status = "failed" if refusal.permanent else "deferred"
        _record(event_id, recipient, status, str(refusal))
        if refusal.permanent:
            result.failed += 1
        else:
            result.deferred += 1
        return
    except MailError:
        raise  # the connection is gone: the job is retried and resumes after the last recorded message
    _record(event_id, recipient, "sent", None)
    result.sent += 1


def _record(event_id: str, recipient: Recipient, status: str, error: str | None) -> None:
    """Write the outcome at once: the record is what makes a retry skip this recipient."""
    values = {"status": status, "error": error, "at": utcnow()}
    changed = db.session.execute(_RECORD_AGAIN, {
        "of_attendee": recipient.attendee_id, "of_kind": recipient.kind, "of_sequence": recipient.sequence,
        **values}).rowcount
    try:
        if not changed:
            db.session.execute(_RECORD_FIRST, {
                "event_id": event_id, "attendee_id": recipient.attendee_id, "kind": recipient.kind,
                "sequence": recipient.sequence, "attempts": 1, **values})
        db.session.commit()
    except IntegrityError:  # recorded meanwhile by another run: theirs stands
        db.session.rollback()


class _lease:
    """A short Redis lock the running fan-out renews, so two workers never send the same messages,
    and a crashed worker's lock lapses within seconds. In-process jobs run one at a time anyway."""

    def __init__(self, name: str):
        self.seconds = current_app.config["FAN_OUT_LEASE_SECONDS"]
        self.lock = jobs.connection.lock(name, timeout=self.seconds) if jobs.uses_redis else None
        self.renewed = time.monotonic()

    def __enter__(self):
        # A crashed worker's lease lapses within its term: wait that long before calling it busy.
        if self.lock is not None and not self.lock.acquire(blocking=True, blocking_timeout=self.seconds + 5):
            raise FanOutBusy("another worker is sending these messages")
        self.renewed = time.monotonic()
        return self

    def keep(self) -> None:
        """Renew the lease before each send (a cheap Redis call), so it lapses only if one send outlasts its
        whole term; a lease lost meanwhile stops this run before it sends anything more."""
        if self.lock is None:
            return
        try:
            self.lock.reacquire()
        except LockNotOwnedError:
            raise FanOutBusy("the fan-out lease lapsed; another worker may have taken over") from None
        self.renewed = time.monotonic()

    def __exit__(self, *exc_info):
        if self.lock is not None:
            try:
                self.lock.release()
            except Exception:  # lapsed meanwhile: nothing to release
                log.warning("fan-out lease had lapsed before release")
        return False

