"""The fairness engine for a recurring town hall: one occurrence per period, pain shared out.

Periods begin at `from`: whole weeks or fortnights, or calendar months (same UTC day-of-month and
time, clamped to the month's end; see `scheduling_input.period_start`). With `to`, periods stop
there (fewer than `count` occurrences may result). Inside a period the candidate starts are the
usual step grid (from `from`), and the meeting must end inside the period. Each occurrence is
judged on its own date with that date's offsets.

Periods are planned greedily in order. For each, among the starts overlapping the fewest busy
headcount, the engine picks the start that makes the sorted-descending vector of the groups'
cumulative pain smallest (leximin over the `LEXIMIN_DEPTH` worst-off; each group counts once,
whatever its headcount), then the lowest total pain (pain x headcount), then the earliest. With a
ledger (`past`), the cumulative pain starts from each group's earlier burden. A slot with zero pain
for everyone never makes that vector larger, so it is always chosen when one exists.

`burden` is each group's summed pain; `fairness.jain` is Jain's index (sum x)^2 / (n * sum x^2) of
the burdens, 1.0 when every burden is 0. `dst_shifts` lists, per group, each occurrence whose local
start time differs from the previous occurrence's while some group's UTC offset changed in between
(a daylight-saving change on either side moved the meeting for them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from eventhub.domain.scheduling import Suggestion, evaluate_slot, worst_burdens
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


def plan_series(request: SeriesRequest, past: tuple[float, ...] | None = None) -> SeriesPlan:
    """One occurrence per period, balancing each group's cumulative pain (see the module docstring).

    `past` is each group's earlier burden (pain units, aligned with `request.groups`): the running
    totals start from it, so the series goes on sharing out what earlier town halls left."""
    groups, duration, step = request.groups, request.duration, request.step
    periods = series_periods(request)
    grid = SlotGrid(groups, request.start, periods[-1][1], duration, step)
    step_td, meeting = timedelta(minutes=step), timedelta(minutes=duration)
    conflict = grid.conflicts(groups)
    rows = np.fromiter((grid.row(group) for group in groups), dtype=np.int64, count=len(groups))
    heads = np.bincount(rows, weights=[group.headcount for group in groups], minlength=len(grid.rows))
    start_weight = np.asarray(past if past is not None else [0.0] * len(groups), dtype=np.float64) * duration
    cumulative = start_weight.copy()
    chosen = []
    for begin, end in periods:
        first = -((request.start - begin) // step_td)
        last = (end - meeting - request.start) // step_td
        window = conflict[first:last + 1]
        candidates = np.flatnonzero(window == window.min()) + first
        best = _leximin_choice(grid.matrix[:, candidates], rows, cumulative, heads)
        best = int(candidates[best])
        cumulative += grid.matrix[rows, best]
        chosen.append(best)
    occurrences = tuple(evaluate_slot(groups, grid.slot_start(j), duration) for j in chosen)
    own = (cumulative - start_weight) / duration
    burden = tuple((group.name, float(own[i])) for i, group in enumerate(groups))
    return SeriesPlan(occurrences, burden, jain_index([pain for _, pain in burden]), _dst_shifts(occurrences))


def _leximin_choice(columns: np.ndarray, rows: np.ndarray, cumulative: np.ndarray, heads: np.ndarray) -> int:
    """The position among `columns` (profiles x candidates) whose burdens-after are leximin-smallest,
    then the lowest total pain, then the earliest."""
    burdens = worst_burdens(columns, rows, cumulative)
    total = heads @ columns
    keys = [np.arange(columns.shape[1]), total, *burdens[::-1]]
    return int(np.lexsort(keys)[0])


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

