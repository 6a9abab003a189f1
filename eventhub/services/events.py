"""Town halls: create, change and cancel them, and keep every attendee's calendar in step through a job."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, insert, select

from eventhub.domain.errors import InvalidField
from eventhub.domain.events import AttendeeInput, EventDraft
from eventhub.domain.statuses import DeliveryStatus, EventStatus
from eventhub.extensions import db
from eventhub.models import (
    Attendee,
    Delivery,
    Event,
    EventGroup,
    Occurrence,
    Organizer,
    TaskKind,
    hash_token,
    is_public_id,
    new_id,
    utcnow,
)
from eventhub.services import attendees, outbox
from eventhub.services.responses import ResponseCounts, response_counts
from eventhub.services.timeline import arm_timed_tasks


def personal_token(attendee_id: str) -> str:
    """The attendee's question-link token: derived from the secret key, so the database never holds it."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, b"ask-link:" + attendee_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def personal_link(attendee_id: str) -> str:
    return f"{current_app.config['EVENTHUB_BASE_URL']}/ask/{personal_token(attendee_id)}"


def find_attendee_by_token(token: str) -> Attendee | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(Attendee).where(Attendee.token_hash == hash_token(token)))


def events_of(organizer: Organizer) -> list[Event]:
    return list(db.session.scalars(
        select(Event).where(Event.organizer_id == organizer.id).order_by(Event.created_at.desc())
    ))


def event_of(organizer: Organizer, event_id: str) -> Event | None:
    """The organizer's own event, or None (another organizer's event is as good as missing)."""
    event = db.session.get(Event, event_id) if is_public_id(event_id) else None
    return event if event is not None and event.organizer_id == organizer.id else None


def create_event(organizer: Organizer, draft: EventDraft) -> tuple[Event, str]:
    """Store a town hall with its invites and timed work in the outbox, in one transaction; return it
    with the id of the sending job."""
    event = Event(organizer_id=organizer.id, sequence=0, status=EventStatus.SCHEDULED)
    _apply_draft(event, draft)
    db.session.add(event)
    db.session.flush()
    _sync_attendees(event, draft.attendees)
    arm_timed_tasks(event)
    job_id = _arm_invites(event)
    db.session.commit()
    return event, job_id


def draft_of(event: Event) -> EventDraft:
    """The event as the domain sees it, for changes to be applied to."""
    return EventDraft(
        title=event.title, description=event.description, timezone=event.timezone,
        duration_minutes=event.duration_minutes, occurrences=tuple(o.start for o in event.occurrences),
        every=event.every, attendees=tuple(
            AttendeeInput(a.email, a.name, a.group, a.timezone) for a in attendees.active_list(event.id)
        ),
        questions_close=event.questions_close, moderation=event.moderation,
        groups=tuple((group.name, group.timezone) for group in event.groups),
    )


def update_event(event: Event, changed: EventDraft, attendees_given: bool) -> str | None:
    """Apply a change. A changed time or text re-sends every invite with a higher SEQUENCE; a removed
    attendee is sent a cancellation; a new one an invite. Returns the sending job's id, if any."""
    if event.status == EventStatus.CANCELLED:
        raise InvalidField("status", "the town hall is cancelled")
    before = draft_of(event)
    content_changed = _content(before) != _content(changed)
    window_moved = before.questions_close != changed.questions_close or before.start != changed.start
    _apply_draft(event, changed)
    if content_changed:
        event.sequence += 1
    touched = _sync_attendees(event, changed.attendees) if attendees_given else False
    if window_moved:
        arm_timed_tasks(event)
    job_id = _arm_invites(event) if content_changed or touched else None
    db.session.commit()
    return job_id


def cancel_event(event: Event) -> str:
    """Cancel the town hall (or the whole series) and send every attendee METHOD:CANCEL."""
    if event.status != EventStatus.CANCELLED:
        event.status = EventStatus.CANCELLED
        event.sequence += 1
    job_id = _arm_invites(event)
    db.session.commit()
    return job_id


def add_attendees(event: Event, additions: tuple[AttendeeInput, ...]) -> tuple[int, str | None]:
    """Add the attendees not on the list yet (and bring back removed ones) and invite only them: the invite
    task serves whoever has no message of the current version. Returns how many were added and the job."""
    if event.status == EventStatus.CANCELLED:
        raise InvalidField("status", "the town hall is cancelled")
    existing = {email: (attendee_id, removed) for attendee_id, email, removed in db.session.execute(
        select(Attendee.id, Attendee.email, Attendee.removed).where(Attendee.event_id == event.id))}
    rows, returning = [], []
    for item in additions:
        if item.email not in existing:
            attendee_id = new_id()
            rows.append({"id": attendee_id, "event_id": event.id, "email": item.email, "name": item.name,
                         "group": item.group, "timezone": item.timezone, "removed": False, "sequence_offset": 0,
                         "token_hash": hash_token(personal_token(attendee_id)), "created_at": utcnow()})
        elif existing[item.email][1]:
            returning.append(existing[item.email][0])
    if rows:
        db.session.execute(insert(Attendee), rows)  # one statement for the whole page, not one per row
    for attendee in (db.session.get(Attendee, attendee_id) for attendee_id in returning):
        _invite_again(event, attendee)
    added = len(rows) + len(returning)
    job_id = _arm_invites(event) if added else None
    db.session.commit()
    return added, job_id


