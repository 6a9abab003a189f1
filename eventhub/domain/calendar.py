"""iCalendar files (RFC 5545) for town halls: invitations and cancellations (iTIP, RFC 5546) and downloads.

`build_calendar` promises a calendar that Outlook, Gmail, Apple Calendar, Thunderbird (libical) and
ical.js all read the same way:

- Times are written in the organizer's zone (`DTSTART;TZID=...`) with a VTIMEZONE of our own in the
  compact form calendar programs expect: yearly RRULEs for the zone's changes, or a single STANDARD
  for a zone without them, or one sub-component per change when the zone follows no yearly rule.
  icalendar's generated VTIMEZONE (a comma-separated RDATE list) is never used: ical.js reads only
  its first date.
- A series is one VEVENT with `RRULE:...;COUNT=n` whose i-th instance stands for the i-th planned
  occurrence; every planned occurrence that the rule does not hit exactly (the fair plan moved it,
  or a daylight-saving change moved its local time) gets an override VEVENT with the same UID and a
  RECURRENCE-ID. No RDATE or EXDATE: Outlook rejects event RDATEs.
- Every occurrence lands on its planned UTC instant; a wall time that a zone repeats (the hour after
  a change back) is written in UTC, as a TZID form would name its first occurrence.

The output is UTF-8 with CRLF line ends and lines folded at 75 octets (icalendar does the folding).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from itertools import pairwise

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress
from icalendar.parser import Contentline

from eventhub.domain import zones
from eventhub.domain.ical_fold import fold

PRODID = "-//EventHub//Town hall invites//EN"
METHODS = ("REQUEST", "CANCEL", "PUBLISH")
EVERY_CHOICES = ("week", "2 weeks", "month")  # how often a series repeats: its RRULE (`series_rule`)
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# Characters iCalendar text may not hold (RFC 5545 3.3.11 excludes CONTROL but for HTAB; newlines are escaped).
_TEXT_SPECIALS = re.compile(r"[\\;,\n]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class CalendarAttendee:
    email: str
    name: str = ""


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    sequence: int
    title: str
    description: str
    organizer_email: str
    organizer_name: str
    timezone: str  # IANA name of the organizer's zone; all local times are written in it
    occurrences: tuple[datetime, ...]  # aware UTC starts, sorted; one for a single town hall
    duration_minutes: int
    every: str | None  # "week" | "2 weeks" | "month"; None: inferred from the gaps
    location: str | None = None
    url: str | None = None
    cancelled: bool = False


@dataclass(frozen=True)
class _Series:
    """The RRULE of a series and the local start of each instance it generates (one per occurrence)."""

    freq: str  # "WEEKLY" | "MONTHLY"
    interval: int
    instances: tuple[datetime, ...]  # naive wall times in the organizer's zone

    def rrule(self) -> dict:
        return {"FREQ": self.freq, "INTERVAL": self.interval, "COUNT": len(self.instances)}


def build_calendar(event: CalendarEvent, method: str, attendees: tuple[CalendarAttendee, ...],
                   dtstamp: datetime) -> bytes:
    """The iCalendar file for `event` under the iTIP `method`.

    REQUEST invites `attendees` (each asked to reply); CANCEL cancels the whole event (or series) for
    them, with the SEQUENCE the caller raised; PUBLISH is a file to import ("add to calendar"), which
    lists no attendees. `dtstamp` (aware) is when this version was made.
    """
    return _calendar(event, method, attendees, dtstamp).to_ical()


class CalendarForMany:
    """One event's calendar for many attendees, built once.

    Each copy differs from the others only in its ATTENDEE and in the personal text (a question link)
    that stands where `marker` stands in the event's DESCRIPTION and URL; `for_attendee` gives exactly
    the bytes `build_calendar` would for that attendee and that text.
    """

    _STAND_IN = CalendarAttendee("stand-in@attendee.invalid")
    # An ATTENDEE line whose address and name are these stands for every attendee whose own need no quoting
    # or escaping (the usual case): theirs is put in its place rather than built through icalendar.
    _SHAPE = CalendarAttendee("shape@attendee.invalid", "Shape")  # a name with a space is quoted: "A Name"
    _PLAIN = re.compile(r"[A-Za-z0-9.@_+-]+(?: [A-Za-z0-9.@_+-]+)*")

    def __init__(self, event: CalendarEvent, method: str, dtstamp: datetime, marker: str):
        self.method = method
        self.marker = marker
        stand_in = self._attendee_line(self._STAND_IN)
        self.shapes = {spaced: str(self._attendee_line(replace(self._SHAPE, name="Shape A" if spaced else "Shape")))
                       for spaced in (False, True)}
        # The shared lines serialized once, in runs; None where the attendee's own line goes, and the lines
        # holding the marker kept unserialized (the personal text changes where they fold).
        self.pieces: list[bytes | Contentline | None] = []
        for line in _calendar(event, method, (self._STAND_IN,), dtstamp).content_lines():
            if not line:
                continue
            if line == stand_in:
                self.pieces.append(None)
            elif marker in line:
                self.pieces.append(line)
            elif self.pieces and isinstance(self.pieces[-1], bytes):
                self.pieces[-1] += line.to_ical() + b"\r\n"
            else:
                self.pieces.append(line.to_ical() + b"\r\n")

    def for_attendee(self, attendee: CalendarAttendee, personal: str) -> bytes:
        if _TEXT_SPECIALS.search(personal):  # it would be escaped differently in DESCRIPTION and URL
            raise ValueError("personal text must hold no backslash, comma, semicolon or newline")
        own: dict[Contentline | None, bytes] = {None: self._own_line(attendee)}
        for piece in self.pieces:  # the same line recurs in every VEVENT of a series: folded once
            if isinstance(piece, Contentline) and piece not in own:
                own[piece] = fold(piece.replace(self.marker, personal)) + b"\r\n"
        return b"".join(piece if isinstance(piece, bytes) else own[piece] for piece in self.pieces)

    def _own_line(self, attendee: CalendarAttendee) -> bytes:
        if self._PLAIN.fullmatch(attendee.email) and self._PLAIN.fullmatch(attendee.name or attendee.email):
            name = attendee.name or attendee.email
            line = self.shapes[" " in name].replace("Shape A" if " " in name else "Shape", name, 1)
            return fold(line.replace(self._SHAPE.email, attendee.email)) + b"\r\n"
        return fold(self._attendee_line(attendee)) + b"\r\n"

    def _attendee_line(self, attendee: CalendarAttendee) -> Contentline:
        holder = Event()
        holder.add("attendee", _attendee_address(attendee, self.method))
        return holder.content_lines()[1]  # between BEGIN:VEVENT and END:VEVENT


def _calendar(event: CalendarEvent, method: str, attendees: tuple[CalendarAttendee, ...],
              dtstamp: datetime) -> Calendar:
    _check(event, method, attendees, dtstamp)
    zone = zones.get_zone(event.timezone)
    series = _plan_series(event, zone)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    invited = () if method == "PUBLISH" else attendees
    status = "CANCELLED" if method == "CANCEL" or event.cancelled else "CONFIRMED"
    duration = timedelta(minutes=event.duration_minutes)

    if series is None:
        start = event.occurrences[0]
        vevents = [_vevent(event, method, invited, dtstamp, status, start, start + duration, zone)]
    else:
        first = zones.local_to_utc(series.instances[0], zone)
        master = _vevent(event, method, invited, dtstamp, status, first, first + duration, zone)
        master.add("rrule", series.rrule())
        vevents = [master]
        # A cancellation of the master cancels every instance; overrides would only repeat it.
        if method != "CANCEL":
            for instance, start in zip(series.instances, event.occurrences, strict=True):
                if zones.local_to_utc(instance, zone) == start and zones.wall_time_is_unique(instance, zone):
                    continue  # the rule already puts this occurrence at its planned instant
                override = _vevent(event, method, invited, dtstamp, status, start, start + duration, zone)
                override.add("recurrence-id", zones.to_local(zones.local_to_utc(instance, zone), zone))
                vevents.append(override)

    # The zone first: some readers resolve a TZID only against a VTIMEZONE they have already seen.
    calendar.add_component(_vtimezone(zone, *_span(event, series, zone)))
    for vevent in vevents:
        calendar.add_component(vevent)
    return calendar


def series_rule(event: CalendarEvent) -> str | None:
    """The RRULE value `build_calendar` writes for the event ("FREQ=WEEKLY;INTERVAL=1;COUNT=6"), None for a
    single town hall. Alone it places instances at the first one's local time; overrides are not in it."""
    series = _plan_series(event, zones.get_zone(event.timezone))
    if series is None:
        return None
    return ";".join(f"{key}={value}" for key, value in series.rrule().items())


