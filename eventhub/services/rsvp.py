"""Attendees' answers coming back: read from the organizer's mailbox (iMIP) and from Google Calendar, and
applied as RFC 5546 section 3.2.3 says.

An answer is matched by the event's UID and the answering ATTENDEE, and applied only when the email's
sender is that attendee and it answers the invitation the attendee now holds (an answer to an older
SEQUENCE no longer counts). A REFRESH is answered with the current invitation; a COUNTER's proposed time
is kept for the organizer to accept in one click. Each message is handled once, by Message-ID, in the
same transaction as what it changes; mail that holds no answer, or cannot be read, is left in the
mailbox, logged, and never stops the rest.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from eventhub.domain import zones
from eventhub.domain.calendar import rule_instances
from eventhub.domain.errors import InvalidField
from eventhub.domain.events import apply_event_changes
from eventhub.domain.itip_replies import Answer, MailAnswers, message_key, read_answers
from eventhub.domain.statuses import EventStatus
from eventhub.extensions import db
from eventhub.gateways.imap import ImapMailbox
from eventhub.gateways.mail import mail_gateway
from eventhub.models import Attendee, AttendeeResponse, Event, HandledMail, is_public_id, utcnow
from eventhub.services import events as event_service
from eventhub.services import google_sync
from eventhub.services.attendees import active_list
from eventhub.services.delivery import Recipient
from eventhub.services.invites import InviteWriter, calendar_event
from eventhub.services.responses import standing_sequence

log = logging.getLogger(__name__)
# Log lines name the town hall, never the attendee: their timestamps would say when someone answered.

# Outcomes of a message; all but "ignored" (no answer of ours, or unreadable) are flagged in the mailbox.
APPLIED, REFUSED, OUTDATED, IGNORED = "applied", "refused", "outdated", "ignored"
_RANK = {APPLIED: 3, OUTDATED: 2, REFUSED: 1, IGNORED: 0}
_BATCH = 50  # messages fetched, and flagged, per IMAP round trip
_GOOGLE_STATUSES = {"accepted": "accepted", "declined": "declined", "tentative": "tentative"}


def poll_mailbox(mailbox: ImapMailbox | None = None) -> dict[str, int]:
    """Read every unhandled message of the mailbox once; return how many ended how. Does nothing when no
    mailbox is configured. An unreachable mailbox raises `MailboxError` (the next poll tries again)."""
    mailbox = mailbox or ImapMailbox.from_settings(current_app.config)
    tally = {APPLIED: 0, REFUSED: 0, OUTDATED: 0, IGNORED: 0}
    if mailbox is None:
        return tally
    with mailbox.session() as box:
        waiting = box.unhandled()
        uids = sorted(waiting)
        for first in range(0, len(uids), _BATCH):
            done = []
            unknown = [uid for uid in uids[first:first + _BATCH] if not _known(waiting[uid], done, uid)]
            for uid, raw in box.raw_messages(unknown).items():
                outcome = _handle_raw(uid, raw)
                if outcome is None:
                    continue
                tally[outcome[0]] += outcome[1]
                if outcome[0] != IGNORED:
                    done.append(uid)
            # Flagged once the batch is stored: a poll cut short re-flags from `handled_mail` next time.
            box.mark_handled(done)
    return tally


def _known(header: bytes, done: list[int], uid: int) -> bool:
    """Whether the message with this Message-ID header was read before. One that was handled then is
    flagged again (its flag was lost, or the mail was copied back); one left alone stays as it is."""
    if not header:
        return False
    known = db.session.get(HandledMail, _storage_key(message_key(b"Message-ID: " + header + b"\r\n\r\n")))
    if known is None:
        return False
    if known.outcome != IGNORED:
        done.append(uid)
    return True


def _handle_raw(uid: int, raw: bytes) -> tuple[str, int] | None:
    try:
        outcome, first_time = _handle(raw)
    except Exception:  # one bad message never stops the rest; it is tried again on the next poll
        db.session.rollback()
        log.exception("mailbox message %s could not be handled; left for the next poll", uid)
        return None
    return outcome, 1 if first_time else 0


def handle_message(raw: bytes) -> str:
    """Apply the answers one email holds, once per Message-ID; return the outcome (applied, refused,
    outdated or ignored; for a message handled before, the outcome it had then)."""
    return _handle(raw)[0]


def _handle(raw: bytes) -> tuple[str, bool]:
    reading = read_answers(raw)
    key = _storage_key(reading.message_key)
    known = db.session.get(HandledMail, key)
    if known is not None:
        return known.outcome, False
    if not isinstance(reading, MailAnswers):
        log.info("mailbox: left alone a message that %s", reading.reason)
        outcome = IGNORED
    else:
        outcome = max((apply_answer(reading.sender, answer) for answer in reading.answers), key=_RANK.get)
    db.session.add(HandledMail(message_key=key, outcome=outcome))
    try:
        db.session.commit()
    except IntegrityError:  # another poller handled the same message at the same moment
        db.session.rollback()
        return db.session.get(HandledMail, key).outcome, False
    return outcome, True


def apply_answer(sender: str, answer: Answer) -> str:
    """Apply one answer (not committed). REFRESH sends the current invitation before anything is stored."""
    event = _event_for_uid(answer.uid)
    if event is None:
        log.info("mailbox: an answer for a calendar object that is not ours (%s)", answer.uid[:80])
        return IGNORED
    # Calendar programs change the case of addresses (Outlook writes MAILTO:ANA@EXAMPLE.COM).
    attendee = db.session.scalars(select(Attendee).where(
        Attendee.event_id == event.id, func.lower(Attendee.email) == answer.attendee).order_by(Attendee.id)).first()
    if attendee is None:
        log.warning("event %s: an answer from someone not invited; refused", event.id)
        return REFUSED
    if sender != attendee.email.lower():
        log.warning("event %s: an answer for an attendee sent from another address; refused", event.id)
        return REFUSED
    if answer.method == "REFRESH":
        _send_current_invitation(event, attendee)
        return APPLIED
    standing = standing_sequence(event, attendee)
    if event.status == EventStatus.CANCELLED or attendee.removed or answer.sequence < standing:
        log.info("event %s: an answer to SEQUENCE %d, the standing one is %d; not counted",
                 event.id, answer.sequence, standing)
        return OUTDATED
    occurrence = ""
    if answer.recurrence_id is not None:
        occurrence = _occurrence_key(event, answer.recurrence_id)
        if occurrence is None:
            log.warning("event %s: an answer for an occurrence the series does not have; refused", event.id)
            return REFUSED
    row = db.session.scalar(select(AttendeeResponse).where(AttendeeResponse.attendee_id == attendee.id,
                                                           AttendeeResponse.occurrence == occurrence))
    if row is None:
        row = AttendeeResponse(event_id=event.id, attendee_id=attendee.id, occurrence=occurrence,
                               response="needs-action", sequence=answer.sequence)
        db.session.add(row)
    elif row.sequence < standing:  # what it held answered an earlier version
        row.response, row.proposed_start, row.proposed_end = "needs-action", None, None
    row.sequence, row.source = answer.sequence, "email"
    if answer.response is not None:
        row.response = answer.response
    if answer.method == "COUNTER":
        row.proposed_start = answer.proposed_start
        row.proposed_end = answer.proposed_end
    elif not occurrence:
        # An answer for the whole series restates it for every occurrence.
        db.session.execute(delete(AttendeeResponse).where(AttendeeResponse.attendee_id == attendee.id,
                                                          AttendeeResponse.occurrence != ""))
    return APPLIED


def merge_google_responses(google=None) -> int:
    """Read attendees' responseStatus back from Google Calendar for every town hall not yet over, and
    record the answers; return how many changed. An answer read from the invitation email decides over
    Google's as long as it stands. Does nothing without Google configured."""
    google = google or google_sync.gateway()
    if google is None:
        return 0
    changed = 0
    horizon = utcnow() - timedelta(days=1)
    for event in db.session.scalars(select(Event).where(Event.status == EventStatus.SCHEDULED)):
        if event.end < horizon:
            continue
        attendees = {a.email.lower(): a for a in active_list(event.id)}
        for email, status in google.attendee_responses(event.id):
            attendee, response = attendees.get(email.lower()), _GOOGLE_STATUSES.get(status)
            if attendee is None or response is None:
                continue
            standing = standing_sequence(event, attendee)
            row = db.session.scalar(select(AttendeeResponse).where(AttendeeResponse.attendee_id == attendee.id,
                                                                   AttendeeResponse.occurrence == ""))
            if row is not None and row.sequence >= standing and (row.source == "email" or row.response == response):
                continue
            if row is None:
                row = AttendeeResponse(event_id=event.id, attendee_id=attendee.id, occurrence="")
                db.session.add(row)
            row.response, row.sequence, row.source = response, standing, "google"
            row.proposed_start = row.proposed_end = None
            changed += 1
        db.session.commit()
    return changed


