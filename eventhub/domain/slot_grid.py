"""Pain of every candidate start for every group, fast enough for ten thousand people.

Candidate starts are `start + j * step` (UTC) for every j whose meeting ends by `end`. Time is cut
into cells of `cell` minutes from `start`, where `cell` divides the step, the duration, a day, every
local midnight and every offset change in the range; so a cell never straddles a change of offset,
shift date or pain weight band, and a meeting is a whole run of cells. Per group profile (offsets,
window, calendar) the engine

1. builds a local-time timeline of cell weights by stacking, per local date, one of four day
   templates (previous day ok?, this day ok?), each the sum of `pain.day_minute_weights` per cell;
2. maps UTC cells to that timeline one offset segment at a time (pytz transitions, via `zones`);
3. turns cells into meeting sums with prefix sums, a slice per step.

The inner loops are numpy array operations (integer weights, prefix sums in int64, meeting sums kept
as int32: a meeting under a day weighs at most 1,439 x 40,012; so the fast sums equal the per-minute
evaluation exactly). Identical profiles are computed once and kept as rows of one
matrix. A request whose distinct profiles x cells exceed MAX_WORK is refused.
"""

from __future__ import annotations

import functools
import math
from datetime import datetime, timedelta

import numpy as np

from eventhub.domain import zones
from eventhub.domain.errors import InvalidField
from eventhub.domain.pain import MINUTES_PER_DAY, day_minute_weights

MAX_WORK = 10_000_000  # distinct group profiles x time cells in one request
_MINUTE = timedelta(minutes=1)
_DAY_KEYS = ((False, False), (False, True), (True, False), (True, True))


def slot_count(start: datetime, end: datetime, duration: int, step: int) -> int:
    """How many candidate starts `start + j*step` leave the meeting inside [start, end)."""
    room = (end - start) // _MINUTE - duration
    return room // step + 1 if room >= 0 else 0


@functools.lru_cache(maxsize=8192)
def _cell_templates(work_start: int, work_end: int, cell: int) -> np.ndarray:
    """Shape (4, cells per day): the day template per (previous day ok, this day ok), as _DAY_KEYS."""
    rows = [np.asarray(day_minute_weights(work_start, work_end, *key)[0], dtype=np.int64) for key in _DAY_KEYS]
    table = np.stack(rows).reshape(4, MINUTES_PER_DAY // cell, cell).sum(axis=2)
    table.setflags(write=False)
    return table


class SlotGrid:
    """Integer pain sums (`pain.GroupPain.weight`) of every candidate start, per group profile."""

    def __init__(self, groups, start: datetime, end: datetime, duration: int, step: int):
        self.start, self.duration, self.step = start, duration, step
        self.n_slots = slot_count(start, end, duration, step)
        span_end = start + timedelta(minutes=(self.n_slots - 1) * step + duration)
        segments = {}
        for group in groups:
            name = zones.zone_name(group.zone)
            if name not in segments:
                segments[name] = zones.offset_segments(group.zone, start, span_end)
        start_tod = start.hour * 60 + start.minute
        parts = {step, duration, MINUTES_PER_DAY}
        for segs in segments.values():
            for seg_start, _, offset in segs:
                parts.add(start_tod + int(offset.total_seconds()) // 60)
                parts.add((seg_start - start) // _MINUTE)
        self.cell = math.gcd(*parts)
        n_cells = ((self.n_slots - 1) * step + duration) // self.cell
        # zones with the same offsets over the range give the same pain: key by offsets, not name
        self._offsets = {name: tuple(segs) for name, segs in segments.items()}
        profiles = {self.key(group): group for group in groups}
        if len(profiles) * n_cells > MAX_WORK:
            raise InvalidField(
                "groups",
                f"too much to compute: {len(profiles)} distinct groups x {n_cells} time cells "
                f"(at most {MAX_WORK:,}); shorten the range, raise step_minutes or merge groups",
            )
        self._segments = segments
        self._n_cells = n_cells
        self.rows = {key: row for row, key in enumerate(profiles)}
        self.matrix = np.empty((len(profiles), self.n_slots), dtype=np.int32)  # sums stay below 2**31
        for key, group in profiles.items():
            self.matrix[self.rows[key]] = self._slot_sums(group)

    def key(self, group) -> tuple:
        """What the group's pain column depends on: offsets over the range, window and calendar."""
        return (self._offsets[zones.zone_name(group.zone)], group.work_start, group.work_end, group.calendar)

    def row(self, group) -> int:
        """The matrix row holding the group's pain column."""
        return self.rows[self.key(group)]

    def column(self, group) -> np.ndarray:
        """The group's pain sum at every candidate start."""
        return self.matrix[self.row(group)]

    def slot_start(self, index: int) -> datetime:
        return self.start + timedelta(minutes=int(index) * self.step)

    def busy_ranges(self, group):
        """(first, last) candidate indices whose meeting overlaps each of the group's busy blocks."""
        meeting = timedelta(minutes=self.duration)
        step = timedelta(minutes=self.step)
        for busy_start, busy_end in group.busy:
            # overlap when start_j < busy_end and busy_start < start_j + duration
            first = max(0, (busy_start - meeting - self.start) // step + 1)
            last = min(self.n_slots - 1, -((self.start - busy_end) // step) - 1)
            if first <= last:
                yield first, last

    def busy_slots(self, group) -> set[int]:
        """Indices of candidate starts whose meeting overlaps one of the group's busy blocks."""
        return {j for first, last in self.busy_ranges(group) for j in range(first, last + 1)}

    def conflicts(self, groups) -> np.ndarray:
        """Per candidate start, the headcount of the groups it puts over one of their busy blocks.

        A difference array: the work grows with the number of blocks, not with their length."""
        marks = np.zeros(self.n_slots + 1, dtype=np.int64)
        for group in groups:
            for first, last in self.busy_ranges(group):
                marks[first] += group.headcount
                marks[last + 1] -= group.headcount
        return np.cumsum(marks[:-1])

    def _slot_sums(self, group) -> np.ndarray:
        prefix = np.concatenate(([0], np.cumsum(self._cells(group))))
        k, s = self.duration // self.cell, self.step // self.cell
        ends = prefix[k::s][: self.n_slots]
        return ends - prefix[::s][: self.n_slots]

    def _cells(self, group) -> np.ndarray:
        cell, start = self.cell, self.start
        segments = self._segments[zones.zone_name(group.zone)]
        offsets = [offset for _, _, offset in segments]
        first_day = (start + min(offsets)).date() - timedelta(days=1)
        last_day = (start + timedelta(minutes=self._n_cells * cell) + max(offsets)).date()
        templates = _cell_templates(group.work_start, group.work_end, cell)
        calendar = group.calendar
        n_days = (last_day - first_day).days + 1
        ok = [calendar.is_ok(first_day + timedelta(days=d)) for d in range(-1, n_days)]
        choice = np.asarray(ok[:-1], dtype=np.int64) * 2 + np.asarray(ok[1:], dtype=np.int64)
        timeline = templates[choice].ravel()
        origin = datetime.combine(first_day, datetime.min.time())
        pieces = []
        for seg_start, seg_end, offset in segments:
            first = (seg_start - start) // _MINUTE // cell
            last = (seg_end - start) // _MINUTE // cell
            base = ((start + offset).replace(tzinfo=None) - origin) // _MINUTE // cell
            pieces.append(timeline[base + first: base + last])
        return np.concatenate(pieces)[: self._n_cells]