def to_caldav_object(ics: bytes) -> bytes:
    """The calendar without its METHOD line, as a CalDAV server stores it (RFC 4791 section 4.1)."""
    kept, depth, dropping = [], 0, False
    for line in ics.split(b"\r\n"):
        if dropping and line[:1] in (b" ", b"\t"):
            continue  # the folded rest of a METHOD line
        dropping = depth == 1 and line.upper().startswith(b"METHOD:")
        if dropping:
            continue
        if line.upper().startswith(b"BEGIN:"):
            depth += 1
        elif line.upper().startswith(b"END:"):
            depth -= 1
        kept.append(line)
    return b"\r\n".join(kept)


# --- checks --------------------------------------------------------------------------------------------


def _check(event: CalendarEvent, method: str, attendees: tuple[CalendarAttendee, ...], dtstamp: datetime) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if method == "REQUEST" and not attendees:
        raise ValueError("a REQUEST invites at least one attendee (RFC 5546 section 3.2.2)")
    if method == "REQUEST" and event.cancelled:
        raise ValueError("a cancelled event is sent with method CANCEL")
    if dtstamp.tzinfo is None:
        raise ValueError("dtstamp must be an aware datetime")
    if not event.occurrences:
        raise ValueError("an event has at least one occurrence")
    if any(start.tzinfo is None for start in event.occurrences):
        raise ValueError("occurrences must be aware datetimes")
    if any(later <= earlier for earlier, later in pairwise(event.occurrences)):
        raise ValueError("occurrences must be sorted and distinct")
    if event.duration_minutes <= 0:
        raise ValueError("duration_minutes must be positive")
    if event.every is not None and event.every not in EVERY_CHOICES:
        raise ValueError(f"every must be one of {EVERY_CHOICES} or None")


