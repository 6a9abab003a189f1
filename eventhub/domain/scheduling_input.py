"""Parsing of the scheduling request bodies (already-decoded JSON) into domain objects.

Any JSON value whatsoever either parses or raises InvalidField naming the offending field with its
path (`groups[1].timezone`, `groups[2].busy[0].end`, `duration_minutes`). Choices made here:

- integers must be JSON integers (`60`, not `60.0`, `"60"` or `true`);
- `work_start`/`work_end` are "HH:MM" or "H:MM" on a 24-hour clock, 00:00-23:59 ("9:00" is fine,
  "24:00" is not: write midnight as "00:00"); a window whose end is earlier than its start crosses
  midnight; start == end is refused;
- `workdays` are distinct names from mon..sun (any letter case), at least one;
- `holidays` is null or a country code known to the `holidays` package (any letter case);
- instants are ISO 8601 with an offset ('Z' or '+hh:mm'), between 1990 and 2037 (pytz's tables end
  in 2037); `from` must fall on a whole minute;
- `step_minutes` divides an hour and is at least 5: 5, 6, 10, 12, 15, 20, 30 or 60;
- group names hold no control characters (NUL included) and no lone surrogates;
- busy blocks are merged into sorted, non-overlapping intervals as soon as they are read;
- `history` is true (the default: the organizer's earlier town halls count, over the default window),
  false, or {"from": instant, "to": instant} (either may be left out or null);
- `calendars` are at most MAX_CALENDARS_PER_GROUP addresses per group, MAX_CALENDARS in a request.

Every request's work is bounded: at most MAX_GROUPS groups, MAX_BUSY_TOTAL busy blocks in all,
`limit` (or a series' `count`) x groups at most MAX_GROUP_VIEWS (the size of the answer) and x
distinct group profiles at most MAX_PROFILE_VIEWS (the views computed afresh), a series at most
MAX_SERIES_STARTS candidate starts; past any of them the answer is InvalidField naming the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from eventhub.domain import zones
from eventhub.domain.calendar import EVERY_CHOICES
from eventhub.domain.errors import InvalidField
from eventhub.domain.pain import WEEKDAYS, WorkCalendar, supported_countries

MAX_GROUPS = 10_000
MAX_BUSY_PER_GROUP = 500
MAX_BUSY_TOTAL = 60_000
MAX_GROUP_VIEWS = 50_000  # limit x groups: the group views one answer may hold
MAX_PROFILE_VIEWS = 12_000  # limit x distinct (zone, hours, calendar): the views that are computed afresh
MAX_SERIES_STARTS = 220_000  # candidate starts over a whole series (two years at 5-minute steps)
MAX_CALENDARS_PER_GROUP = 20
MAX_CALENDARS = 50  # one Calendar freeBusy query answers at most 50 calendars
MAX_NAME_LENGTH = 100
MAX_HEADCOUNT = 1_000_000
MAX_RANGE = timedelta(days=92)
MAX_DURATION_MINUTES = 24 * 60 - 1
STEP_CHOICES = (5, 6, 10, 12, 15, 20, 30, 60)
DEFAULT_STEP = 15
DEFAULT_LIMIT = 5
MAX_LIMIT = 100
MAX_COUNT = 104
DEFAULT_WORKDAYS = frozenset(range(5))

_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_UNCLEAN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_ADDRESS = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")


@dataclass(frozen=True)
class HistoryWindow:
    """Which earlier town halls count: starts in [start, end); None is the default edge
    (the last 12 months before now; no end, so what is already scheduled counts too)."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class Group:
    """One group of attendees sharing a zone and working hours; busy blocks are UTC intervals, merged
    (sorted and disjoint, see `merge_intervals`): the busy test bisects them."""

    name: str
    zone: tzinfo
    work_start: int  # minutes after local midnight
    work_end: int
    calendar: WorkCalendar
    headcount: int = 1
    busy: tuple[tuple[datetime, datetime], ...] = ()
    calendars: tuple[str, ...] = ()

    @property
    def profile(self) -> tuple:
        """Everything its pain depends on apart from busy blocks: equal profiles, equal pain."""
        return (zones.zone_name(self.zone), self.work_start, self.work_end, self.calendar)


