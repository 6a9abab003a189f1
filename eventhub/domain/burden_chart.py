"""Bar charts of burden (pain per group) as plain geometry, drawn as SVG by the /schedule template.

The chart is a viewBox of WIDTH units that the page stretches to its width, so it reads the same on a
phone and a desk. Each group is a row: its name on a line of its own, then one bar per series of
values (the past ledger, then what each suggestion would make it). Pain spans 0 to tens of
thousands (a night minute weighs 20,000), so bar lengths follow log10(1 + pain): an hour outside
working hours stays visible beside a night.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH = 320
LABEL_HEIGHT = 16
BAR_HEIGHT = 10
BAR_GAP = 3
ROW_GAP = 10
VALUE_ROOM = 110  # units kept right of the longest bar for its label and number


@dataclass(frozen=True)
class Bar:
    series: int  # 0 = first series (e.g. the past), 1.. = the next ones
    label: str  # what the bar stands for, e.g. "before" or "with #1"
    value: float
    x: float
    y: float
    width: float
    height: float
    value_x: float  # where its number is written


@dataclass(frozen=True)
class Row:
    name: str
    label_y: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class BarChart:
    width: int
    height: float
    rows: tuple[Row, ...]
    series: tuple[str, ...]


def bar_length(value: float, largest: float, room: float) -> float:
    """The length of a bar for `value` when the largest value gets `room` (log10(1 + pain) scale)."""
    if value <= 0 or largest <= 0:
        return 0.0
    return room * math.log10(1 + value) / math.log10(1 + largest)


def burden_chart(names: list[str], series: list[tuple[str, list[float]]]) -> BarChart:
    """A chart with a row per name and, in each, a bar per (label, values) series."""
    largest = max((value for _, values in series for value in values), default=0.0)
    room = WIDTH - VALUE_ROOM
    rows, y = [], 0.0
    for index, name in enumerate(names):
        label_y = y + LABEL_HEIGHT - 4
        y += LABEL_HEIGHT
        bars = []
        for number, (label, values) in enumerate(series):
            length = round(bar_length(values[index], largest, room), 1)
            bars.append(Bar(number, label, values[index], 0.0, y, length, BAR_HEIGHT, length + 4))
            y += BAR_HEIGHT + BAR_GAP
        rows.append(Row(name, label_y, tuple(bars)))
        y += ROW_GAP
    return BarChart(WIDTH, max(y, 1.0), tuple(rows), tuple(label for label, _ in series))
