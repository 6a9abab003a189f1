"""The fairness engine for a single town hall: rank candidate meeting times across groups.

Candidate starts are `from + j * step_minutes` in UTC (j = 0, 1, ...) whose meeting ends by `to`;
each is judged per group by `pain` (see `eventhub.domain.pain` for the formula) and ranked by

1. headcount of the groups whose busy blocks it overlaps (so a busy block is never overlapped
   when any alternative exists),
2. whether some group gets a night, day-off or holiday minute (a "bad" slot),
3. without past burden: `max_pain`, the pain of the worst-off group (each group counts once,
   whatever its size); with past burden (the ledger): the leximin of past-plus-this burden, i.e.
   the sorted-descending vector of the groups' burdens compared position by position (exact over the
   LEXIMIN_DEPTH worst-off groups, each group once),
4. `total_pain` = sum over groups of pain x headcount (headcount only weighs in from here),
5. the headcount of groups with zero pain (more is better),
6. the earliest start.

Steps 1 and 2 make tiers. `rank_slots` returns `limit` suggestions, best first, tier by tier: inside
a tier it prefers distinct slots (a start within one meeting duration of an already chosen start is
passed over while slots further away remain in the tier; then the passed-over starts, in rank
order), and it only goes on to the next tier when the tier is used up. So a list never holds a slot
on a holiday, a day off, at night or over a busy block while a slot without that remains.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from eventhub.domain import zones
from eventhub.domain.pain import OFF_DAY_WEIGHT, GroupPain, evaluate_group
from eventhub.domain.scheduling_input import (
    Group,
    SeriesRequest,
    SuggestionRequest,
    parse_series_request,
    parse_suggestion_request,
)
from eventhub.domain.slot_grid import SlotGrid

__all__ = [
    "Group",
    "GroupPain",
    "SeriesRequest",
    "Suggestion",
    "SuggestionRequest",
    "evaluate_slot",
    "parse_series_request",
    "parse_suggestion_request",
    "rank_slots",
]

LEXIMIN_DEPTH = 16  # the burdens compared one by one, worst first; total pain decides beyond them
_CHUNK = 512  # candidate starts per block when burdens are summed, to bound memory


@dataclass(frozen=True)
class Suggestion:
    """One meeting time with every group's view of it."""

    start: datetime
    end: datetime
    groups: tuple[GroupPain, ...]
    max_pain: float
    total_pain: float

    def to_json(self) -> dict:
        return {
            "start": zones.format_utc(self.start),
            "end": zones.format_utc(self.end),
            "max_pain": round(self.max_pain, 3),
            "total_pain": round(self.total_pain, 3),
            "groups": [group.to_json() for group in self.groups],
        }


def evaluate_slot(groups: tuple[Group, ...], start: datetime, duration: int) -> Suggestion:
    """Every group's pain and flags for the meeting [start, start + duration minutes).

    Groups with the same offsets, hours and calendar share one evaluation; only names and busy flags differ."""
    end = start + timedelta(minutes=duration)
    segments: dict[str, list] = {}
    shared: dict[tuple, GroupPain] = {}
    views = []
    for group in groups:
        name = zones.zone_name(group.zone)
        if name not in segments:
            segments[name] = tuple(zones.offset_segments(group.zone, start, end))
        # zones at the same offsets during the meeting read the same local times: one evaluation
        profile = (segments[name], group.work_start, group.work_end, group.calendar)
        view = shared.get(profile)
        if view is None:
            view = shared[profile] = evaluate_group(group, start, duration, segments=list(segments[name]))
        busy = overlaps_busy(group.busy, start, end)
        views.append(view if view.name == group.name and not busy else _as_group(view, group.name, busy))
    return Suggestion(
        start=start,
        end=end,
        groups=tuple(views),
        max_pain=max(view.weight for view in views) / duration,
        total_pain=sum(v.weight * g.headcount for v, g in zip(views, groups, strict=True)) / duration,
    )


def overlaps_busy(busy: tuple[tuple[datetime, datetime], ...], start: datetime, end: datetime) -> bool:
    """Whether [start, end) overlaps one of the merged (sorted, disjoint) busy intervals."""
    if len(busy) < 16:  # a plain scan beats the bisection's key calls for a few blocks
        return any(b0 < end and start < b1 for b0, b1 in busy)
    # the last interval starting before `end` is the only one that can reach past `start`
    index = bisect_left(busy, end, key=_block_start) - 1
    return index >= 0 and busy[index][1] > start


def _block_start(block: tuple[datetime, datetime]) -> datetime:
    return block[0]


def _as_group(view: GroupPain, name: str, busy: bool) -> GroupPain:
    # a plain constructor call: dataclasses.replace costs several times more, ten thousand times over
    return GroupPain(name, view.local_start, view.local_end, view.weight, view.duration, view.outside_minutes,
                     view.workday, view.holiday, view.night, busy)


