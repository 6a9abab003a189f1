"""Every time-zone conversion of the domain goes through this module.

pytz is the zone database. Only `localize()` and `normalize()` (and pytz's own `fromutc`, reached
through `astimezone`) touch a zone: a pytz zone passed as `tzinfo=` silently gives local mean time.
Instants are aware UTC datetimes (`datetime.timezone.utc`); local times are pytz-aware datetimes.

pytz tabulates daylight-saving rules up to 2037 only, so the domain accepts instants between
`EARLIEST` and `LATEST`; inside that range every offset is a whole number of minutes.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo

import pytz

from eventhub.domain.errors import InvalidField

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2038, 1, 1, tzinfo=UTC)
_MAX_ZONE_NAME = 64


def get_zone(name: object, field: str = "timezone") -> tzinfo:
    """The pytz zone called `name` (an IANA name); InvalidField(field) for anything else."""
    if not isinstance(name, str) or not name or len(name) > _MAX_ZONE_NAME:
        raise InvalidField(field, "must be an IANA time-zone name such as 'America/New_York'")
    try:
        return pytz.timezone(name)
    except (pytz.UnknownTimeZoneError, ValueError, UnicodeError) as exc:
        raise InvalidField(field, f"unknown time zone {name!r}") from exc


def zone_name(zone: tzinfo) -> str:
    """The IANA name the zone was loaded under."""
    return zone.zone  # type: ignore[attr-defined]


def to_local(utc_dt: datetime, zone: tzinfo) -> datetime:
    """The wall-clock time in `zone` at the aware instant `utc_dt`, carrying the right offset."""
    return zone.normalize(utc_dt.astimezone(zone))  # type: ignore[attr-defined]


def local_to_utc(naive_local: datetime, zone: tzinfo, *, is_dst: bool | None = False) -> datetime:
    """The UTC instant of a wall-clock time in `zone`.

    An ambiguous or skipped wall time is resolved by `is_dst` as pytz does (`None` raises pytz's error).
    """
    if naive_local.tzinfo is not None:
        raise ValueError("local_to_utc takes a naive wall-clock time")
    local = zone.normalize(zone.localize(naive_local, is_dst=is_dst))  # type: ignore[attr-defined]
    return local.astimezone(UTC)


def utc_offset_at(utc_dt: datetime, zone: tzinfo) -> timedelta:
    """The zone's offset from UTC at the aware instant `utc_dt`."""
    return to_local(utc_dt, zone).utcoffset()  # type: ignore[return-value]


def offset_minutes_at(utc_dt: datetime, zone: tzinfo) -> int:
    """The zone's offset from UTC at `utc_dt`, in whole minutes."""
    return int(utc_offset_at(utc_dt, zone).total_seconds()) // 60


def transitions_between(zone: tzinfo, start: datetime, end: datetime) -> list[tuple[datetime, timedelta]]:
    """The instants in (start, end) at which the zone's UTC offset changes, each with its new offset.

    Changes of abbreviation alone (no change of offset) are left out.
    """
    return _transitions(zone, start, end, utc_offset_at(start, zone))


def _transitions(zone: tzinfo, start: datetime, end: datetime, previous: timedelta) -> list:
    # pytz's own transition table (what normalize() reads); fixed-offset zones have none
    times = getattr(zone, "_utc_transition_times", None)
    if not times:
        return []
    lo = bisect.bisect_right(times, start.astimezone(UTC).replace(tzinfo=None))
    hi = bisect.bisect_left(times, end.astimezone(UTC).replace(tzinfo=None))
    found = []
    for index in range(lo, hi):
        offset = zone._transition_info[index][0]  # type: ignore[attr-defined]
        if offset != previous:
            found.append((times[index].replace(tzinfo=UTC), offset))
            previous = offset
    return found


def offset_segments(
    zone: tzinfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, timedelta]]:
    """[start, end) cut where the zone's offset changes: (segment start, segment end, offset) in order."""
    segments = []
    seg_start, offset = start, utc_offset_at(start, zone)
    for instant, new_offset in _transitions(zone, start, end, offset):
        segments.append((seg_start, instant, offset))
        seg_start, offset = instant, new_offset
    segments.append((seg_start, end, offset))
    return segments


def format_local(utc_dt: datetime, zone: tzinfo) -> str:
    """ISO 8601 local time with its offset, e.g. '2027-03-02T10:00:00-05:00'."""
    return to_local(utc_dt, zone).replace(microsecond=0).isoformat()


def format_at_offset(utc_dt: datetime, offset: timedelta) -> str:
    """ISO 8601 local time of `utc_dt` at a known offset (one of `offset_segments`), with the offset."""
    return utc_dt.astimezone(timezone(offset)).replace(microsecond=0).isoformat()


def format_utc(utc_dt: datetime) -> str:
    """ISO 8601 UTC instant with a 'Z', e.g. '2027-03-02T15:00:00Z'."""
    return utc_dt.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def parse_instant(value: object, field: str) -> datetime:
    """An ISO 8601 timestamp with an offset ('Z' or '+hh:mm') as an aware UTC datetime.

    Naive timestamps, other types and instants outside EARLIEST..LATEST raise InvalidField(field).
    """
    if not isinstance(value, str) or len(value) > 40:
        raise InvalidField(field, "must be an ISO 8601 timestamp such as '2027-03-01T00:00:00Z'")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidField(field, f"not an ISO 8601 timestamp: {value!r}") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidField(field, "needs a UTC offset ('Z' or '+hh:mm')")
    try:
        instant = parsed.astimezone(UTC)
    except OverflowError as exc:
        raise InvalidField(field, "out of range") from exc
    if not EARLIEST <= instant < LATEST:
        raise InvalidField(field, f"must lie between {EARLIEST.year} and {LATEST.year - 1}")
    return instant


