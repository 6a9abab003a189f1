"""Benchmark of the fairness engine: offices, individuals at company scale, and the worst requests.

1. ranking 20 / 200 / 2,000 groups over 14 days, each group with its own zone (pytz.common_timezones)
   and its own working hours, some of them night shifts (aim: 2,000 under 0.2 s);
2. 1,000 and 10,000 individuals over 28 days, each with a zone, hours and three busy blocks, through
   the whole API request (JSON in, ledger lookup on SQLite, JSON out; aim: 10,000 under 1 s);
3. a 52-week series of 10 regions;
4. the requests at the stated limits (MAX_GROUPS, MAX_GROUP_VIEWS, MAX_WORK, MAX_SERIES_STARTS,
   MAX_BUSY_TOTAL), each timed in CPU seconds through the API; the worst is named.

Wall times are the best of three runs; peak memory is tracemalloc's (numpy reports to it). Every
figure is printed with its ratio to a CPU baseline measured at the start of this run (a fixed pure-
Python loop), and, when the runner measured it, with how many bare-Flask requests the same time serves.
Run alone with `python -m bench.bench_scheduling`; never part of the test run.
"""

from __future__ import annotations

import random
import tempfile
import time
import tracemalloc
from pathlib import Path

import pytz

from eventhub.domain.scheduling import parse_suggestion_request, rank_slots
from eventhub.domain.scheduling_input import (
    MAX_BUSY_PER_GROUP,
    MAX_BUSY_TOTAL,
    MAX_GROUP_VIEWS,
    MAX_GROUPS,
    MAX_PROFILE_VIEWS,
    parse_series_request,
)
from eventhub.domain.series import plan_series
from eventhub.services.ledger import MAX_TOWN_HALLS

FROM = "2027-03-01T00:00:00Z"
TO = "2027-03-15T00:00:00Z"  # 14 days at 15-minute steps: 1,344 candidate starts
TO_28 = "2027-03-29T00:00:00Z"
OFFICE_ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "America/Sao_Paulo", "Europe/London",
                "Europe/Berlin", "Europe/Warsaw", "Africa/Lagos", "Asia/Dubai", "Asia/Kolkata", "Asia/Manila",
                "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland", "America/Toronto"]

LEDGER_GROUPS = [{"name": f"office {i}", "timezone": zone, "work_start": "09:00", "work_end": "17:00"}
                 for i, zone in enumerate(OFFICE_ZONES[:10])]


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


def make_people(count: int, seed: int = 11, days: int = 28, busy: int = 3) -> list[dict]:
    """`count` people in 16 office zones, hours starting 07:00-10:30 for 8 or 9 hours, `busy` blocks each."""
    rng = random.Random(seed)
    people = []
    for index in range(count):
        start = rng.choice(range(7 * 60, 11 * 60, 30))
        end = (start + rng.choice((8, 9)) * 60) % (24 * 60)
        blocks = []
        for _ in range(busy):
            day, hour = 1 + rng.randrange(days), rng.randrange(24)
            blocks.append({"start": f"2027-03-{day:02d}T{hour:02d}:00:00Z",
                           "end": f"2027-03-{day:02d}T{hour:02d}:{rng.choice((30, 45))}:00Z"})
        people.append({"name": f"person {index}", "timezone": rng.choice(OFFICE_ZONES),
                       "work_start": f"{start // 60:02d}:{start % 60:02d}",
                       "work_end": f"{end // 60:02d}:{end % 60:02d}", "busy": blocks})
    return people


def cpu_baseline() -> float:
    """Seconds for a fixed pure-Python loop (best of three): the yardstick of this machine, this run."""
    best = float("inf")
    for _ in range(3):
        began = time.process_time()
        total = 0
        for i in range(2_000_000):
            total += i * i % 7
        best = min(best, time.process_time() - began)
    return best


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