def rank_slots(request: SuggestionRequest, past: tuple[float, ...] | None = None) -> list[Suggestion]:
    """The `request.limit` best meeting times, best first (see the module docstring).

    `past` is each group's earlier burden (pain units, aligned with `request.groups`), or None."""
    grid = SlotGrid(request.groups, request.start, request.end, request.duration, request.step)
    order, tiers = ranked_tiers(grid, request.groups, past)
    chosen = choose_by_tier(order, tiers, request.limit, request.duration, request.step)
    return [evaluate_slot(request.groups, grid.slot_start(j), request.duration) for j in chosen]


def rank_order(grid: SlotGrid, groups: tuple[Group, ...], past: tuple[float, ...] | None = None) -> list[int]:
    """Indices of all candidate starts, best first."""
    return ranked_tiers(grid, groups, past)[0].tolist()


def ranked_tiers(grid: SlotGrid, groups: tuple[Group, ...], past=None) -> tuple[np.ndarray, np.ndarray]:
    """All candidate starts best first, and each one's tier number (ascending along the order)."""
    rows = np.fromiter((grid.row(group) for group in groups), dtype=np.int64, count=len(groups))
    heads_by_group = np.fromiter((group.headcount for group in groups), dtype=np.int64, count=len(groups))
    heads = np.bincount(rows, weights=heads_by_group, minlength=len(grid.rows)).astype(np.int64)
    matrix = grid.matrix
    conflict = grid.conflicts(groups)
    worst = matrix.max(axis=0)
    bad = worst >= OFF_DAY_WEIGHT
    total = heads @ matrix
    zero_heads = heads @ (matrix == 0)
    index = np.arange(grid.n_slots)
    if past is not None and any(past):
        burdens = worst_burdens(matrix, rows, np.asarray(past, dtype=np.float64) * grid.duration)
        keys = [index, -zero_heads, total, *burdens[::-1], bad, conflict]
    else:
        keys = [index, -zero_heads, total, worst, bad, conflict]
    order = np.lexsort(keys)
    tier_key = conflict[order] * 2 + bad[order]
    tiers = np.concatenate(([0], np.cumsum(tier_key[1:] != tier_key[:-1])))
    return order, tiers


def worst_burdens(matrix: np.ndarray, rows: np.ndarray, past_weight: np.ndarray) -> list[np.ndarray]:
    """Per candidate start, the LEXIMIN_DEPTH largest past-plus-this burdens, largest first.

    Groups sharing a profile and a past are one unit repeated, so the work grows with the units."""
    units, inverse = np.unique(np.stack([rows.astype(np.float64), past_weight]), axis=1, return_inverse=True)
    counts = np.bincount(inverse.ravel())
    unit_rows, unit_past = units[0].astype(np.int64), units[1]
    depth = min(LEXIMIN_DEPTH, len(rows))
    n_slots = matrix.shape[1]
    out = np.empty((depth, n_slots))
    for lo in range(0, n_slots, _CHUNK):
        values = matrix[unit_rows, lo:lo + _CHUNK] + unit_past[:, None]
        take = min(depth, len(unit_rows))
        if take < len(unit_rows):
            top = np.argpartition(-values, take - 1, axis=0)[:take]
        else:
            top = np.broadcast_to(np.arange(take)[:, None], (take, values.shape[1]))
        top_values = np.take_along_axis(values, top, axis=0)
        order = np.argsort(-top_values, axis=0, kind="stable")
        top_values = np.take_along_axis(top_values, order, axis=0)
        top_counts = counts[np.take_along_axis(top, order, axis=0)]
        # each unit stands for `count` groups: position p holds the first unit whose counts pass p
        reach = np.cumsum(top_counts, axis=0)
        for position in range(depth):
            unit = (reach <= position).sum(axis=0)
            out[position, lo:lo + values.shape[1]] = np.take_along_axis(top_values, unit[None], axis=0)[0]
    return list(out)


def choose_by_tier(order, tiers, limit: int, duration: int, step: int) -> list[int]:
    """Up to `limit` starts: tier by tier, distinct slots first inside each tier."""
    reach = -(-duration // step)  # starts closer than this many steps overlap
    chosen: list[int] = []
    blocked: set[int] = set()
    boundaries = np.flatnonzero(np.diff(tiers)) + 1
    for members in np.split(np.asarray(order), boundaries):
        passed_over: list[int] = []
        for j in members.tolist():
            if len(chosen) == limit:
                return chosen
            if j in blocked:
                passed_over.append(j)
                continue
            chosen.append(j)
            blocked.update(range(j - reach + 1, j + reach))
        chosen.extend(passed_over[: limit - len(chosen)])
        if len(chosen) == limit:
            return chosen
    return chosen