# --- the series rule ------------------------------------------------------------------------------------


def _plan_series(event: CalendarEvent, zone: tzinfo) -> _Series | None:
    """The rule whose instances match the most planned occurrences exactly (fewest overrides)."""
    return _series_for(tuple(event.occurrences), event.every, zone)


# Every attendee's calendar of a town hall has the same series: planned once, not once per invitation.
@lru_cache(maxsize=256)
def _series_for(occurrences: tuple[datetime, ...], every: str | None, zone: tzinfo) -> _Series | None:
    if len(occurrences) == 1:
        return None
    walls = [zones.to_local(start, zone).replace(tzinfo=None) for start in occurrences]
    freq, interval = _frequency(every, walls)
    best, best_hits = None, -1
    for index, wall in enumerate(walls):
        anchor = _shift(wall, freq, -interval * index)
        if anchor is None:
            continue
        instances = tuple(_shift(anchor, freq, interval * step) for step in range(len(walls)))
        # A skipped or repeated wall time would be read differently by different programs.
        if not all(zones.wall_time_is_unique(instance, zone) for instance in instances):
            continue
        hits = sum(instance == wall for instance, wall in zip(instances, walls, strict=True))
        if hits > best_hits:
            best, best_hits = instances, hits
    if best is None:
        # Only when every candidate hits a skipped/repeated hour or a 29th-31st: any rule works, overrides fix it.
        anchor = walls[0].replace(day=min(walls[0].day, 28))
        best = tuple(_shift(anchor, freq, interval * step) for step in range(len(walls)))
    return _Series(freq, interval, best)


def _frequency(every: str | None, walls: list[datetime]) -> tuple[str, int]:
    """(FREQ, INTERVAL) for `every`, or inferred from the gaps between the local starts."""
    if every == "month":
        return "MONTHLY", 1
    if every is not None:
        return "WEEKLY", 2 if every == "2 weeks" else 1
    gaps = {(later.date() - earlier.date()).days for earlier, later in pairwise(walls)}
    if len(gaps) == 1 and next(iter(gaps)) % 7 == 0:
        return "WEEKLY", next(iter(gaps)) // 7
    months = [wall.year * 12 + wall.month for wall in walls]
    if all(later - earlier == 1 for earlier, later in pairwise(months)):
        return "MONTHLY", 1
    average_days = (walls[-1] - walls[0]).days / (len(walls) - 1)
    return "WEEKLY", max(1, round(average_days / 7))


