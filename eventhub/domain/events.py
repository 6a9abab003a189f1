"""Town-hall requests: the JSON of `POST/PATCH /api/v1/events` checked and turned into an `EventDraft`.

Every problem raises `InvalidField` naming the field (`attendees[3].email`); nothing else escapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from eventhub.domain import zones
from eventhub.domain.calendar import EVERY_CHOICES
from eventhub.domain.errors import InvalidField, refuse_control_characters

MAX_ATTENDEES = 10_000
MAX_OCCURRENCES = 104
MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_NAME = 200
MAX_GROUP = 100
MAX_GROUPS = 200
# The WHATWG "valid e-mail address": what a browser's <input type=email> accepts.
_EMAIL = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+"
)


@dataclass(frozen=True)
class AttendeeInput:
    email: str  # lower-cased
    name: str
    group: str
    timezone: str  # the zone the attendee reads times in


@dataclass(frozen=True)
class EventDraft:
    title: str
    description: str
    timezone: str
    duration_minutes: int
    occurrences: tuple[datetime, ...]  # aware UTC, sorted
    every: str | None
    attendees: tuple[AttendeeInput, ...]
    questions_close: datetime
    moderation: bool
    groups: tuple[tuple[str, str], ...]  # (name, IANA zone)

    @property
    def start(self) -> datetime:
        return self.occurrences[0]


def parse_event_request(payload: object, now: datetime) -> EventDraft:
    """A new town hall from the JSON body of `POST /api/v1/events`."""
    if not isinstance(payload, dict):
        raise InvalidField("body", "must be a JSON object")
    title = _text(payload.get("title"), "title", MAX_TITLE, required=True, one_line=True)
    description = _text(payload.get("description", ""), "description", MAX_DESCRIPTION)
    timezone = zones.zone_name(zones.get_zone(payload.get("timezone", "UTC"), "timezone"))
    duration = _integer(payload.get("duration_minutes", 60), "duration_minutes", 5, 24 * 60 - 1)
    occurrences = _occurrences(payload, now)
    every = _every(payload.get("every"), len(occurrences))
    groups = _groups(payload.get("groups", []))
    attendees = _attendees(payload.get("attendees", []), dict(groups), timezone)
    questions_close = _questions_close(payload.get("questions_close"), occurrences[0])
    moderation = payload.get("moderation", False)
    if not isinstance(moderation, bool):
        raise InvalidField("moderation", "must be true or false")
    return EventDraft(title, description, timezone, duration, occurrences, every, attendees, questions_close,
                      moderation, groups)


def apply_event_changes(current: EventDraft, payload: object, now: datetime) -> EventDraft:
    """The town hall after `PATCH /api/v1/events/<id>`: only the fields present change."""
    if not isinstance(payload, dict):
        raise InvalidField("body", "must be a JSON object")
    changed = current
    if "title" in payload:
        changed = replace(changed, title=_text(payload["title"], "title", MAX_TITLE, required=True, one_line=True))
    if "description" in payload:
        changed = replace(changed, description=_text(payload["description"], "description", MAX_DESCRIPTION))
    if "timezone" in payload:
        changed = replace(changed, timezone=zones.zone_name(zones.get_zone(payload["timezone"], "timezone")))
    if "duration_minutes" in payload:
        changed = replace(changed, duration_minutes=_integer(payload["duration_minutes"], "duration_minutes", 5,
                                                             24 * 60 - 1))
    if "start" in payload or "occurrences" in payload:
        occurrences = _occurrences(payload, now)
        changed = replace(changed, occurrences=occurrences, every=_every(payload.get("every"), len(occurrences)))
        if "questions_close" not in payload and current.questions_close == current.start:
            changed = replace(changed, questions_close=occurrences[0])
    elif "every" in payload:
        changed = replace(changed, every=_every(payload["every"], len(changed.occurrences)))
    if "groups" in payload:
        changed = replace(changed, groups=_groups(payload["groups"]))
    if "attendees" in payload:
        changed = replace(changed, attendees=_attendees(payload["attendees"], dict(changed.groups), changed.timezone))
    if "questions_close" in payload:
        changed = replace(changed, questions_close=_questions_close(payload["questions_close"], changed.start))
    if "moderation" in payload:
        if not isinstance(payload["moderation"], bool):
            raise InvalidField("moderation", "must be true or false")
        changed = replace(changed, moderation=payload["moderation"])
    unknown = set(payload) - {"title", "description", "timezone", "duration_minutes", "start", "occurrences",
                              "every", "groups", "attendees", "questions_close", "moderation"}
    if unknown:
        raise InvalidField(sorted(unknown)[0], "is not a field of a town hall")
    return changed


def normalize_email(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidField(field, "an email address is required")
    email = value.strip()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise InvalidField(field, f"{email[:80]!r} is not a valid email address")
    return email.lower()


def _text(value: object, field: str, limit: int, required: bool = False, one_line: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidField(field, "must be text")
    text = value.strip()
    if required and not text:
        raise InvalidField(field, "must not be empty")
    if len(text) > limit:
        raise InvalidField(field, f"must be at most {limit} characters")
    if one_line and len(text.splitlines()) > 1:
        raise InvalidField(field, "must be one line")
    return refuse_control_characters(text, field)


def _integer(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidField(field, "must be a whole number")
    if not low <= value <= high:
        raise InvalidField(field, f"must be between {low} and {high}")
    return value


def _future_instant(value: object, field: str, now: datetime) -> datetime:
    instant = zones.parse_instant(value, field)
    if instant <= now:
        raise InvalidField(field, "must be in the future")
    return instant


def _occurrences(payload: dict, now: datetime) -> tuple[datetime, ...]:
    if "occurrences" in payload and payload["occurrences"] is not None:
        values = payload["occurrences"]
        if not isinstance(values, list) or not values:
            raise InvalidField("occurrences", "must be a non-empty list of instants")
        if len(values) > MAX_OCCURRENCES:
            raise InvalidField("occurrences", f"at most {MAX_OCCURRENCES} occurrences")
        instants = [_future_instant(value, f"occurrences[{index}]", now) for index, value in enumerate(values)]
        if len(set(instants)) != len(instants):
            raise InvalidField("occurrences", "must not repeat an instant")
        return tuple(sorted(instants))
    if "start" not in payload:
        raise InvalidField("start", "a start (or a list of occurrences) is required")
    return (_future_instant(payload["start"], "start", now),)


def _every(value: object, count: int) -> str | None:
    if value is None or count == 1:
        return None
    if value not in EVERY_CHOICES:
        raise InvalidField("every", f"must be one of {', '.join(EVERY_CHOICES)}")
    return value


def _groups(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise InvalidField("groups", "must be a list")
    if len(value) > MAX_GROUPS:
        raise InvalidField("groups", f"at most {MAX_GROUPS} groups")
    groups: dict[str, str] = {}
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise InvalidField(f"groups[{index}]", "must be an object")
        name = _text(item.get("name"), f"groups[{index}].name", MAX_GROUP, required=True, one_line=True)
        groups[name] = zones.zone_name(zones.get_zone(item.get("timezone"), f"groups[{index}].timezone"))
    return tuple(groups.items())


def parse_attendee_additions(payload: object, groups: tuple[tuple[str, str], ...],
                             default_zone: str) -> tuple[AttendeeInput, ...]:
    """`{"attendees": [...]}` to add to a town hall: up to MAX_ATTENDEES a request, each read as on creation
    (an attendee's zone is their own, else their group's, else the town hall's)."""
    if not isinstance(payload, dict):
        raise InvalidField("body", "must be an object")
    unknown = set(payload) - {"attendees"}
    if unknown:
        raise InvalidField(sorted(unknown)[0], "is not a field here")
    if "attendees" not in payload:
        raise InvalidField("attendees", "is required")
    return _attendees(payload["attendees"], dict(groups), default_zone)


def _attendees(value: object, group_zones: dict[str, str], default_zone: str) -> tuple[AttendeeInput, ...]:
    if not isinstance(value, list):
        raise InvalidField("attendees", "must be a list")
    if len(value) > MAX_ATTENDEES:
        raise InvalidField("attendees", f"at most {MAX_ATTENDEES:,} attendees a request; add more with "
                                        "POST /api/v1/events/<id>/attendees, in pages")
    merged: dict[str, AttendeeInput] = {}
    for index, item in enumerate(value):
        path = f"attendees[{index}]"
        if not isinstance(item, dict):
            raise InvalidField(path, "must be an object")
        email = normalize_email(item.get("email"), f"{path}.email")
        name = _text(item.get("name", ""), f"{path}.name", MAX_NAME, one_line=True)
        group = _text(item.get("group", ""), f"{path}.group", MAX_GROUP, one_line=True)
        if item.get("timezone") is not None:
            zone = zones.zone_name(zones.get_zone(item["timezone"], f"{path}.timezone"))
        else:
            zone = group_zones.get(group, default_zone)
        earlier = merged.get(email)
        if earlier is not None:  # the same person listed twice: keep one, fill in what the first lacked
            merged[email] = AttendeeInput(email, earlier.name or name, earlier.group or group,
                                          earlier.timezone if earlier.group else zone)
        else:
            merged[email] = AttendeeInput(email, name, group, zone)
    return tuple(merged.values())


def _questions_close(value: object, start: datetime) -> datetime:
    if value is None:
        return start
    close = zones.parse_instant(value, "questions_close")
    if close > start + timedelta(days=7):
        raise InvalidField("questions_close", "must be at most a week after the start")
    return close


@dataclass(frozen=True)
class LocalTimeChange:
    """From `date` on, an attendee's meeting starts at `after` instead of `before` (local clock)."""

    date: str  # local date of the first occurrence at the new time, YYYY-MM-DD
    before: str  # "HH:MM"
    after: str


def local_times(occurrences: tuple[datetime, ...], duration_minutes: int,
                zone_name: str) -> list[tuple[datetime, datetime]]:
    """Each occurrence's start and end on the attendee's clock."""
    zone = zones.get_zone(zone_name)
    length = timedelta(minutes=duration_minutes)
    return [(zones.to_local(start, zone), zones.to_local(start + length, zone)) for start in occurrences]


def daylight_saving_moves(occurrences: tuple[datetime, ...], zone_name: str,
                          organizer_zone: str) -> list[LocalTimeChange]:
    """Where the attendee's local start time moves between occurrences because a clock changed
    (theirs or the organizer's), so the invite can warn them."""
    zone, home = zones.get_zone(zone_name), zones.get_zone(organizer_zone)
    moves = []
    for previous, current in zip(occurrences, occurrences[1:], strict=False):
        before, after = zones.to_local(previous, zone), zones.to_local(current, zone)
        clock_changed = (zones.utc_offset_at(previous, zone) != zones.utc_offset_at(current, zone)
                         or zones.utc_offset_at(previous, home) != zones.utc_offset_at(current, home))
        if clock_changed and before.strftime("%H:%M") != after.strftime("%H:%M"):
            moves.append(LocalTimeChange(after.date().isoformat(), before.strftime("%H:%M"), after.strftime("%H:%M")))
    return moves
