"""Every time-zone conversion of the domain goes through this module.

pytz is the zone database. Only `localize()` and `normalize()` (and pytz's own `fromutc`, reached
through `astimezone`) touch a zone: a pytz zone passed as `tzinfo=` silently gives local mean time.
Instants are aware UTC datetimes (`datetime.timezone.utc`); local times are pytz-aware datetimes.

pytz tabulates daylight-saving rules up to 2037 only, so the domain accepts instants between
`EARLIEST` and `LATEST`; inside that range every offset is a whole number of minutes.
"""

from __future__ import annotations

import bisect
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