def _shift(wall: datetime, freq: str, steps: int) -> datetime | None:
    """`wall` moved by `steps` rule periods, as RFC 5545 repeats a local time; None when the day-of-month
    is past the 28th, since a monthly rule skips the months without that day and COUNT would drift."""
    if freq == "WEEKLY":
        return wall + timedelta(weeks=steps)
    if wall.day > 28:
        return None
    months = wall.year * 12 + wall.month - 1 + steps
    return wall.replace(year=months // 12, month=months % 12 + 1)


def _span(event: CalendarEvent, series: _Series | None, zone: tzinfo) -> tuple[datetime, datetime]:
    """The earliest and latest instant any start, end or RECURRENCE-ID of the file names."""
    instants = list(event.occurrences)
    if series is not None:
        instants += [zones.local_to_utc(instance, zone) for instance in series.instances]
    return min(instants), max(instants) + timedelta(minutes=event.duration_minutes)


# --- components -----------------------------------------------------------------------------------------


def _vevent(event: CalendarEvent, method: str, attendees: tuple[CalendarAttendee, ...], dtstamp: datetime,
            status: str, start: datetime, end: datetime, zone: tzinfo) -> Event:
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", dtstamp.astimezone(UTC))
    vevent.add("sequence", event.sequence)
    vevent.add("dtstart", _local(start, zone))
    vevent.add("dtend", _local(end, zone))
    vevent.add("summary", _text(event.title))
    if event.description:
        vevent.add("description", _text(event.description))
    if event.location:
        vevent.add("location", _text(event.location))
    if event.url:
        vevent.add("url", event.url)
    vevent.add("status", status)
    vevent.add("transp", "OPAQUE")
    vevent.add("organizer", _address(event.organizer_email, event.organizer_name))
    for attendee in attendees:
        vevent.add("attendee", _attendee_address(attendee, method))
    return vevent


def _attendee_address(attendee: CalendarAttendee, method: str) -> vCalAddress:
    address = _address(attendee.email, attendee.name)
    address.params["ROLE"] = "REQ-PARTICIPANT"
    if method == "REQUEST":
        address.params["PARTSTAT"] = "NEEDS-ACTION"
        address.params["RSVP"] = "TRUE"
    return address


def _local(instant: datetime, zone: tzinfo) -> datetime:
    """The instant in the organizer's zone (written with TZID), or in UTC when that wall time repeats."""
    local = zones.to_local(instant, zone)
    if zones.wall_time_is_unique(local.replace(tzinfo=None), zone):
        return local
    return instant.astimezone(UTC)


def _address(email: str, name: str) -> vCalAddress:
    email = email.strip()
    if not email or _CONTROL.search(email) or any(char in email for char in "\r\n:;\","):
        raise ValueError(f"not an email address for a calendar: {email!r}")
    address = vCalAddress(f"mailto:{email}")
    # A double quote cannot appear in a quoted parameter; RFC 6868's escape is not read by every client.
    address.params["CN"] = _CONTROL.sub(" ", (name or email).replace("\n", " ")).replace('"', "'").strip()
    return address


def _text(value: str) -> str:
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def _vtimezone(zone: tzinfo, start: datetime, end: datetime) -> Timezone:
    """The compact VTIMEZONE of `zone` that holds for [start, end] (see zones.zone_observances)."""
    vtimezone = Timezone()
    vtimezone.add("tzid", zones.zone_name(zone))
    for observance in _observances(zone, start, end):
        daylight = observance.offset_to > observance.offset_from
        part = TimezoneDaylight() if daylight else TimezoneStandard()
        part.add("dtstart", observance.start)
        part.add("tzoffsetfrom", observance.offset_from)
        part.add("tzoffsetto", observance.offset_to)
        part.add("tzname", observance.abbreviation)
        rule = observance.rule
        if rule is not None:
            recur: dict = {"FREQ": "YEARLY", "BYMONTH": rule.month}
            if rule.monthdays is not None:
                recur["BYDAY"] = _WEEKDAYS[rule.weekday]
                recur["BYMONTHDAY"] = list(rule.monthdays)
            else:
                recur["BYDAY"] = f"{rule.week}{_WEEKDAYS[rule.weekday]}"
            part.add("rrule", recur)
        vtimezone.add_component(part)
    return vtimezone


# The same for every attendee of a town hall: worked out once (Observance is frozen, the tuple immutable).
@lru_cache(maxsize=256)
def _observances(zone: tzinfo, start: datetime, end: datetime) -> tuple[zones.Observance, ...]:
    return tuple(zones.zone_observances(zone, start, end))


def rule_instances(event: CalendarEvent) -> tuple[datetime, ...]:
    """The UTC starts the series' RRULE generates, one per planned occurrence (in order); for a single
    town hall, its start. Where one differs from the planned occurrence, the calendar has an override."""
    zone = zones.get_zone(event.timezone)
    series = _plan_series(event, zone)
    if series is None:
        return event.occurrences[:1]
    return tuple(zones.local_to_utc(instance, zone) for instance in series.instances)