def resend_invites(event: Event) -> str:
    """Send the current invitation (or cancellation) again to every attendee whose latest message was not
    delivered (refused, deferred or never sent), and to nobody else."""
    job_id = _arm_invites(event, retry_failed=True)
    db.session.commit()
    return job_id


@dataclass(frozen=True)
class DeliveryCounts:
    """How the messages of the current version stand for the current attendees."""

    sent: int
    failed: int
    pending: int


@dataclass(frozen=True)
class Standing:
    """What the organizer's views show of a town hall besides its own fields."""

    attendees: int
    invites: DeliveryCounts
    responses: ResponseCounts


def delivery_counts(event: Event, attendee_count: int | None = None) -> DeliveryCounts:
    """`attendee_count`: the current attendees, when the caller counted them already."""
    kind = "cancel" if event.status == EventStatus.CANCELLED else "request"
    rows = db.session.execute(
        select(Delivery.status, func.count()).join(Attendee, Attendee.id == Delivery.attendee_id).where(
            Delivery.event_id == event.id, Delivery.kind == kind, Attendee.removed.is_(False),
            Delivery.sequence == event.sequence + Attendee.sequence_offset,
        ).group_by(Delivery.status)
    ).all()
    counts = dict(rows)
    sent, failed = counts.get(DeliveryStatus.SENT, 0), counts.get(DeliveryStatus.FAILED, 0)
    if attendee_count is None:
        attendee_count = attendees.active_count(event.id)
    return DeliveryCounts(sent, failed, max(attendee_count - sent - failed, 0))


def standing(event: Event) -> Standing:
    count = attendees.active_count(event.id)
    return Standing(count, delivery_counts(event, count), response_counts(event))


def _content(draft: EventDraft) -> tuple:
    """What attendees' calendars show: a change here means a new SEQUENCE for everyone."""
    return (draft.title, draft.description, draft.timezone, draft.duration_minutes, draft.occurrences, draft.every)


def _apply_draft(event: Event, draft: EventDraft) -> None:
    event.title = draft.title
    event.description = draft.description
    event.timezone = draft.timezone
    event.duration_minutes = draft.duration_minutes
    event.every = draft.every
    event.questions_close = draft.questions_close
    event.moderation = draft.moderation
    if [o.start for o in event.occurrences] != list(draft.occurrences):
        event.occurrences = [Occurrence(start=start) for start in draft.occurrences]
    if [(g.name, g.timezone) for g in event.groups] != list(draft.groups):
        event.groups = [EventGroup(name=name, timezone=zone) for name, zone in draft.groups]


def _sync_attendees(event: Event, wanted: tuple[AttendeeInput, ...]) -> bool:
    """Make the attendee list match `wanted`; return whether anyone was added or removed."""
    existing = {a.email: a for a in db.session.scalars(select(Attendee).where(Attendee.event_id == event.id))}
    wanted_by_email = {a.email: a for a in wanted}
    touched = False
    for email, item in wanted_by_email.items():
        attendee = existing.get(email)
        if attendee is None:
            attendee = Attendee(id=new_id(), event_id=event.id, email=email)
            attendee.token_hash = hash_token(personal_token(attendee.id))
            db.session.add(attendee)
            touched = True
        elif attendee.removed:
            _invite_again(event, attendee)
            touched = True
        attendee.name, attendee.group, attendee.timezone = item.name, item.group, item.timezone
    for email, attendee in existing.items():
        if email not in wanted_by_email and not attendee.removed:
            attendee.removed = True
            touched = True
    return touched


def _invite_again(event: Event, attendee: Attendee) -> None:
    """An attendee removed earlier is back; the invite job gives them an invitation that outranks the
    cancellation they got (see `invites.invite_work`)."""
    attendee.removed = False


def _arm_invites(event: Event, retry_failed: bool = False) -> str:
    """Put "bring every calendar up to date" in the outbox, in the caller's transaction."""
    task = outbox.arm(TaskKind.INVITES, event.id, owner=event.organizer_id,
                      payload={"retry_failed": True} if retry_failed else None)
    event.last_job_id = task.id
    return task.id