@dataclass(frozen=True)
class SuggestionRequest:
    groups: tuple[Group, ...]
    duration: int  # minutes
    start: datetime  # `from`
    end: datetime  # `to`
    step: int = DEFAULT_STEP
    limit: int = DEFAULT_LIMIT
    history: HistoryWindow | None = HistoryWindow()


@dataclass(frozen=True)
class SeriesRequest:
    groups: tuple[Group, ...]
    duration: int
    start: datetime  # start of the first period
    count: int
    every: str
    end: datetime | None = None
    step: int = DEFAULT_STEP
    history: HistoryWindow | None = HistoryWindow()


def parse_suggestion_request(payload: object) -> SuggestionRequest:
    """A SuggestionRequest from the body of POST /api/v1/suggestions; InvalidField otherwise."""
    body = _require_object(payload, "body")
    groups = _parse_groups(body.get("groups"))
    duration = _parse_int(body.get("duration_minutes"), "duration_minutes", 1, MAX_DURATION_MINUTES)
    start = _parse_from(body.get("from"))
    end = zones.parse_instant(body.get("to"), "to")
    if end <= start:
        raise InvalidField("to", "must be later than 'from'")
    if end - start > MAX_RANGE:
        raise InvalidField("to", f"the range may span at most {MAX_RANGE.days} days")
    if end - start < timedelta(minutes=duration):
        raise InvalidField("to", "the range is shorter than the meeting")
    limit = _parse_int(body.get("limit", DEFAULT_LIMIT), "limit", 1, MAX_LIMIT)
    _check_answer_size(groups, limit, "limit")
    return SuggestionRequest(
        groups=groups,
        duration=duration,
        start=start,
        end=end,
        step=_parse_step(body.get("step_minutes", DEFAULT_STEP)),
        limit=limit,
        history=_parse_history(body.get("history", True)),
    )


def parse_series_request(payload: object) -> SeriesRequest:
    """A SeriesRequest from the body of POST /api/v1/series; InvalidField otherwise."""
    body = _require_object(payload, "body")
    groups = _parse_groups(body.get("groups"))
    duration = _parse_int(body.get("duration_minutes"), "duration_minutes", 1, MAX_DURATION_MINUTES)
    start = _parse_from(body.get("from"))
    count = _parse_int(body.get("count"), "count", 1, MAX_COUNT)
    every = body.get("every")
    if every not in EVERY_CHOICES:
        raise InvalidField("every", "must be one of " + ", ".join(repr(c) for c in EVERY_CHOICES))
    end = None
    if body.get("to") is not None:
        end = zones.parse_instant(body.get("to"), "to")
        if end - start < timedelta(minutes=duration):
            raise InvalidField("to", "must leave room for at least one meeting after 'from'")
    _check_answer_size(groups, count, "count")
    last = period_start(start, every, count)
    if last >= zones.LATEST:
        raise InvalidField("count", f"the series would run past {zones.LATEST.year - 1}")
    step = _parse_step(body.get("step_minutes", DEFAULT_STEP))
    span = (min(last, end) if end is not None else last) - start
    if span // timedelta(minutes=step) > MAX_SERIES_STARTS:
        raise InvalidField(
            "count", f"the series spans more than {MAX_SERIES_STARTS:,} candidate starts; "
            "lower count, set 'to' or raise step_minutes"
        )
    return SeriesRequest(
        groups=groups,
        duration=duration,
        start=start,
        count=count,
        every=every,
        end=end,
        step=step,
        history=_parse_history(body.get("history", True)),
    )