class ApiClient:
    """The real app on a throw-away SQLite file, with an organizer, called through Flask's test client."""

    def __init__(self, folder: str):
        from flask_migrate import upgrade

        from eventhub import create_app
        from eventhub.services.organizers import create_organizer

        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        self.app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "REDIS_URL": None, "TESTING": True,
                               "MAX_CONTENT_LENGTH": 64 * 1024 * 1024})
        with self.app.app_context():
            upgrade()
            account, token = create_organizer("bench@example.com", "a long bench password")
            self._store_past_town_halls(account.id)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.client = self.app.test_client()

    @staticmethod
    def _store_past_town_halls(organizer_id: str) -> None:
        """MAX_TOWN_HALLS earlier town halls of LEDGER_GROUPS, one a day back from the bench's range."""
        from datetime import UTC, datetime, timedelta

        from eventhub.extensions import db
        from eventhub.models import Event, EventGroup, Occurrence

        first = datetime(2027, 2, 28, 14, tzinfo=UTC)
        for day in range(MAX_TOWN_HALLS):
            start = first - timedelta(hours=7 * day)
            event = Event(organizer_id=organizer_id, title="Earlier", timezone="UTC", duration_minutes=60,
                          questions_close=start, status="scheduled")
            event.occurrences = [Occurrence(start=start)]
            event.groups = [EventGroup(name=g["name"], timezone=g["timezone"]) for g in LEDGER_GROUPS]
            db.session.add(event)
        db.session.commit()

    def post(self, path: str, body: dict):
        response = self.client.post(f"/api/v1/{path}", json=body, headers=self.headers)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.get_data(as_text=True)[:300]}")
        return response


def _ratios(seconds: float, cpu: float, baselines: dict) -> str:
    text = f"{seconds / cpu:.2f}x cpu baseline"
    if baselines.get("flask_rps"):
        text += f", = {seconds * baselines['flask_rps']:,.0f} bare-flask requests"
    return text


