"""Sending one message to each of many attendees, exactly once, whatever fails on the way.

Each message is recorded (`deliveries`) the moment the server accepts it, so a retried or restarted job
skips everyone already served and at most the one message in flight can go twice. The records of a batch
are written before it is sent, in one transaction, as 'sending' (not yet delivered, as a record that is
missing); each accepted message then costs one short update to 'sent'. A recipient the server refuses for
good is recorded as failed and never retried; one refused for now is retried by the next run of the job,
which is raised for RQ to schedule on its backoff.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage

from flask import current_app
from redis.exceptions import LockError
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from eventhub.domain.statuses import FINAL_DELIVERY, DeliveryStatus
from eventhub.extensions import db, jobs, shared
from eventhub.gateways.mail import MailError, MessageForMany, PreparedCopy, RecipientRefused, mail_gateway
from eventhub.gateways.processes import holder_alive
from eventhub.models import Delivery, utcnow
from eventhub.queue import keep_within_time
from eventhub.services.outbox import current_shard, may_split, record_progress, split_running_task

log = logging.getLogger(__name__)

BATCH_SIZE = 200
LEASE_PREFIX = "eventhub:fan-out:"  # then "<event id>:<purpose>", and ":<slice>/<count>" for a shard's

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
# A batch's records marked 'sending' before it goes; a record of an accepted message is never turned back.
_MARK_SENDING = _RECORD_AGAIN.where(_deliveries.c.status != DeliveryStatus.SENT)
_RECORD_OUTCOME = (
    update(_deliveries)
    .where(_deliveries.c.attendee_id == bindparam("of_attendee"), _deliveries.c.kind == bindparam("of_kind"),
           _deliveries.c.sequence == bindparam("of_sequence"))
    .values(status=bindparam("status"), error=bindparam("error"), at=bindparam("at"))
)


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
    sharded: bool = False  # cut into shard jobs, which do the sending


def fan_out(event_id: str, purpose: str, pending: Callable[[], tuple[list[Recipient], int]],
            build: Callable[[Recipient], EmailMessage | MessageForMany | PreparedCopy],
            prepare: Callable[[list[Recipient]], None] | None = None) -> FanOutResult:
    """Send `build(r)` to every recipient `pending()` names, in batches over one SMTP connection (or
    `SMTP_CONNECTIONS` at once), recording each delivery. `build` returns the recipient's own message (whole,
    or already serialized), or a `MessageForMany` they get a copy of; `prepare(batch)`, when given, is called
    before each batch is built (to load what building its messages needs, one batch at a time).

    `pending()` (who is still to be served, and how many already were) is asked only once this run holds
    the lease of the mailing (`purpose` of this event): a second run of the same mailing, from a doubled
    enqueue or a requeue after a crash, waits and then finds nothing left, rather than sending again.
    """
    result = FanOutResult()
    shard = current_shard()
    lease_name = f"{LEASE_PREFIX}{event_id}:{purpose}" + (f":{shard.index}/{shard.count}" if shard else "")
    if shard is None and may_split() and jobs.uses_redis:
        return _split(pending, result)
    with _lease(lease_name) as lease:
        recipients, already_done = pending()
        if shard is not None:
            recipients, already_done = [r for r in recipients if shard.holds(r.attendee_id)], 0
        total = already_done + len(recipients)
        record_progress(already_done, total, failed=0)
        if not recipients:
            return result

        def record(recipient: Recipient, refusal: RecipientRefused | None) -> None:
            _record_outcome(event_id, recipient, refusal, result)

        gateway = mail_gateway()
        connections = current_app.config["SMTP_CONNECTIONS"] if gateway.uses_smtp else 1
        with contextlib.ExitStack() as stack:
            senders = [stack.enter_context(gateway.session()) for _ in range(min(connections, len(recipients)))]
            pool = stack.enter_context(_SenderPool(senders)) if len(senders) > 1 else None
            for start in range(0, len(recipients), BATCH_SIZE):
                batch = recipients[start:start + BATCH_SIZE]
                if prepare is not None:
                    prepare(batch)
                _mark_sending(event_id, batch)
                if pool is None:
                    for recipient in batch:
                        lease.keep()
                        keep_within_time()
                        record(recipient, _attempt(senders[0], recipient, build(recipient)))
                else:
                    keep_within_time()  # between batches: every message of a batch sent is recorded
                    pool.send_batch(batch, build, lease, record)
                record_progress(already_done + result.sent + result.failed, total, failed=result.failed)
    log.info("event %s: %d %s messages sent, %d failed, %d deferred%s", event_id, result.sent, purpose,
             result.failed, result.deferred, f" (shard {shard.index} of {shard.count})" if shard else "")
    if result.deferred:
        raise DeliveriesDeferred(f"{result.deferred} recipients refused for now; retrying later")
    return result


def _split(pending: Callable[[], tuple[list[Recipient], int]], result: FanOutResult) -> FanOutResult:
    """Cut the running mailing into shard jobs, one per slice that has recipients. The slices are the same
    for every run of the mailing (by attendee id), so two runs' shards of a slice share one lease."""
    recipients, already_done = pending()
    count = current_app.config["MAILING_SHARDS"]
    slices = sorted({int(r.attendee_id[:8], 16) % count for r in recipients})
    split_running_task(slices, already_done, already_done + len(recipients))
    result.sharded = True
    return result