def _check_answer_size(groups: tuple[Group, ...], times: int, field: str) -> None:
    """`times` meetings, each with a view per group: bounded in size and in fresh evaluations."""
    if times * len(groups) > MAX_GROUP_VIEWS:
        raise InvalidField(field, f"{field} x groups may be at most {MAX_GROUP_VIEWS:,} (here {times} x {len(groups)})")
    profiles = len({group.profile for group in groups})
    if times * profiles > MAX_PROFILE_VIEWS:
        raise InvalidField(field, f"{field} x distinct groups (zone, hours, holidays) may be at most "
                                  f"{MAX_PROFILE_VIEWS:,} (here {times} x {profiles})")


def merge_intervals(blocks) -> tuple[tuple[datetime, datetime], ...]:
    """Sorted, non-overlapping intervals covering the same time as `blocks` (touching ones joined)."""
    merged: list[list[datetime]] = []
    for begin, end in sorted(blocks):
        if merged and begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    return tuple((begin, end) for begin, end in merged)


def _parse_history(value: object) -> HistoryWindow | None:
    if value is True:
        return HistoryWindow()
    if value is False:
        return None
    window = _require_object(value, "history") if isinstance(value, dict) else None
    if window is None:
        raise InvalidField("history", "must be true, false or {\"from\": ..., \"to\": ...}")
    start = None if window.get("from") is None else zones.parse_instant(window.get("from"), "history.from")
    end = None if window.get("to") is None else zones.parse_instant(window.get("to"), "history.to")
    if start is not None and end is not None and end <= start:
        raise InvalidField("history.to", "must be later than history.from")
    return HistoryWindow(start, end)


