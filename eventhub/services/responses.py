"""Who is coming: attendees' standing answers to their invitation, per attendee, in counts and per group.

An answer counts only for the invitation it answered: once the attendee's standing invitation has a
higher SEQUENCE (the time or text changed), they are waiting for an answer again (`needs-action`).
Nothing here holds or shows when anyone answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from eventhub.extensions import db
from eventhub.models import Attendee, AttendeeResponse, Event

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


def response_counts(event: Event) -> dict:
    """`{"accepted", "declined", "tentative", "needs_action"}` over the current attendees."""
    return _counts(_active(event), standing_answers(event))


def group_responses(event: Event) -> list[dict]:
    """Per group (in name order, "" for attendees without one): people, the counts, and the share who answered."""
    answers = standing_answers(event)
    by_group: dict[str, list[Attendee]] = {}
    for attendee in _active(event):
        by_group.setdefault(attendee.group or "", []).append(attendee)
    rows = []
    for name in sorted(by_group):
        counts = _counts(by_group[name], answers)
        people = len(by_group[name])
        answered = people - counts["needs_action"]
        rows.append({"group": name, "people": people, **counts, "answered": answered,
                     "answered_share": answered / people if people else 0.0})
    return rows


def _counts(attendees: list[Attendee], answers: dict[str, StandingAnswer]) -> dict:
    counts = {"accepted": 0, "declined": 0, "tentative": 0, "needs_action": 0}
    for attendee in attendees:
        response = answers[attendee.id].response if attendee.id in answers else "needs-action"
        counts[response.replace("-", "_")] += 1
    return counts


def _active(event: Event) -> list[Attendee]:
    return list(db.session.scalars(
        select(Attendee).where(Attendee.event_id == event.id, Attendee.removed.is_(False)).order_by(Attendee.email)))
