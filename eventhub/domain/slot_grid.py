"""Pain of every candidate start for every group, fast enough for thousands of groups.

Candidate starts are `start + j * step` (UTC) for every j whose meeting ends by `end`. Time is cut
into cells of `cell` minutes from `start`, where `cell` divides the step, the duration, a day, every
local midnight and every offset change in the range; so a cell never straddles a change of offset,
shift date or pain weight band, and a meeting is a whole run of cells. Per group profile (offsets,
window, calendar) the engine

1. builds a local-time timeline of cell weights by concatenating, per local date, one of four day
   templates (previous day ok?, this day ok?), each the sum of `pain.day_minute_weights` per cell;
2. maps UTC cells to that timeline one offset segment at a time (pytz transitions, via `zones`);
3. turns cells into meeting sums with prefix sums (`itertools.accumulate`), a slice per step.

All weights are integers, so the fast sums equal the per-minute evaluation exactly. Identical
profiles are computed once. A request whose distinct profiles x cells exceed MAX_WORK is refused.
"""

from __future__ import annotations

import functools
import math
from datetime import datetime, timedelta
from itertools import accumulate
from operator import sub

from eventhub.domain import zones
from eventhub.domain.errors import InvalidField
from eventhub.domain.pain import MINUTES_PER_DAY, day_minute_weights

MAX_WORK = 30_000_000  # distinct group profiles x time cells in one request
_MINUTE = timedelta(minutes=1)


def slot_count(start: datetime, end: datetime, duration: int, step: int) -> int:
    """How many candidate starts `start + j*step` leave the meeting inside [start, end)."""
    room = (end - start) // _MINUTE - duration
    return room // step + 1 if room >= 0 else 0


@functools.lru_cache(maxsize=8192)
def _cell_templates(work_start: int, work_end: int, cell: int) -> dict:
    templates = {}
    for key in ((False, False), (False, True), (True, False), (True, True)):
        weights = day_minute_weights(work_start, work_end, *key)[0]
        templates[key] = [sum(weights[i:i + cell]) for i in range(0, MINUTES_PER_DAY, cell)]
    return templates


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
        parts = [step, duration, MINUTES_PER_DAY]
        for segs in segments.values():
            for seg_start, _, offset in segs:
                parts.append(start_tod + int(offset.total_seconds()) // 60)
                parts.append((seg_start - start) // _MINUTE)
        self.cell = math.gcd(*parts)
        n_cells = ((self.n_slots - 1) * step + duration) // self.cell
        # zones with the same offsets over the range give the same pain: key by offsets, not name
        self._offsets = {name: tuple(segs) for name, segs in segments.items()}
        profiles = {self.key(group): group for group in groups}
        if len(profiles) * n_cells > MAX_WORK:
            raise InvalidField(
                "groups",
                f"too much to compute: {len(profiles)} distinct groups x {n_cells} time cells; "
                "shorten the range, raise step_minutes or merge groups",
            )
        self._segments = segments
        self._n_cells = n_cells
        self.columns = {key: self._slot_sums(group) for key, group in profiles.items()}

    def key(self, group) -> tuple:
        """What the group's pain column depends on: offsets over the range, window and calendar."""
        return (self._offsets[zones.zone_name(group.zone)], group.work_start, group.work_end, group.calendar)

    def column(self, group) -> list[int]:
        """The group's pain sum at every candidate start."""
        return self.columns[self.key(group)]

    def slot_start(self, index: int) -> datetime:
        return self.start + timedelta(minutes=index * self.step)

    def busy_slots(self, group) -> set[int]:
        """Indices of candidate starts whose meeting overlaps one of the group's busy blocks."""
        hit: set[int] = set()
        meeting = timedelta(minutes=self.duration)
        step = timedelta(minutes=self.step)
        for busy_start, busy_end in group.busy:
            # overlap when start_j < busy_end and busy_start < start_j + duration
            first = max(0, (busy_start - meeting - self.start) // step + 1)
            last = min(self.n_slots - 1, -((self.start - busy_end) // step) - 1)
            hit.update(range(first, last + 1))
        return hit

    def _slot_sums(self, group) -> list[int]:
        cell = self.cell
        cells = self._cells(group)
        prefix = [0, *accumulate(cells)]
        k, s = self.duration // cell, self.step // cell
        return list(map(sub, prefix[k::s], prefix[::s]))

    def _cells(self, group) -> list[int]:
        cell, start = self.cell, self.start
        segments = self._segments[zones.zone_name(group.zone)]
        offsets = [offset for _, _, offset in segments]
        first_day = (start + min(offsets)).date() - timedelta(days=1)
        last_day = (start + timedelta(minutes=self._n_cells * cell) + max(offsets)).date()
        templates = _cell_templates(group.work_start, group.work_end, cell)
        calendar = group.calendar
        timeline: list[int] = []
        previous_ok = calendar.is_ok(first_day - timedelta(days=1))
        day = first_day
        while day <= last_day:
            ok = calendar.is_ok(day)
            timeline.extend(templates[previous_ok, ok])
            previous_ok, day = ok, day + timedelta(days=1)
        origin = datetime.combine(first_day, datetime.min.time())
        cells: list[int] = []
        for seg_start, seg_end, offset in segments:
            first = (seg_start - start) // _MINUTE // cell
            last = (seg_end - start) // _MINUTE // cell
            base = ((start + offset).replace(tzinfo=None) - origin) // _MINUTE // cell
            cells.extend(timeline[base + first: base + last])
        return cells
