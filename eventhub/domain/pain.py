"""How much a meeting minute hurts one group, and the evaluation of one meeting for one group.

Every minute of a meeting gets an integer weight from the group's LOCAL wall clock:

    weight = 0                              inside the working window on a working, non-holiday day
           + (1 + h)   if outside the window, h = whole hours between the minute and the nearest
                       window edge (the first hour outside weighs 1, the next 2, ...; at most 12)
           + 20_000    if outside the window between 00:00 and 06:00 local (night)
           + 20_000    if the minute's shift date is not a working day or is a holiday

    pain = sum of the weights / duration_minutes      (mean weight per meeting minute)

so pain is comparable between groups and meetings of any length. The night and off-day weights
exceed 12 x 1,439 (the most a meeting shorter than a day can collect outside the window without
them), so a meeting with a single night or off-day minute for some group always ranks behind one
without any for every group.

The shift date of a minute is its local date, except for a window that crosses midnight
(21:00-06:00): a minute before the window's end belongs to the shift that began the evening before,
so Saturday 02:00 in a Monday-Friday night shift is Friday's shift, a working day.

`evaluate_group` is the fast evaluation used for answers (day tables of prefix sums);
`evaluate_group_slowly` is the obviously correct per-minute evaluation the tests compare against.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate

import holidays as holiday_calendars

from eventhub.domain import zones

OFF_DAY_WEIGHT = 20_000
NIGHT_WEIGHT = 20_000
NIGHT_END = 6 * 60
MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def in_window(tod: int, start: int, end: int) -> bool:
    """Whether minute-of-day `tod` lies in the working window [start, end), which may cross midnight."""
    if start < end:
        return start <= tod < end
    return tod >= start or tod < end


def outside_weight(tod: int, start: int, end: int) -> int:
    """1 + whole hours between an outside minute and the nearest window edge; 0 inside the window."""
    if in_window(tod, start, end):
        return 0
    after_end = (tod - end) % MINUTES_PER_DAY
    before_start = (start - tod - 1) % MINUTES_PER_DAY
    return 1 + min(after_end, before_start) // 60


def minute_weight(tod: int, start: int, end: int, day_ok: bool) -> int:
    """The weight of one local minute (see the module docstring); day_ok: working, non-holiday shift date."""
    weight = outside_weight(tod, start, end)
    if weight and tod < NIGHT_END:
        weight += NIGHT_WEIGHT
    if not day_ok:
        weight += OFF_DAY_WEIGHT
    return weight


def is_night(tod: int, start: int, end: int) -> bool:
    """Whether a local minute lies between 00:00 and 06:00 outside the working window."""
    return tod < NIGHT_END and not in_window(tod, start, end)


def shift_date(local_date: date, tod: int, start: int, end: int) -> date:
    """The date the shift a local minute belongs to began on (see the module docstring)."""
    if start > end and tod < end:
        return local_date - timedelta(days=1)
    return local_date


@functools.lru_cache(maxsize=4096)
def _country_year(country: str, year: int):
    with warnings.catch_warnings():  # years outside a country's table simply have no holidays
        warnings.simplefilter("ignore", UserWarning)
        return holiday_calendars.country_holidays(country, years=year)


def supported_countries() -> frozenset[str]:
    """Country codes the `holidays` package knows."""
    return frozenset(holiday_calendars.list_supported_countries())


@dataclass(frozen=True)
class WorkCalendar:
    """Which dates a group works: weekdays (0 = Monday) and a public-holiday country (or None)."""

    workdays: frozenset[int]
    country: str | None = None

    def holiday(self, day: date) -> str | None:
        if self.country is None:
            return None
        return _country_year(self.country, day.year).get(day)

    def is_workday(self, day: date) -> bool:
        return day.weekday() in self.workdays

    def is_ok(self, day: date) -> bool:
        """A working day that is not a holiday."""
        return self.is_workday(day) and self.holiday(day) is None


@dataclass(frozen=True)
class GroupPain:
    """One group's view of one meeting."""

    name: str
    local_start: str
    local_end: str
    weight: int
    duration: int
    outside_minutes: int
    workday: bool
    holiday: str | None
    night: bool
    busy: bool = False

    @property
    def pain(self) -> float:
        return self.weight / self.duration

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "local_start": self.local_start,
            "local_end": self.local_end,
            "pain": round(self.pain, 3),
            "outside_minutes": self.outside_minutes,
            "workday": self.workday,
            "holiday": self.holiday,
            "night": self.night,
            "busy": self.busy,
        }