def _limit_requests() -> dict[str, tuple[str, dict]]:
    """The heaviest request allowed along each limit (history on: the ledger is read too)."""
    decades = [{"start": f"{1990 + i // 11}-01-01T00:00:00Z", "end": "2037-06-01T00:00:00Z"}
               for i in range(MAX_BUSY_PER_GROUP)]
    distinct = make_groups(370, seed=3)  # 370 distinct profiles x 26,496 five-minute cells < MAX_WORK
    return {
        f"{MAX_GROUPS:,} people x limit {MAX_GROUP_VIEWS // MAX_GROUPS} x 28 days (MAX_GROUPS, MAX_GROUP_VIEWS)": (
            "suggestions", {"groups": make_people(MAX_GROUPS), "duration_minutes": 60, "from": FROM, "to": TO_28,
                            "limit": MAX_GROUP_VIEWS // MAX_GROUPS}),
        "370 distinct groups x 92 days at 5-minute steps, limit 32 (MAX_WORK, MAX_PROFILE_VIEWS)": (
            "suggestions", {"groups": distinct, "duration_minutes": 60, "from": FROM, "to": "2027-06-01T00:00:00Z",
                            "step_minutes": 5, "limit": MAX_PROFILE_VIEWS // 370}),
        f"{MAX_BUSY_TOTAL:,} busy blocks in 120 groups x 92 days (MAX_BUSY_TOTAL)": (
            "suggestions", {"groups": [{**g, "busy": make_people(1, seed=i, days=28, busy=500)[0]["busy"]}
                                       for i, g in enumerate(make_groups(MAX_BUSY_TOTAL // 500, seed=5))],
                            "duration_minutes": 60, "from": FROM, "to": "2027-06-01T00:00:00Z", "limit": 100}),
        "series 104 weeks at 5-minute steps, 45 groups, 500 busy blocks over decades (MAX_SERIES_STARTS)": (
            "series", {"groups": [{**g, "busy": decades if i == 0 else []} for i, g in
                                  enumerate(make_groups(45, seed=9))],
                       "duration_minutes": 60, "from": FROM, "count": 104, "every": "week", "step_minutes": 5}),
        "series 49 weeks, 960 people (MAX_GROUP_VIEWS, MAX_PROFILE_VIEWS)": (
            "series", {"groups": make_people(960, busy=1), "duration_minutes": 60, "from": FROM,
                       "count": 49, "every": "week"}),
        f"ledger of {MAX_TOWN_HALLS:,} town halls x 10 distinct groups (MAX_TOWN_HALLS, ledger MAX_EVALUATIONS)": (
            "suggestions", {"groups": LEDGER_GROUPS, "duration_minutes": 60, "from": FROM, "to": TO, "limit": 5}),
    }


def run(baselines: dict) -> dict:
    """Measure, print one figure per line with its ratios, return the figures."""
    figures: dict[str, float] = {}
    cpu = cpu_baseline()
    figures["cpu_baseline_s"] = round(cpu, 4)
    print(f"cpu baseline (2,000,000 pure-Python loop steps): {cpu:.3f} s")
    times = {}
    for count in (20, 200, 2000):
        seconds, peak = _measure(_ranking(count))
        times[count] = seconds
        figures[f"scheduling_{count}_groups_s"] = round(seconds, 4)
        figures[f"scheduling_{count}_groups_peak_mib"] = round(peak, 1)
        print(f"scheduling {count:,} groups x 14 days: {seconds:.3f} s ({_ratios(seconds, cpu, baselines)}), "
              f"peak {peak:.1f} MiB")
    for small, large in ((20, 200), (200, 2000)):
        ratio = times[large] / times[small]
        figures[f"scheduling_growth_{large}_over_{small}"] = round(ratio, 2)
        print(f"scheduling growth {large:,}/{small} groups: x{ratio:.2f}")

    with tempfile.TemporaryDirectory() as folder:
        api = ApiClient(folder)
        people_times = {}
        for count in (1000, 10_000):
            body = {"groups": make_people(count), "duration_minutes": 60, "from": FROM, "to": TO_28, "limit": 5}
            with api.app.app_context():
                began = time.process_time()
                api.post("suggestions", body)
                figures[f"individuals_{count}_28_days_cpu_s"] = round(time.process_time() - began, 4)
            with api.app.app_context():
                seconds, peak = _measure(lambda body=body: api.post("suggestions", body))
            people_times[count] = seconds
            figures[f"individuals_{count}_28_days_s"] = round(seconds, 4)
            figures[f"individuals_{count}_28_days_peak_mib"] = round(peak, 1)
            print(f"individuals {count:,} x 28 days, whole API request: {seconds:.3f} s "
                  f"({_ratios(seconds, cpu, baselines)}), {figures[f'individuals_{count}_28_days_cpu_s']:.3f} s CPU, "
                  f"peak {peak:.1f} MiB")
        growth = people_times[10_000] / people_times[1000]
        figures["individuals_growth_10000_over_1000"] = round(growth, 2)
        print(f"individuals growth 10,000/1,000: x{growth:.2f}")

        seconds, peak = _measure(_series(10))
        figures["series_52_weeks_10_regions_s"] = round(seconds, 4)
        figures["series_52_weeks_10_regions_peak_mib"] = round(peak, 1)
        print(f"series 52 weeks x 10 regions: {seconds:.3f} s ({_ratios(seconds, cpu, baselines)}), "
              f"peak {peak:.1f} MiB")

        worst = (0.0, "")
        for label, (path, body) in _limit_requests().items():
            with api.app.app_context():
                began = time.process_time()
                response = api.post(path, body)
                used = time.process_time() - began
            worst = max(worst, (used, label))
            print(f"at the limits: {label}: {used:.3f} s CPU ({_ratios(used, cpu, baselines)}), "
                  f"answer {len(response.get_data()) / 2**20:.1f} MiB")
        figures["worst_request_at_limits_cpu_s"] = round(worst[0], 4)
        print(f"worst scheduling request at the limits: {worst[1]}: {worst[0]:.3f} s CPU")
    return figures


if __name__ == "__main__":
    run({})