# --- A zone's offset changes as yearly rules, for calendar files (VTIMEZONE) ------------------------------


@dataclass(frozen=True)
class YearlyRule:
    """'The `week`-th `weekday` of `month`' (week -1: the last), or, when `monthdays` is set, 'the
    `weekday` that falls on one of `monthdays`' (seven consecutive days, e.g. Friday on the 23rd-29th)."""

    month: int
    weekday: int  # Monday is 0, as datetime.weekday()
    week: int | None = None
    monthdays: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Observance:
    """One offset change of a zone: from the wall time `start` (read at `offset_from`) the zone is at
    `offset_to` and called `abbreviation`; repeated every year by `rule` when it is set."""

    start: datetime  # naive local wall time
    offset_from: timedelta
    offset_to: timedelta
    abbreviation: str
    rule: YearlyRule | None = None


def zone_observances(zone: tzinfo, start: datetime, end: datetime) -> list[Observance]:
    """The offset changes that describe `zone` for every instant in [start, end] (aware datetimes).

    Preferred, as calendar programs expect: one observance without changes for a zone that keeps one
    offset, or one yearly rule per kind of change (spring and autumn) when the zone follows such rules
    through the whole years around [start, end]. Otherwise every change from the year before `start`
    to the year after `end`, each on its own, after an opening observance that holds the offset in force
    at the beginning of that span.
    """
    first_year, last_year = start.astimezone(UTC).year - 1, min(end.astimezone(UTC).year + 1, LATEST.year - 1)
    narrow = _changes_in_years(zone, first_year, last_year)
    if not narrow:
        offset = utc_offset_at(start, zone)
        return [Observance(datetime(1970, 1, 1), offset, offset, to_local(start, zone).tzname() or "")]
    # A longer look ahead tells "2nd Sunday" from "Sunday on or after the 8th" and "4th" from "last";
    # the narrow span alone is enough when the zone changed its rules within the longer one.
    for changes in (_changes_in_years(zone, first_year, max(last_year, min(first_year + 8, LATEST.year - 1))),
                    narrow):
        observances = _yearly_observances(changes, first_year, last_year)
        if observances is not None:
            return observances
    span_start = datetime(first_year, 1, 1, tzinfo=UTC)
    offset = utc_offset_at(span_start, zone)
    opening = Observance((span_start + offset).replace(tzinfo=None), offset, offset,
                         to_local(span_start, zone).tzname() or "")
    return [opening] + [Observance(*change) for change in narrow]


def _changes_in_years(zone: tzinfo, first_year: int, last_year: int) -> list[tuple]:
    """(wall time before, offset before, offset after, abbreviation after) of each change in those years."""
    span_start, span_end = datetime(first_year, 1, 1, tzinfo=UTC), datetime(last_year + 1, 1, 1, tzinfo=UTC)
    previous = utc_offset_at(span_start, zone)
    changes = []
    for instant, offset in transitions_between(zone, span_start, span_end):
        wall = (instant + previous).replace(tzinfo=None)
        changes.append((wall, previous, offset, to_local(instant, zone).tzname() or ""))
        previous = offset
    return changes


def _yearly_observances(changes: list[tuple], first_year: int, last_year: int) -> list[Observance] | None:
    """One observance per kind of change when each kind happens once a year, every year, on a yearly rule."""
    kinds: dict[tuple, list] = {}
    for change in changes:
        kinds.setdefault((change[1], change[2]), []).append(change)
    if len(kinds) != 2:
        return None
    observances = []
    for same_kind in kinds.values():
        walls = [change[0] for change in same_kind]
        if [wall.year for wall in walls] != list(range(walls[0].year, walls[0].year + len(walls))):
            return None
        if walls[0].year > first_year or walls[-1].year < last_year:
            return None
        rule = _yearly_rule(walls)
        if rule is None or len({change[3] for change in same_kind}) != 1:
            return None
        first = same_kind[0]
        observances.append(Observance(first[0], first[1], first[2], first[3], rule))
    return sorted(observances, key=lambda observance: observance.start)


def _yearly_rule(walls: list[datetime]) -> YearlyRule | None:
    """The rule 'n-th / last weekday of the month' (or 'weekday on one of seven days') that all walls follow."""
    month, weekday, clock = walls[0].month, walls[0].weekday(), walls[0].time()
    if any((wall.month, wall.weekday(), wall.time()) != (month, weekday, clock) for wall in walls):
        return None
    weeks = {(wall.day - 1) // 7 + 1 for wall in walls}
    if len(weeks) == 1:
        return YearlyRule(month, weekday, week=weeks.pop())
    if all(wall.day > _days_in_month(wall.year, month) - 7 for wall in walls):
        return YearlyRule(month, weekday, week=-1)
    lowest = min(wall.day for wall in walls)
    shortest = min(_days_in_month(wall.year, month) for wall in walls)
    if max(wall.day for wall in walls) - lowest <= 6 and lowest + 6 <= shortest:
        return YearlyRule(month, weekday, monthdays=tuple(range(lowest, lowest + 7)))
    return None


def _days_in_month(year: int, month: int) -> int:
    following = datetime(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def wall_time_is_unique(naive_local: datetime, zone: tzinfo) -> bool:
    """True when the wall-clock time happens exactly once in `zone` (not skipped, not repeated by a change)."""
    earlier = local_to_utc(naive_local, zone, is_dst=True)
    later = local_to_utc(naive_local, zone, is_dst=False)
    return earlier == later and to_local(earlier, zone).replace(tzinfo=None) == naive_local
