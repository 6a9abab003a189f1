"""Who is coming: attendees' standing answers to their invitation, per attendee, in counts and per group.

An answer counts only for the invitation it answered: once the attendee's standing invitation has a
higher SEQUENCE (the time or text changed), they are waiting for an answer again (`needs-action`).
Nothing here holds or shows when anyone answered.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from eventhub.extensions import db
from eventhub.models import Attendee, AttendeeResponse, Delivery, Event
from eventhub.services import attendees

ANSWERED = ("accepted", "declined", "tentative")


@dataclass
class StandingAnswer:
    """An attendee's answer to the invitation they now hold: for the whole event, per occurrence, a proposal."""

    response: str = "needs-action"
    proposal_id: str | None = None
    proposed_start: datetime | None = None
    proposed_end: datetime | None = None
    proposed_occurrence: str = ""  # "" for the whole event or series, else the occurrence's original start
    occurrences: dict[str, str] = field(default_factory=dict)  # original start (UTC ISO) -> response


def standing_sequence(event: Event, attendee: Attendee) -> int:
    """The SEQUENCE of the invitation the attendee now holds (their copies carry their own offset)."""
    return event.sequence + (attendee.sequence_offset or 0)


def standing_answers(event: Event) -> dict[str, StandingAnswer]:
    """Every attendee's standing answer, by attendee id (attendees who never answered are absent)."""
    answers: dict[str, StandingAnswer] = {}
    rows = db.session.execute(
        select(AttendeeResponse, Attendee.sequence_offset)
        .join(Attendee, Attendee.id == AttendeeResponse.attendee_id)
        .where(AttendeeResponse.event_id == event.id)
    )
    for row, offset in rows:
        if row.sequence < event.sequence + (offset or 0):
            continue  # an answer to an earlier version of the invitation
        answer = answers.setdefault(row.attendee_id, StandingAnswer())
        if row.occurrence:
            answer.occurrences[row.occurrence] = row.response
        else:
            answer.response = row.response
        if row.proposed_start is not None:
            answer.proposal_id = row.id
            answer.proposed_start, answer.proposed_end = row.proposed_start, row.proposed_end
            answer.proposed_occurrence = row.occurrence
    return answers


@dataclass(frozen=True)
class ResponseCounts:
    """The current attendees by their answer to the invitation they now hold."""

    accepted: int = 0
    declined: int = 0
    tentative: int = 0
    needs_action: int = 0


@dataclass(frozen=True)
class GroupResponses:
    """One group's answers (`group` is "" for attendees without one) and the share of its people who answered."""

    group: str
    people: int
    counts: ResponseCounts

    @property
    def answered(self) -> int:
        return self.people - self.counts.needs_action

    @property
    def answered_share(self) -> float:
        return self.answered / self.people if self.people else 0.0


def response_counts(event: Event) -> ResponseCounts:
    return _counts(attendees.active_list(event.id), standing_answers(event))


def group_responses(event: Event) -> list[GroupResponses]:
    """Per group, in name order."""
    answers = standing_answers(event)
    by_group: dict[str, list[Attendee]] = {}
    for attendee in attendees.active_list(event.id):
        by_group.setdefault(attendee.group or "", []).append(attendee)
    return [GroupResponses(name, len(by_group[name]), _counts(by_group[name], answers)) for name in sorted(by_group)]


def _counts(people: list[Attendee], answers: dict[str, StandingAnswer]) -> ResponseCounts:
    counts = Counter(answers[a.id].response if a.id in answers else "needs-action" for a in people)
    return ResponseCounts(counts["accepted"], counts["declined"], counts["tentative"], counts["needs-action"])



@dataclass(frozen=True)
class RosterEntry:
    """One attendee (current or taken off the list) with their standing answer and their latest message."""

    attendee: Attendee
    answer: StandingAnswer
    latest: Delivery | None


def roster(event: Event) -> list[RosterEntry]:
    """Every attendee the event ever had, by email."""
    latest: dict[str, Delivery] = {}
    for delivery in db.session.scalars(select(Delivery).where(Delivery.event_id == event.id).order_by(Delivery.id)):
        latest[delivery.attendee_id] = delivery
    answers = standing_answers(event)
    return [RosterEntry(a, answers.get(a.id) or StandingAnswer(), latest.get(a.id))
            for a in attendees.everyone(event.id)]


def proposals(event: Event) -> list[tuple[Attendee, StandingAnswer]]:
    """The current attendees who proposed another time (COUNTER) for the invitation they now hold, by email."""
    answers = standing_answers(event)
    return [(a, answers[a.id]) for a in attendees.active_list(event.id)
            if a.id in answers and answers[a.id].proposal_id]
