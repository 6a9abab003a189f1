"""Variety never trades down a tier: no holiday, day off, night or busy slot while one without remains."""

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventhub.domain.pain import evaluate_group_slowly
from eventhub.domain.scheduling import overlaps_busy, parse_suggestion_request, rank_slots
from eventhub.domain.scheduling_input import merge_intervals
from eventhub.domain.slot_grid import SlotGrid

ZONES = ["America/New_York", "Europe/London", "Asia/Manila", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Chatham",
         "America/St_Johns", "UTC"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

group = st.fixed_dictionaries({
    "timezone": st.sampled_from(ZONES),
    "work_start": st.integers(0, 23),
    "length": st.integers(3, 12),
    "workdays": st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True),
    "holidays": st.sampled_from([None, "US", "PH", "GB"]),
    "headcount": st.integers(1, 50),
    "busy": st.lists(st.tuples(st.integers(0, 47), st.integers(1, 6)), max_size=4),
})


def _body(groups, start, duration, limit):
    body_groups = []
    for index, g in enumerate(groups):
        end = (g["work_start"] + g["length"]) % 24
        busy = [{"start": (start + timedelta(hours=h)).isoformat(), "end": (start + timedelta(hours=h + n)).isoformat()}
                for h, n in g["busy"]]
        body_groups.append({"name": f"g{index}", "timezone": g["timezone"], "work_start": f"{g['work_start']:02d}:00",
                            "work_end": f"{end:02d}:00", "workdays": g["workdays"], "holidays": g["holidays"],
                            "headcount": g["headcount"], "busy": busy})
    return {"groups": body_groups, "duration_minutes": duration, "from": start.isoformat(),
            "to": (start + timedelta(days=2)).isoformat(), "step_minutes": 30, "limit": limit}


def _tier(request, start) -> tuple[int, bool]:
    """(headcount over a busy block, some group at night / on a day off / on a holiday), judged minute by minute."""
    end = start + timedelta(minutes=request.duration)
    busy = sum(g.headcount for g in request.groups if any(b0 < end and start < b1 for b0, b1 in g.busy))
    views = [evaluate_group_slowly(g, start, request.duration) for g in request.groups]
    return busy, any(v.night or not v.workday or v.holiday for v in views)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    groups=st.lists(group, min_size=1, max_size=3),
    day=st.dates(min_value=datetime(2027, 1, 1).date(), max_value=datetime(2027, 12, 28).date()),
    duration=st.sampled_from([30, 60, 90]),
    limit=st.integers(1, 30),
    past=st.lists(st.floats(0, 50_000), min_size=3, max_size=3),
)
def test_no_suggestion_is_in_a_worse_tier_than_a_start_left_out(groups, day, duration, limit, past):
    start = datetime.fromisoformat(f"{day}T00:00:00+00:00")
    request = parse_suggestion_request(_body(groups, start, duration, limit))
    grid = SlotGrid(request.groups, request.start, request.end, request.duration, request.step)
    tiers = {grid.slot_start(j): _tier(request, grid.slot_start(j)) for j in range(grid.n_slots)}
    for history in (None, tuple(past[: len(groups)])):
        chosen = [s.start for s in rank_slots(request, history)]
        assert len(chosen) == min(limit, grid.n_slots) and len(set(chosen)) == len(chosen)
        worst_chosen = max(tiers[s] for s in chosen)
        left_out = [tier for s, tier in tiers.items() if s not in chosen]
        assert all(tier >= worst_chosen for tier in left_out), (worst_chosen, sorted(left_out)[:3])


def test_ten_suggestions_in_a_short_window_take_close_good_slots_before_a_holiday():
    """The issue's case: New York and a Manila night shift over two days; Manila's shift of Friday 9 April
    is the Day of Valor and Saturday's a day off: none of them is suggested."""
    body = {"groups": [
        {"name": "New York", "timezone": "America/New_York", "work_start": "09:00", "work_end": "17:00",
         "holidays": "US"},
        {"name": "Manila", "timezone": "Asia/Manila", "work_start": "21:00", "work_end": "06:00", "holidays": "PH"}],
        "duration_minutes": 60, "from": "2027-04-08T00:00:00Z", "to": "2027-04-10T00:00:00Z", "limit": 10}
    suggestions = rank_slots(parse_suggestion_request(body))
    assert len(suggestions) == 10
    for suggestion in suggestions:
        for view in suggestion.groups:
            assert view.holiday is None and view.workday and not view.night, suggestion.to_json()


def test_close_good_slots_come_before_a_distinct_night():
    """On a Friday, Manila's Saturday begins at 16:00 UTC and New York's night ends at 11:00 UTC: only five
    hours are free of nights and days off, and the list fills with starts a quarter of an hour apart."""
    body = {"groups": [
        {"name": "New York", "timezone": "America/New_York", "work_start": "09:00", "work_end": "17:00"},
        {"name": "Manila", "timezone": "Asia/Manila", "work_start": "09:00", "work_end": "18:00"}],
        "duration_minutes": 60, "from": "2027-03-05T06:00:00Z", "to": "2027-03-06T06:00:00Z", "limit": 10}
    suggestions = rank_slots(parse_suggestion_request(body))
    assert all(not view.night and view.workday for s in suggestions for view in s.groups)
    assert all("11:00" <= f"{s.start:%H:%M}" <= "15:00" for s in suggestions)
    starts = sorted(s.start for s in suggestions)
    assert any(b - a == timedelta(minutes=15) for a, b in zip(starts, starts[1:], strict=False))


@settings(max_examples=60, deadline=None)
@given(blocks=st.lists(st.tuples(st.integers(0, 400), st.integers(1, 30)), max_size=60),
       start=st.integers(0, 430), length=st.integers(1, 90))
def test_the_busy_flag_of_merged_blocks_equals_a_plain_scan(blocks, start, length):
    """Merged blocks are searched by bisection past a few of them; the answer is the plain overlap test's."""
    origin = datetime.fromisoformat("2027-03-01T00:00:00+00:00")
    at = [(origin + timedelta(minutes=10 * b), origin + timedelta(minutes=10 * b + n)) for b, n in blocks]
    begin, end = origin + timedelta(minutes=start), origin + timedelta(minutes=start + length)
    assert overlaps_busy(merge_intervals(at), begin, end) == any(b0 < end and begin < b1 for b0, b1 in at)
