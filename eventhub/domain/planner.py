"""The meeting-planner grid: a row per group, a column per candidate hour, each cell that group's view.

Columns are whole hours before and after an anchor instant (usually the chosen meeting time), so
every column keeps the anchor's minutes and each group's local time reads at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from eventhub.domain import zones
from eventhub.domain.scheduling import Group, evaluate_slot

# Pain levels for colouring: 0 inside working hours ... 4 night, a day off or a holiday.
LEVEL_LIMITS = (0.0, 1.0, 3.0, 1000.0)


@dataclass(frozen=True)
class PlannerCell:
    local_time: str  # "10:00"
    local_date: str  # "Tue 2 Mar"
    new_day: bool  # the local date differs from the previous column's
    pain: float
    level: int
    night: bool
    workday: bool
    holiday: str | None
    busy: bool


@dataclass(frozen=True)
class PlannerColumn:
    start: datetime
    utc_label: str  # "14:30"
    chosen: bool


@dataclass(frozen=True)
class PlannerRow:
    name: str
    timezone: str
    cells: tuple[PlannerCell, ...]


@dataclass(frozen=True)
class PlannerGrid:
    columns: tuple[PlannerColumn, ...]
    rows: tuple[PlannerRow, ...]


def pain_level(pain: float) -> int:
    """0 when the meeting is inside working hours, up to 4 for night, days off and holidays."""
    for level, limit in enumerate(LEVEL_LIMITS):
        if pain <= limit:
            return level
    return len(LEVEL_LIMITS)


def planner_grid(groups: tuple[Group, ...], duration: int, anchor: datetime, chosen: set[datetime] = frozenset(),
                 hours_before: int = 11, hours_after: int = 12) -> PlannerGrid:
    """The grid of meetings starting at `anchor` + k hours for k in [-hours_before, hours_after]."""
    starts = [anchor + timedelta(hours=k) for k in range(-hours_before, hours_after + 1)]
    columns = tuple(
        PlannerColumn(start=start, utc_label=start.strftime("%H:%M"), chosen=start in chosen) for start in starts
    )
    views = [evaluate_slot(groups, start, duration).groups for start in starts]
    rows = []
    for index, group in enumerate(groups):
        cells, previous_date = [], None
        for column_views in views:
            view = column_views[index]
            local = datetime.fromisoformat(view.local_start)
            local_date = f"{local:%a} {local.day} {local:%b}"
            cells.append(PlannerCell(
                local_time=f"{local:%H:%M}",
                local_date=local_date,
                new_day=local_date != previous_date,
                pain=view.pain,
                level=pain_level(view.pain),
                night=view.night,
                workday=view.workday,
                holiday=view.holiday,
                busy=view.busy,
            ))
            previous_date = local_date
        rows.append(PlannerRow(name=group.name, timezone=zones.zone_name(group.zone), cells=tuple(cells)))
    return PlannerGrid(columns=columns, rows=tuple(rows))