def accept_proposal(event: Event, proposal_id: str) -> None:
    """Move the town hall (or the one occurrence) to the time an attendee proposed; every invite goes out
    again with a higher SEQUENCE. Raises InvalidField when the proposal no longer stands or cannot be met."""
    row = db.session.get(AttendeeResponse, proposal_id) if is_public_id(proposal_id) else None
    attendee = db.session.get(Attendee, row.attendee_id) if row is not None else None
    if (row is None or row.event_id != event.id or row.proposed_start is None or attendee is None
            or row.sequence < standing_sequence(event, attendee)):
        raise InvalidField("proposal", "this proposed time no longer stands")
    if event.status == EventStatus.CANCELLED:
        raise InvalidField("proposal", "the town hall is cancelled")
    starts = [o.start for o in event.occurrences]
    payload: dict = {}
    if row.occurrence:
        index = _occurrence_index(event, row.occurrence)
        if index is None:
            raise InvalidField("proposal", "the series no longer has that occurrence")
        starts[index] = row.proposed_start
        if len(set(starts)) != len(starts):
            raise InvalidField("proposal", "another occurrence is already at that time")
        starts.sort()
    else:
        shift = row.proposed_start - starts[0]
        starts = [start + shift for start in starts]
        if row.proposed_end is not None:
            payload["duration_minutes"] = int((row.proposed_end - row.proposed_start).total_seconds() // 60)
    if len(starts) == 1:
        payload["start"] = zones.format_utc(starts[0])
    else:
        payload |= {"occurrences": [zones.format_utc(start) for start in starts], "every": event.every}
    now = utcnow()
    changed = apply_event_changes(event_service.draft_of(event), payload, now=now)
    if event.questions_close <= now:  # a closed question window stays closed
        changed = replace(changed, questions_close=event.questions_close)
    event_service.update_event(event, changed, attendees_given=False)


def _send_current_invitation(event: Event, attendee: Attendee) -> None:
    """The attendee's current invitation (or their cancellation), to them alone (RFC 5546 section 3.2.6)."""
    organizer = event.organizer
    kind = "cancel" if event.status == EventStatus.CANCELLED or attendee.removed else "request"
    sequence = standing_sequence(event, attendee) + (1 if kind == "cancel" and attendee.removed else 0)
    message = InviteWriter(event, organizer).message(attendee, Recipient(attendee.id, attendee.email, kind, sequence))
    with mail_gateway().session() as sender:
        sender.send(message, [attendee.email])
    log.info("event %s: sent the current %s after a REFRESH", event.id, kind)


def _event_for_uid(uid: str) -> Event | None:
    event_id, at, _domain = uid.partition("@")
    if not at or not is_public_id(event_id):
        return None
    event = db.session.get(Event, event_id)
    if event is None or calendar_event_uid(event) != uid:
        return None
    return event


def calendar_event_uid(event: Event) -> str:
    return calendar_event(event, event.organizer).uid


def _occurrence_key(event: Event, recurrence_id: datetime) -> str | None:
    """Our key of the occurrence a RECURRENCE-ID names: the rule instance's original start, UTC ISO."""
    instances = _rule_instances(event)
    return zones.format_utc(recurrence_id) if recurrence_id.astimezone(UTC) in instances else None


def _occurrence_index(event: Event, key: str) -> int | None:
    instances = [zones.format_utc(instant) for instant in _rule_instances(event)]
    return instances.index(key) if key in instances else None


def _rule_instances(event: Event) -> tuple[datetime, ...]:
    return rule_instances(calendar_event(event, event.organizer))


def _storage_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", errors="replace")).hexdigest()
