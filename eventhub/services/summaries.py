"""Follow-up summaries: a draft prepared when the town hall ends, edited by the organizer, then emailed to
every attendee exactly once by a fan-out job; unanswered questions carry over to the next town hall."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlsplit

from flask import current_app, render_template
from sqlalchemy import func, select, update

from eventhub.domain import zones
from eventhub.domain.questions import rounded_to_hour
from eventhub.domain.statuses import ON_THE_BOARD, DeliveryStatus, EventStatus, QuestionStatus, SummaryStatus
from eventhub.domain.summaries import SummaryContent, SummaryQuestion, order_questions
from eventhub.extensions import db
from eventhub.gateways.mail import MessageForMany, new_message
from eventhub.models import Attendee, Delivery, Event, Question, Summary, TaskKind, is_public_id, utcnow
from eventhub.services import attendees, outbox
from eventhub.services.delivery import Recipient, fan_out, pending_once
from eventhub.services.questions import vote_counts

log = logging.getLogger(__name__)


class SummaryAlreadySent(Exception):
    """The summary went (or is going) out, or the town hall is cancelled: every attendee gets it once (409)."""


def summary_of(event: Event) -> Summary:
    """The event's summary, made as an empty draft if it has none yet."""
    summary = db.session.get(Summary, event.id)
    if summary is None:
        summary = Summary(event_id=event.id, notes="", action_items=[], status=SummaryStatus.DRAFT,
                          prepared_at=utcnow())
        db.session.add(summary)
        db.session.commit()
    return summary


def _current(event: Event) -> Summary:
    """The summary if there is one, else a blank draft that is not stored (reading makes nothing)."""
    return db.session.get(Summary, event.id) or Summary(event_id=event.id, notes="", action_items=[],
                                                         status=SummaryStatus.DRAFT)


def prepare_draft(event_id: str) -> None:
    event = db.session.get(Event, event_id)
    if event is not None and event.status != EventStatus.CANCELLED:
        summary_of(event)
        log.info("event %s: summary draft prepared", event_id)


def save_draft(event: Event, notes: str, action_items: tuple[str, ...]) -> Summary:
    summary = summary_of(event)
    if summary.status != SummaryStatus.DRAFT:
        raise SummaryAlreadySent("the summary was already sent")
    summary.notes, summary.action_items = notes, list(action_items)
    db.session.commit()
    return summary


def start_sending(event: Event, notes: str, action_items: tuple[str, ...], owner: str) -> str:
    """Save the final text and put the mailing in the outbox; return its job id. Sending again while some
    attendees are not yet served resumes for them (the text stays what was first sent)."""
    if event.status == EventStatus.CANCELLED:
        raise SummaryAlreadySent("the town hall is cancelled")
    summary = summary_of(event)
    if summary.status == SummaryStatus.DRAFT:
        summary.notes, summary.action_items = notes, list(action_items)
        # One conditional update: of two requests sending at once, only one turns the draft into a mailing.
        db.session.execute(update(Summary).where(
            Summary.event_id == event.id, Summary.status == SummaryStatus.DRAFT).values(status=SummaryStatus.SENDING))
    elif summary.status == SummaryStatus.SENT or not unserved_count(event):
        summary.status = SummaryStatus.SENT
        db.session.commit()
        raise SummaryAlreadySent("every attendee was served or refused for good")
    task = outbox.arm(TaskKind.SUMMARY, event.id, owner=owner)
    summary.job_id = task.id
    db.session.commit()
    return task.id


def unserved_count(event: Event) -> int:
    """Attendees with no final summary delivery (sent, or refused for good) yet."""
    rows = db.session.execute(attendees.active(event.id, Attendee.id, Attendee.email)).all()
    todo, _ = pending_once(event.id, "summary", [tuple(row) for row in rows])
    return len(todo)


def content(event: Event) -> SummaryContent:
    summary = _current(event)
    questions = db.session.scalars(select(Question).where(
        Question.event_id == event.id, Question.merged_into.is_(None),
        Question.status.in_(ON_THE_BOARD))).all()
    votes = vote_counts(questions)
    return SummaryContent(
        title=event.title,
        questions=order_questions(SummaryQuestion(q.id, q.text, votes.get(q.id, 0), q.answer) for q in questions),
        notes=summary.notes,
        action_items=tuple(summary.action_items or ()),
    )