def pending_once(event_id: str, kind: str, attendees: list[tuple[str, str]]) -> tuple[list[Recipient], int]:
    """For a mailing each attendee gets once (summary, reminder): who of `attendees` (id, email) has no
    final delivery of `kind` yet, and how many have."""
    served = set(db.session.scalars(select(Delivery.attendee_id).where(
        Delivery.event_id == event_id, Delivery.kind == kind, Delivery.status.in_(FINAL_DELIVERY))))
    todo = [Recipient(attendee_id, email, kind, 0) for attendee_id, email in attendees if attendee_id not in served]
    return todo, len(attendees) - len(todo)


def _attempt(sender, recipient: Recipient, message) -> RecipientRefused | None:
    """Hand `message` to the server for `recipient`: None once accepted, the refusal if refused. A lost
    connection (`MailError`) is raised: the job is retried and resumes after the last recorded message."""
    try:
        if isinstance(message, PreparedCopy):
            sender.send_prepared(message, recipient.email)
        elif isinstance(message, MessageForMany):
            sender.send_copy(message, recipient.email)
        else:
            sender.send(message, [recipient.email])
    except RecipientRefused as refusal:
        return refusal
    return None


def _record_outcome(event_id: str, recipient: Recipient, refusal: RecipientRefused | None,
                    result: FanOutResult) -> None:
    if refusal is None:
        _record(event_id, recipient, DeliveryStatus.SENT, None)
        result.sent += 1
        return
    status = DeliveryStatus.FAILED if refusal.permanent else DeliveryStatus.DEFERRED
    _record(event_id, recipient, status, str(refusal))
    if refusal.permanent:
        result.failed += 1
    else:
        result.deferred += 1


class _SenderPool:
    """`SMTP_CONNECTIONS` connections sending a batch at once, one thread each. Messages are built and
    outcomes recorded here, in the job's own thread (the database session is not shared); a crash then
    leaves at most one message in flight per connection doubtful."""

    def __init__(self, senders: list):
        self.free: queue.SimpleQueue = queue.SimpleQueue()
        for sender in senders:
            self.free.put(sender)
        self.executor = ThreadPoolExecutor(len(senders), thread_name_prefix="eventhub-smtp")

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.executor.shutdown(wait=True)

    def _send(self, recipient: Recipient, message) -> RecipientRefused | None:
        sender = self.free.get()
        try:
            return _attempt(sender, recipient, message)
        finally:
            self.free.put(sender)

    def send_batch(self, batch: list[Recipient], build, lease, record) -> None:
        futures = [(recipient, self.executor.submit(self._send, recipient, build(recipient))) for recipient in batch]
        lost: MailError | None = None
        for recipient, future in futures:  # every outcome the server gave is recorded before a lost connection
            lease.keep()
            try:
                record(recipient, future.result())
            except MailError as error:
                lost = lost or error
        if lost is not None:
            raise lost