@functools.lru_cache(maxsize=8192)
def _window_masks(start: int, end: int) -> tuple[list[int], list[int], list[int]]:
    """Per local minute of day: outside weight plus night weight, outside (0/1), night (0/1)."""
    gap = (start - end) % MINUTES_PER_DAY  # minutes outside the window, from `end` round to `start`
    from_end = [1 + min(p, gap - 1 - p) // 60 for p in range(gap)] + [0] * (MINUTES_PER_DAY - gap)
    outside = from_end[MINUTES_PER_DAY - end:] + from_end[: MINUTES_PER_DAY - end]
    night = [1 if w else 0 for w in outside[:NIGHT_END]] + [0] * (MINUTES_PER_DAY - NIGHT_END)
    weights = [w + NIGHT_WEIGHT * n for w, n in zip(outside, night, strict=True)]
    return weights, [1 if w else 0 for w in outside], night


@functools.lru_cache(maxsize=16384)
def day_minute_weights(start: int, end: int, prev_ok: bool, cur_ok: bool) -> tuple[tuple[int, ...], ...]:
    """(weights, outside 0/1) of the 1,440 minutes of one local day, given whether the day before
    and this day are working, non-holiday days; equals `minute_weight` minute by minute."""
    weights, outside, _ = _window_masks(start, end)
    cut = end if start > end else 0  # minutes before `cut` belong to the previous day's shift
    parts_w, parts_o = [], []
    for lo, hi, ok in ((0, cut, prev_ok), (cut, MINUTES_PER_DAY, cur_ok)):
        if ok:
            parts_w.append(weights[lo:hi])
            parts_o.append(outside[lo:hi])
        else:
            parts_w.append([w + OFF_DAY_WEIGHT for w in weights[lo:hi]])
            parts_o.append([1] * (hi - lo))
    return tuple(parts_w[0] + parts_w[1]), tuple(parts_o[0] + parts_o[1])


@dataclass(frozen=True)
class _DayTables:
    """Prefix sums over the 1,440 minutes of a local day, per (previous day ok, this day ok)."""

    weight: dict
    outside: dict
    night: list


@functools.lru_cache(maxsize=4096)
def _day_tables(start: int, end: int) -> _DayTables:
    weight, outside = {}, {}
    for key in ((False, False), (False, True), (True, False), (True, True)):
        minute_weights, minute_outside = day_minute_weights(start, end, *key)
        weight[key] = [0, *accumulate(minute_weights)]
        outside[key] = [0, *accumulate(minute_outside)]
    night = [0, *accumulate(_window_masks(start, end)[2])]
    return _DayTables(weight, outside, night)


def evaluate_group(group, start: datetime, duration: int, busy: bool = False, segments=None) -> GroupPain:
    """The group's pain and flags for the meeting [start, start + duration minutes).

    `segments`, when given, are `zones.offset_segments` of the group's zone over the meeting.
    """
    end_instant = start + timedelta(minutes=duration)
    tables = _day_tables(group.work_start, group.work_end)
    calendar = group.calendar
    crossing = group.work_start > group.work_end
    weight = outside = night = 0
    shift_dates: list[date] = []
    segments = segments or zones.offset_segments(group.zone, start, end_instant)
    for seg_start, seg_end, offset in segments:
        local = (seg_start + offset).replace(tzinfo=None)
        day, tod = local.date(), local.hour * 60 + local.minute
        remaining = int((seg_end - seg_start).total_seconds()) // 60
        while remaining > 0:
            stop = min(MINUTES_PER_DAY, tod + remaining)
            key = (calendar.is_ok(day - timedelta(days=1)), calendar.is_ok(day))
            weight += tables.weight[key][stop] - tables.weight[key][tod]
            outside += tables.outside[key][stop] - tables.outside[key][tod]
            night += tables.night[stop] - tables.night[tod]
            if crossing and tod < group.work_end:
                shift_dates.append(day - timedelta(days=1))
            if not crossing or stop > group.work_end:
                shift_dates.append(day)
            remaining -= stop - tod
            day, tod = day + timedelta(days=1), 0
    return GroupPain(
        name=group.name,
        local_start=zones.format_at_offset(start, segments[0][2]),
        local_end=zones.format_at_offset(end_instant, segments[-1][2]),
        weight=weight,
        duration=duration,
        outside_minutes=outside,
        workday=all(calendar.is_workday(d) for d in shift_dates),
        holiday=next((h for h in map(calendar.holiday, shift_dates) if h), None),
        night=night > 0,
        busy=busy,
    )


def evaluate_group_slowly(group, start: datetime, duration: int, busy: bool = False) -> GroupPain:
    """Same answer as `evaluate_group`, converting every single minute through pytz."""
    calendar = group.calendar
    weight = outside = 0
    night = False
    workday, holiday = True, None
    for minute in range(duration):
        local = zones.to_local(start + timedelta(minutes=minute), group.zone)
        tod = local.hour * 60 + local.minute
        shift = shift_date(local.date(), tod, group.work_start, group.work_end)
        ok = calendar.is_ok(shift)
        weight += minute_weight(tod, group.work_start, group.work_end, ok)
        outside += 0 if ok and in_window(tod, group.work_start, group.work_end) else 1
        night = night or is_night(tod, group.work_start, group.work_end)
        workday = workday and calendar.is_workday(shift)
        holiday = holiday or calendar.holiday(shift)
    end_instant = start + timedelta(minutes=duration)
    return GroupPain(
        name=group.name,
        local_start=zones.format_local(start, group.zone),
        local_end=zones.format_local(end_instant, group.zone),
        weight=weight,
        duration=duration,
        outside_minutes=outside,
        workday=workday,
        holiday=holiday,
        night=night,
        busy=busy,
    )
