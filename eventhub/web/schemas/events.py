"""Town halls, attendees and invites: `/api/v1/events...`."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from eventhub.domain.calendar import EVERY_CHOICES
from eventhub.domain.events import MAX_ATTENDEES, MAX_DESCRIPTION, MAX_OCCURRENCES, MAX_TITLE
from eventhub.web.schemas.common import Answer, ChangeBody, Email, Instant, RequestBody

Every = Literal[EVERY_CHOICES]  # type: ignore[valid-type]
MAX_MINUTES = 24 * 60 - 1


class GroupIn(RequestBody):
    name: str = Field(max_length=100)
    timezone: str = Field(description="IANA zone name, such as `Asia/Manila`")


class AttendeeIn(RequestBody):
    email: Email
    name: str | None = Field(default="", max_length=200)
    group: str | None = Field(default="", max_length=100, description="the name of one of the event's groups")
    timezone: str | None = Field(default=None, description="IANA zone; else the group's, else the event's")


class EventIn(RequestBody):
    """A new town hall: `start`, or `occurrences` for a series."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "title": "Q1 Town Hall", "description": "Agenda", "start": "2030-03-02T23:30:00Z", "duration_minutes": 60,
        "timezone": "America/New_York", "groups": [{"name": "Manila", "timezone": "Asia/Manila"}],
        "attendees": [{"email": "ana@example.com", "name": "Ana", "group": "Manila"}], "moderation": False}]})

    title: str = Field(max_length=MAX_TITLE)
    description: str | None = Field(default="", max_length=MAX_DESCRIPTION)
    start: Instant | None = None
    occurrences: list[Instant] | None = Field(default=None, min_length=1, max_length=MAX_OCCURRENCES)
    every: Every | None = None
    duration_minutes: int = Field(default=60, ge=5, le=MAX_MINUTES, description="minutes")
    timezone: str = "UTC"
    groups: list[GroupIn] = Field(default=[], max_length=200)
    attendees: list[AttendeeIn] = Field(default=[], max_length=MAX_ATTENDEES)
    questions_close: Instant | None = Field(default=None, description="defaults to the start; at most a week after")
    moderation: bool = False


class EventChange(ChangeBody):
    """Only the fields present change; a changed time re-sends every invite with a higher SEQUENCE."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"title": "Q1 Town Hall (moved)",
                                                               "start": "2030-03-03T23:30:00Z"}]})

    title: str = Field(default=None, max_length=MAX_TITLE)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    start: Instant | None = None
    occurrences: list[Instant] | None = Field(default=None, min_length=1, max_length=MAX_OCCURRENCES)
    every: Every | None = None
    duration_minutes: int = Field(default=None, ge=5, le=MAX_MINUTES, description="minutes")
    timezone: str = Field(default=None)
    groups: list[GroupIn] = Field(default=None, max_length=200)
    attendees: list[AttendeeIn] = Field(default=None, max_length=MAX_ATTENDEES)
    questions_close: Instant | None = None
    moderation: bool = Field(default=None)


class AttendeesIn(RequestBody):
    attendees: list[AttendeeIn] = Field(max_length=MAX_ATTENDEES)


class GroupOut(Answer):
    name: str
    timezone: str


class DeliveryCounts(Answer):
    sent: int
    failed: int
    pending: int


class ResponseCounts(Answer):
    accepted: int
    declined: int
    tentative: int
    needs_action: int


class EventOut(Answer):
    id: str
    title: str
    description: str
    status: Literal["scheduled", "cancelled"]
    start: Instant
    end: Instant
    duration_minutes: int
    timezone: str
    local_start: str
    occurrences: list[Instant]
    every: Every | None
    sequence: int
    questions_close: Instant
    moderation: bool
    groups: list[GroupOut]
    meet_url: str | None
    ics_url: str
    page_url: str
    attendees: int
    invites: DeliveryCounts
    responses: ResponseCounts
    job_id: str | None


class EventList(Answer):
    events: list[EventOut]


class InviteState(Answer):
    kind: str
    sequence: int
    status: str
    error: str | None
    at: Instant


class OccurrenceAnswer(Answer):
    occurrence: Instant = Field(description="the original start of the occurrence answered")
    response: Literal["accepted", "declined", "tentative", "needs-action"]


class AttendeeRow(Answer):
    """In the contract's order: its fields first, then what the API adds."""

    email: str
    name: str
    group: str
    response: Literal["accepted", "declined", "tentative", "needs-action"] = Field(
        description="read from the attendee's answers to the invitation they now hold")
    proposed_start: Instant | None = Field(description="a new time the attendee proposed (COUNTER)")
    proposed_end: Instant | None
    invite: InviteState | None
    timezone: str
    removed: bool
    occurrences: list[OccurrenceAnswer] = Field(default_factory=list,
                                                description="answers for single occurrences of a series")


class AttendeeList(Answer):
    attendees: list[AttendeeRow]