def _mark_sending(event_id: str, batch: list[Recipient]) -> None:
    """Record the batch as 'sending' in one transaction: each record then exists before its message goes,
    and the outcome is one update. 'sending' is not final, so a crash leaves the batch's unsent messages
    (and the one in flight, whose fate is unknown) to the next run, like messages never tried."""
    now = utcnow()
    keys = select(_deliveries.c.attendee_id, _deliveries.c.kind, _deliveries.c.sequence).where(
        _deliveries.c.event_id == event_id, _deliveries.c.attendee_id.in_([r.attendee_id for r in batch]))
    existing = {tuple(row) for row in db.session.execute(keys)}
    again = [r for r in batch if (r.attendee_id, r.kind, r.sequence) in existing]
    first = [r for r in batch if (r.attendee_id, r.kind, r.sequence) not in existing]
    try:
        if again:
            db.session.execute(_MARK_SENDING, [
                {"of_attendee": r.attendee_id, "of_kind": r.kind, "of_sequence": r.sequence,
                 "status": DeliveryStatus.SENDING, "error": None, "at": now} for r in again])
        if first:
            db.session.execute(_RECORD_FIRST, [
                {"event_id": event_id, "attendee_id": r.attendee_id, "kind": r.kind, "sequence": r.sequence,
                 "attempts": 1, "status": DeliveryStatus.SENDING, "error": None, "at": now} for r in first])
        db.session.commit()
    except IntegrityError:  # recorded meanwhile by another run: each outcome then finds its own record
        db.session.rollback()


def _record(event_id: str, recipient: Recipient, status: str, error: str | None) -> None:
    """Write the outcome at once: the record is what makes a retry skip this recipient."""
    values = {"status": status, "error": error, "at": utcnow()}
    key = {"of_attendee": recipient.attendee_id, "of_kind": recipient.kind, "of_sequence": recipient.sequence}
    changed = db.session.execute(_RECORD_OUTCOME, {**key, **values}).rowcount
    try:
        if not changed:  # no 'sending' record (its batch's was lost to a race): written whole
            db.session.execute(_RECORD_FIRST, {
                "event_id": event_id, "attendee_id": recipient.attendee_id, "kind": recipient.kind,
                "sequence": recipient.sequence, "attempts": 1, **values})
        db.session.commit()
    except IntegrityError:  # recorded meanwhile by another run: theirs stands
        db.session.rollback()


class _lease:
    """A short Redis lock the running fan-out renews before every message, so two workers never send the
    same messages. Its value names the holder (host and process): a holder known dead frees it at once,
    and one whose renewals stopped loses it within its term. In-process jobs run one at a time anyway."""

    WAIT_SECONDS = 2.0  # a live holder is left alone: the run is postponed, not blocked

    def __init__(self, name: str):
        self.name = name
        self.seconds = current_app.config["FAN_OUT_LEASE_SECONDS"]
        self.holder = f"{socket.gethostname()}|{os.getpid()}|{uuid.uuid4().hex}"
        redis = shared.connection
        self.lock = redis.lock(name, timeout=self.seconds) if redis is not None else None
        self.renewed = 0.0

    def __enter__(self):
        if self.lock is None:
            return self
        deadline = time.monotonic() + self.WAIT_SECONDS
        while not self.lock.acquire(blocking=False, token=self.holder):
            held_by = shared.connection.get(self.name)
            if held_by is not None and not _holder_lives(held_by.decode(errors="replace")):
                log.warning("fan-out lease %s held by a dead process (%s): taken over", self.name, held_by)
                _delete_if_equal(self.name, held_by)
                continue
            if time.monotonic() >= deadline:
                raise FanOutBusy("another worker is sending these messages")
            time.sleep(0.1)
        self.renewed = time.monotonic()
        return self

    def keep(self) -> None:
        """Called before each send: renews the lease once a tenth of its term has passed since the last
        renewal (a Redis call), and a lease lost meanwhile stops this run before it sends anything more.
        Sooner, the lease cannot have lapsed: its term runs from the last renewal."""
        if self.lock is None or time.monotonic() - self.renewed < self.seconds / 10:
            return
        try:
            self.lock.reacquire()
        except LockError:
            raise FanOutBusy("the fan-out lease lapsed; another worker may have taken over") from None
        self.renewed = time.monotonic()

    def __exit__(self, *exc_info):
        if self.lock is not None:
            try:
                self.lock.release()
            except LockError:  # lapsed meanwhile: nothing to release
                log.warning("fan-out lease had lapsed before release")
        return False


def _holder_lives(holder: str) -> bool:
    hostname, _, rest = holder.partition("|")
    pid = rest.partition("|")[0]
    return holder_alive(hostname, int(pid) if pid.isdigit() else 0)


_DELETE_IF_EQUAL = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def _delete_if_equal(name: str, value: bytes) -> None:
    shared.connection.eval(_DELETE_IF_EQUAL, 1, name, value)