def period_start(first: datetime, every: str, index: int) -> datetime:
    """Start of period `index` of a series: whole weeks after `first`, or the same day-of-month
    (clamped to the month's last day) and UTC time `index` calendar months later."""
    if every == "week":
        return first + timedelta(weeks=index)
    if every == "2 weeks":
        return first + timedelta(weeks=2 * index)
    months = first.month - 1 + index
    year, month = first.year + months // 12, months % 12 + 1
    if year > 9998:
        return zones.LATEST
    next_month = datetime(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return first.replace(year=year, month=month, day=min(first.day, last_day))


def _require_object(value: object, field: str) -> dict:
    if not isinstance(value, dict):
        raise InvalidField(field, "must be a JSON object")
    return value


def _parse_int(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidField(field, f"must be a whole number from {low} to {high}")
    if not low <= value <= high:
        raise InvalidField(field, f"must be from {low} to {high}")
    return value


def _parse_step(value: object) -> int:
    if isinstance(value, bool) or value not in STEP_CHOICES or not isinstance(value, int):
        raise InvalidField("step_minutes", "must be one of " + ", ".join(map(str, STEP_CHOICES)))
    return value


def _parse_from(value: object) -> datetime:
    start = zones.parse_instant(value, "from")
    if start.second or start.microsecond:
        raise InvalidField("from", "must fall on a whole minute")
    return start


def _parse_clock(value: object, field: str) -> int:
    match = _CLOCK.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidField(field, "must be a time of day 'HH:MM' from 00:00 to 23:59")
    return int(match[1]) * 60 + int(match[2])


def _parse_groups(value: object) -> tuple[Group, ...]:
    if not isinstance(value, list):
        raise InvalidField("groups", "must be a list of groups")
    if not value:
        raise InvalidField("groups", "needs at least one group")
    if len(value) > MAX_GROUPS:
        raise InvalidField("groups", f"at most {MAX_GROUPS} groups")
    groups, seen = [], set()
    busy_total = calendars_total = 0
    for index, item in enumerate(value):
        given = item.get("busy") if isinstance(item, dict) else None
        busy_total += len(given) if isinstance(given, list) else 0  # as given, before they are merged
        if busy_total > MAX_BUSY_TOTAL:
            raise InvalidField(f"groups[{index}].busy", f"at most {MAX_BUSY_TOTAL:,} busy blocks in all groups")
        group = _parse_group(item, f"groups[{index}]")
        if group.name in seen:
            raise InvalidField(f"groups[{index}].name", f"another group is already called {group.name!r}")
        seen.add(group.name)
        calendars_total += len(group.calendars)
        if calendars_total > MAX_CALENDARS:
            raise InvalidField(f"groups[{index}].calendars", f"at most {MAX_CALENDARS} calendars in all groups")
        groups.append(group)
    return tuple(groups)


def _parse_group(value: object, path: str) -> Group:
    item = _require_object(value, path)
    name = item.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise InvalidField(
            f"{path}.name", f"must be a non-empty text of at most {MAX_NAME_LENGTH} characters"
        )
    if not is_clean_text(name):
        raise InvalidField(f"{path}.name", "must not hold control characters or lone surrogates")
    zone = zones.get_zone(item.get("timezone"), f"{path}.timezone")
    work_start = _parse_clock(item.get("work_start"), f"{path}.work_start")
    work_end = _parse_clock(item.get("work_end"), f"{path}.work_end")
    if work_start == work_end:
        raise InvalidField(f"{path}.work_end", "must differ from work_start")
    calendar = WorkCalendar(
        workdays=_parse_workdays(item.get("workdays"), f"{path}.workdays"),
        country=_parse_country(item.get("holidays"), f"{path}.holidays"),
    )
    headcount = _parse_int(item.get("headcount", 1), f"{path}.headcount", 1, MAX_HEADCOUNT)
    busy = _parse_busy(item.get("busy"), f"{path}.busy")
    calendars = _parse_calendars(item.get("calendars"), f"{path}.calendars")
    return Group(name, zone, work_start, work_end, calendar, headcount, busy, calendars)


def is_clean_text(text: str) -> bool:
    """No control characters (Unicode category Cc: NUL, escapes, line breaks) and no lone surrogates."""
    return _UNCLEAN.search(text) is None


def _parse_calendars(value: object, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_CALENDARS_PER_GROUP:
        raise InvalidField(path, f"must be a list of at most {MAX_CALENDARS_PER_GROUP} calendar addresses")
    addresses = []
    for index, address in enumerate(value):
        if not isinstance(address, str) or not _ADDRESS.fullmatch(address) or not is_clean_text(address):
            raise InvalidField(f"{path}[{index}]", "must be a calendar address such as 'ana@example.com'")
        addresses.append(address)
    return tuple(dict.fromkeys(addresses))


def _parse_workdays(value: object, path: str) -> frozenset[int]:
    if value is None:
        return DEFAULT_WORKDAYS
    if not isinstance(value, list) or not value:
        raise InvalidField(path, "must be a non-empty list of weekday names such as 'mon'")
    days: set[int] = set()
    for index, name in enumerate(value):
        day = WEEKDAYS.index(name.lower()) if isinstance(name, str) and name.lower() in WEEKDAYS else None
        if day is None:
            raise InvalidField(f"{path}[{index}]", "must be one of " + ", ".join(WEEKDAYS))
        if day in days:
            raise InvalidField(f"{path}[{index}]", f"{name!r} is listed twice")
        days.add(day)
    return frozenset(days)


def _parse_country(value: object, path: str) -> str | None:
    if value is None:
        return None
    code = value.upper() if isinstance(value, str) else None
    if code is None or code not in supported_countries():
        raise InvalidField(path, "must be a country code the holidays calendar knows, such as 'US'")
    return code


def _parse_busy(value: object, path: str) -> tuple[tuple[datetime, datetime], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidField(path, "must be a list of {start, end} blocks")
    if len(value) > MAX_BUSY_PER_GROUP:
        raise InvalidField(path, f"at most {MAX_BUSY_PER_GROUP} busy blocks per group")
    try:  # the common case without building a field path per block
        blocks = [_busy_block(item, path) for item in value]
    except InvalidField:
        blocks = [_busy_block(item, f"{path}[{index}]") for index, item in enumerate(value)]
    return merge_intervals(blocks)


def _busy_block(item: object, path: str) -> tuple[datetime, datetime]:
    block = _require_object(item, path)
    start = zones.parse_instant(block.get("start"), f"{path}.start")
    end = zones.parse_instant(block.get("end"), f"{path}.end")
    if end <= start:
        raise InvalidField(f"{path}.end", "must be later than start")
    return start, end