@dataclass(frozen=True)
class SummaryState:
    """The summary as it stands: its status and job, what it says, and how its mailing went."""

    status: str
    job_id: str | None
    body: SummaryContent
    sent: int
    failed: int


def summary_state(event: Event) -> SummaryState:
    summary = _current(event)
    counts = dict(db.session.execute(select(Delivery.status, func.count()).where(
        Delivery.event_id == event.id, Delivery.kind == "summary").group_by(Delivery.status)).all())
    return SummaryState(summary.status, summary.job_id, content(event), counts.get(DeliveryStatus.SENT, 0),
                        counts.get(DeliveryStatus.FAILED, 0))


def published(event_id: str) -> Event | None:
    """The town hall whose summary went out (or is going out), for the attendees' public page; else None."""
    event = db.session.get(Event, event_id) if is_public_id(event_id) else None
    summary = db.session.get(Summary, event_id) if event is not None else None
    return event if summary is not None and summary.status != SummaryStatus.DRAFT else None


def public_url(event: Event) -> str:
    return f"{current_app.config['EVENTHUB_BASE_URL']}/events/{event.id}/summary"


def send_summary(event_id: str) -> None:
    """Email the summary to every attendee not yet served; one message per zone, serialized once and
    copied per person with their own To and Message-ID."""
    event = db.session.get(Event, event_id)
    if event is None:
        return
    summary_of(event)
    body = content(event)
    rows = db.session.execute(attendees.active(event.id, Attendee.id, Attendee.email, Attendee.timezone,
                                               order_by=Attendee.id)).all()
    zone_of = {attendee_id: zone for attendee_id, _, zone in rows}
    addresses = [(attendee_id, email) for attendee_id, email, _ in rows]
    message_id_domain = urlsplit(current_app.config["EVENTHUB_BASE_URL"]).hostname
    per_zone: dict[str, MessageForMany] = {}

    def build(recipient: Recipient) -> MessageForMany:
        zone = zone_of[recipient.attendee_id]
        if zone not in per_zone:
            per_zone[zone] = MessageForMany(summary_message(event, body, zone), message_id_domain)
        return per_zone[zone]

    result = fan_out(event.id, "summary", lambda: pending_once(event.id, "summary", addresses), build)
    # Sent once everyone was served or refused for good (the last shard of a mailing cut in shards).
    if not result.sharded and not unserved_count(event):
        db.session.execute(update(Summary).where(Summary.event_id == event.id, Summary.status == SummaryStatus.SENDING)
                           .values(status=SummaryStatus.SENT, sent_at=utcnow()))
        db.session.commit()


def summary_message(event: Event, body: SummaryContent, zone: str) -> EmailMessage:
    local = zones.to_local(event.start, zones.get_zone(zone))
    context = {"event": event, "body": body, "local_start": local, "zone": zone, "page_url": public_url(event)}
    return new_message(f"Summary: {event.title}", "", render_template("email/summary.txt", **context),
                       render_template("email/summary.html", **context))


# --- carrying unanswered questions over ------------------------------------------------------------------


def carried_over_suggestions(event: Event) -> list[Question]:
    """Unanswered questions of the organizer's earlier town halls, not yet carried into this one."""
    earlier = db.session.scalars(select(Event.id).join(Summary, Summary.event_id == Event.id).where(
        Event.organizer_id == event.organizer_id, Event.id != event.id, Summary.status == SummaryStatus.SENT)).all()
    if not earlier:
        return []
    taken = set(db.session.scalars(select(Question.carried_from).where(
        Question.event_id == event.id, Question.carried_from.is_not(None))))
    candidates = db.session.scalars(select(Question).where(
        Question.event_id.in_(earlier), Question.merged_into.is_(None), Question.answer.is_(None),
        Question.status == QuestionStatus.VISIBLE)).all()
    return [q for q in candidates if q.id not in taken]


def carry_over(event: Event, question_id: str) -> Question | None:
    """Put an earlier unanswered question on this town hall's board."""
    suggestion = next((s for s in carried_over_suggestions(event) if s.id == question_id), None)
    if suggestion is None:
        return None
    question = Question(event_id=event.id, text=suggestion.text, status=QuestionStatus.VISIBLE,
                        carried_from=question_id, created_hour=rounded_to_hour(utcnow()))
    db.session.add(question)
    db.session.commit()
    return question
