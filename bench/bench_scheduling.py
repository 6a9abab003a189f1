"""Benchmark of the fairness engine: ranking for 20 / 200 / 2,000 groups, and a 52-week series.

Each group has its own zone (from pytz.common_timezones) and its own working hours, some of them
night shifts. Prints one figure per line and returns them; never part of the test run.
Run alone with `python -m bench.bench_scheduling`.
"""

from __future__ import annotations

import random
import time
import tracemalloc

import pytz

from eventhub.domain.scheduling import parse_suggestion_request, rank_slots
from eventhub.domain.scheduling_input import parse_series_request
from eventhub.domain.series import plan_series

FROM = "2027-03-01T00:00:00Z"
TO = "2027-03-15T00:00:00Z"  # 14 days at 15-minute steps: 1,344 candidate starts


def make_groups(count: int, seed: int = 7) -> list[dict]:
    """`count` groups, each with its own zone and hours; about one in six works a night shift."""
    rng = random.Random(seed)
    names = sorted(pytz.common_timezones)
    groups = []
    for index in range(count):
        if rng.random() < 1 / 6:
            start = rng.choice((20, 21, 22, 23)) * 60 + rng.choice((0, 30))
        else:
            start = rng.choice((7, 8, 9, 10)) * 60 + rng.choice((0, 15, 30, 45))
        end = (start + rng.choice((8, 9)) * 60) % (24 * 60)
        groups.append({
            "name": f"group {index}",
            "timezone": names[index % len(names)],
            "work_start": f"{start // 60:02d}:{start % 60:02d}",
            "work_end": f"{end // 60:02d}:{end % 60:02d}",
            "headcount": rng.randint(1, 200),
        })
    return groups


def _measure(work, repeats: int = 3) -> tuple[float, float]:
    """Best wall time of `repeats` runs (s), and peak traced memory of one more run (MiB)."""
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - began)
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return best, peak


def _ranking(count: int):
    payload = {"groups": make_groups(count), "duration_minutes": 60, "from": FROM, "to": TO,
               "step_minutes": 15, "limit": 5}
    return lambda: [s.to_json() for s in rank_slots(parse_suggestion_request(payload))]


def _series(count: int):
    payload = {"groups": make_groups(count), "duration_minutes": 60, "from": FROM,
               "count": 52, "every": "week"}
    return lambda: plan_series(parse_series_request(payload)).to_json()


def run(baselines: dict) -> dict:
    """Measure, print one figure per line, return the figures (baselines are not used yet)."""
    figures: dict[str, float] = {}
    times = {}
    for count in (20, 200, 2000):
        seconds, peak = _measure(_ranking(count))
        times[count] = seconds
        figures[f"scheduling_{count}_groups_s"] = round(seconds, 4)
        figures[f"scheduling_{count}_groups_peak_mib"] = round(peak, 1)
        print(f"scheduling {count} groups x 14 days: {seconds:.3f} s, peak {peak:.1f} MiB (tracemalloc)")
    for small, large in ((20, 200), (200, 2000)):
        ratio = times[large] / times[small]
        figures[f"scheduling_growth_{large}_over_{small}"] = round(ratio, 2)
        print(f"scheduling growth {large}/{small} groups: x{ratio:.2f}")
    seconds, peak = _measure(_series(10))
    figures["series_52_weeks_10_regions_s"] = round(seconds, 4)
    figures["series_52_weeks_10_regions_peak_mib"] = round(peak, 1)
    print(f"series 52 weeks x 10 regions: {seconds:.3f} s, peak {peak:.1f} MiB (tracemalloc)")
    return figures


if __name__ == "__main__":
    run({})
