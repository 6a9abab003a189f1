"""The fairness engine for a recurring town hall: one occurrence per period, pain shared out.

Periods begin at `from`: whole weeks or fortnights, or calendar months (same UTC day-of-month and
time, clamped to the month's end; see `scheduling_input.period_start`). With `to`, periods stop
there (fewer than `count` occurrences may result). Inside a period the candidate starts are the
usual step grid (from `from`), and the meeting must end inside the period. Each occurrence is
judged on its own date with that date's offsets.

Periods are planned greedily in order. For each, among the starts overlapping the fewest busy
headcount, the engine picks the start that makes the sorted-descending vector of the groups'
cumulative pain smallest (leximin; each group counts once, whatever its headcount), then the lowest
total pain (pain x headcount), then the earliest. A slot with zero pain for everyone never makes
that vector larger, so it is always chosen when one exists.

`burden` is each group's summed pain; `fairness.jain` is Jain's index (sum x)^2 / (n * sum x^2) of
the burdens, 1.0 when every burden is 0. `dst_shifts` lists, per group, each occurrence whose local
start time differs from the previous occurrence's while some group's UTC offset changed in between
(a daylight-saving change on either side moved the meeting for them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import repeat
from operator import add

from eventhub.domain.scheduling import Suggestion, evaluate_slot
from eventhub.domain.scheduling_input import SeriesRequest, period_start
from eventhub.domain.slot_grid import SlotGrid


@dataclass(frozen=True)
class DstShift:
    name: str
    date: str  # local date of the first occurrence at the new local time
    before: str  # "HH:MM"
    after: str


@dataclass(frozen=True)
class SeriesPlan:
    occurrences: tuple[Suggestion, ...]
    burden: tuple[tuple[str, float], ...]
    jain: float
    dst_shifts: tuple[DstShift, ...]

    def to_json(self) -> dict:
        shifts: dict[str, list] = {}
        for shift in self.dst_shifts:
            shifts.setdefault(shift.name, []).append(
                {"date": shift.date, "from": shift.before, "to": shift.after}
            )
        return {
            "occurrences": [occurrence.to_json() for occurrence in self.occurrences],
            "burden": [{"name": name, "pain": round(pain, 3)} for name, pain in self.burden],
            "fairness": {"jain": round(self.jain, 3)},
            "dst_shifts": [{"name": name, "changes": changes} for name, changes in shifts.items()],
        }


def series_periods(request: SeriesRequest) -> list[tuple[datetime, datetime]]:
    """The [start, end) of every period that has room for a meeting."""
    periods = []
    for index in range(request.count):
        begin = period_start(request.start, request.every, index)
        end = period_start(request.start, request.every, index + 1)
        if request.end is not None:
            end = min(end, request.end)
        if end - begin < timedelta(minutes=request.duration):
            break
        periods.append((begin, end))
    return periods


def plan_series(request: SeriesRequest) -> SeriesPlan:
    """One occurrence per period, balancing each group's cumulative pain (see the module docstring)."""
    groups, duration, step = request.groups, request.duration, request.step
    periods = series_periods(request)
    grid = SlotGrid(groups, request.start, periods[-1][1], duration, step)
    step_td, meeting = timedelta(minutes=step), timedelta(minutes=duration)
    conflict = [0] * grid.n_slots
    for group in groups:
        for j in grid.busy_slots(group):
            conflict[j] += group.headcount
    cumulative = dict.fromkeys(range(len(groups)), 0)
    chosen = []
    for begin, end in periods:
        first = -((request.start - begin) // step_td)
        last = (end - meeting - request.start) // step_td
        candidates = range(first, last + 1)
        least = min(conflict[j] for j in candidates)
        candidates = [j for j in candidates if conflict[j] == least]
        best = _leximin_choice(grid, groups, cumulative, candidates)
        for index, group in enumerate(groups):
            cumulative[index] += grid.column(group)[best]
        chosen.append(best)
    occurrences = tuple(evaluate_slot(groups, grid.slot_start(j), duration) for j in chosen)
    burden = tuple((group.name, cumulative[i] / duration) for i, group in enumerate(groups))
    return SeriesPlan(occurrences, burden, jain_index([pain for _, pain in burden]), _dst_shifts(occurrences))


def _leximin_choice(grid: SlotGrid, groups, cumulative: dict[int, int], candidates: list[int]) -> int:
    # groups of one profile share their pain column and so their running total: one unit each
    units: dict[tuple, list] = {}
    for index, group in enumerate(groups):
        unit = units.setdefault((group.profile, cumulative[index]), [grid.column(group), 0, 0])
        unit[1] += 1
        unit[2] += group.headcount
    lo, hi = candidates[0], candidates[-1] + 1
    shifted = [list(map(add, column[lo:hi], repeat(cum))) for (_, cum), (column, _, _) in units.items()]
    worst = list(map(max, *shifted)) if len(shifted) > 1 else shifted[0]
    floor = min(worst[j - lo] for j in candidates)
    tied = [j for j in candidates if worst[j - lo] == floor]
    if len(tied) == 1:
        return tied[0]
    members = [(values, n, heads) for values, (_, n, heads) in zip(shifted, units.values(), strict=True)]

    def key(j: int) -> tuple:
        vector = sorted(((values[j - lo], count) for values, count, _ in members), reverse=True)
        expanded = [value for value, count in vector for _ in range(count)]
        total = sum(values[j - lo] * heads for values, _, heads in members)  # plus a constant
        return expanded, total, j

    return min(tied, key=key)


def jain_index(burdens: list[float]) -> float:
    """Jain's fairness index of the burdens: 1.0 when all are equal (or all zero), 1/n at worst."""
    squares = sum(x * x for x in burdens)
    if squares == 0:
        return 1.0
    return sum(burdens) ** 2 / (len(burdens) * squares)


def _dst_shifts(occurrences: tuple[Suggestion, ...]) -> tuple[DstShift, ...]:
    shifts = []
    for previous, current in zip(occurrences, occurrences[1:], strict=False):
        offsets_moved = any(
            before.local_start[19:] != after.local_start[19:]
            for before, after in zip(previous.groups, current.groups, strict=True)
        )
        if not offsets_moved:
            continue
        for before, after in zip(previous.groups, current.groups, strict=True):
            if before.local_start[11:16] != after.local_start[11:16]:
                moved = DstShift(
                    after.name, after.local_start[:10], before.local_start[11:16], after.local_start[11:16]
                )
                shifts.append(moved)
    return tuple(shifts)

