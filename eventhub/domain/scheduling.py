"""The fairness engine for a single town hall: rank candidate meeting times across groups.

Candidate starts are `from + j * step_minutes` in UTC (j = 0, 1, ...) whose meeting ends by `to`;
each is judged per group by `pain` (see `eventhub.domain.pain` for the formula) and ranked by

1. headcount of the groups whose busy blocks it overlaps (so a busy block is never overlapped
   when any alternative exists),
2. `max_pain`, the pain of the worst-off group (each group counts once, whatever its size),
3. `total_pain` = sum over groups of pain x headcount (headcount only weighs in from here),
4. the headcount of groups with zero pain (more is better),
5. the earliest start.

`rank_slots` returns `limit` suggestions, best first, preferring distinct slots: a start within
one meeting duration of an already chosen start is passed over while slots further away remain;
only when those run out are the passed-over starts used, again in rank order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import compress, groupby, repeat
from operator import add, mul

from eventhub.domain import zones
from eventhub.domain.pain import GroupPain, evaluate_group
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
    """Every group's pain and flags for the meeting [start, start + duration minutes)."""
    end = start + timedelta(minutes=duration)
    segments: dict[str, list] = {}
    for group in groups:
        name = zones.zone_name(group.zone)
        if name not in segments:
            segments[name] = zones.offset_segments(group.zone, start, end)
    views = tuple(
        evaluate_group(
            group, start, duration,
            busy=any(b0 < end and start < b1 for b0, b1 in group.busy),
            segments=segments[zones.zone_name(group.zone)],
        )
        for group in groups
    )
    return Suggestion(
        start=start,
        end=end,
        groups=views,
        max_pain=max(view.weight for view in views) / duration,
        total_pain=sum(v.weight * g.headcount for v, g in zip(views, groups, strict=True)) / duration,
    )


def rank_slots(request: SuggestionRequest) -> list[Suggestion]:
    """The `request.limit` best meeting times, best first (see the module docstring)."""
    grid = SlotGrid(request.groups, request.start, request.end, request.duration, request.step)
    order = rank_order(grid, request.groups)
    chosen = _distinct_first(order, request.limit, request.duration, request.step)
    return [evaluate_slot(request.groups, grid.slot_start(j), request.duration) for j in chosen]


def rank_order(grid: SlotGrid, groups: tuple[Group, ...]) -> list[int]:
    """Indices of all candidate starts, best first."""
    n = grid.n_slots
    headcounts: dict[tuple, int] = {}
    for group in groups:
        key = grid.key(group)
        headcounts[key] = headcounts.get(key, 0) + group.headcount
    heads = [headcounts[key] for key in grid.columns]
    columns = list(grid.columns.values())
    worst = list(map(max, *columns)) if len(columns) > 1 else list(columns[0])
    total = [0] * n
    for column, weight in zip(columns, heads, strict=True):
        total = list(map(add, total, map(mul, column, repeat(weight)) if weight != 1 else column))
    conflict = [0] * n
    for group in groups:
        for j in grid.busy_slots(group):
            conflict[j] += group.headcount
    order = sorted(zip(conflict, worst, total, range(n), strict=True))
    # the headcount without pain breaks remaining ties; all-zero slots are comfortable for everyone
    ranked: list[int] = []
    for _, run in groupby(order, key=lambda entry: entry[:3]):
        members = [entry[3] for entry in run]
        if len(members) > 1 and worst[members[0]]:
            members.sort(key=lambda j: -sum(compress(heads, [not column[j] for column in columns])))
        ranked.extend(members)
    return ranked


def _distinct_first(order: list[int], limit: int, duration: int, step: int) -> list[int]:
    reach = -(-duration // step)  # starts closer than this many steps overlap
    chosen: list[int] = []
    blocked: set[int] = set()
    passed_over: list[int] = []
    for j in order:
        if len(chosen) == limit:
            return chosen
        if j in blocked:
            passed_over.append(j)
            continue
        chosen.append(j)
        blocked.update(range(j - reach + 1, j + reach))
    return chosen + passed_over[: limit - len(chosen)]
