"""Property checks on random groups against the per-minute evaluation and stdlib zoneinfo."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventhub.domain.pain import OFF_DAY_WEIGHT, evaluate_group_slowly
from eventhub.domain.scheduling import parse_suggestion_request, rank_order, rank_slots
from eventhub.domain.slot_grid import SlotGrid

ZONES = ["America/New_York", "America/Los_Angeles", "Europe/London", "Asia/Manila", "Asia/Kolkata",
         "Asia/Kathmandu", "Pacific/Chatham", "Australia/Lord_Howe", "America/St_Johns", "Australia/Adelaide",
         "Pacific/Kiritimati", "UTC"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

group = st.fixed_dictionaries({
    "timezone": st.sampled_from(ZONES),
    "work_start": st.integers(0, 95).map(lambda q: f"{q // 4:02d}:{q % 4 * 15:02d}"),
    "length": st.integers(4, 12),
    "workdays": st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True),
    "holidays": st.sampled_from([None, "US", "PH", "IN", "GB"]),
})


def build(groups, start, duration):
    body_groups = []
    for index, g in enumerate(groups):
        begin = int(g["work_start"][:2]) * 60 + int(g["work_start"][3:])
        end = (begin + g["length"] * 60) % 1440
        body_groups.append({"name": f"g{index}", "timezone": g["timezone"], "work_start": g["work_start"],
                            "work_end": f"{end // 60:02d}:{end % 60:02d}", "workdays": g["workdays"],
                            "holidays": g["holidays"]})
    return parse_suggestion_request({
        "groups": body_groups, "duration_minutes": duration, "from": start.isoformat(),
        "to": (start + timedelta(days=2)).isoformat(), "step_minutes": 60, "limit": 3})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    groups=st.lists(group, min_size=1, max_size=3),
    day=st.dates(min_value=datetime(2027, 1, 1).date(), max_value=datetime(2027, 12, 28).date()),
    duration=st.sampled_from([30, 45, 60, 90]),
)
def test_best_slot_is_clean_when_a_clean_slot_exists_and_fast_equals_slow(groups, day, duration):
    """Nobody gets a night, a non-working day or a holiday when some slot spares everyone."""
    start = datetime.fromisoformat(f"{day}T00:00:00+00:00")
    request = build(groups, start, duration)
    grid = SlotGrid(request.groups, request.start, request.end, request.duration, request.step)
    clean = set()
    for j in range(grid.n_slots):
        views = [evaluate_group_slowly(g, grid.slot_start(j), duration) for g in request.groups]
        for g, view in zip(request.groups, views, strict=True):
            assert grid.column(g)[j] == view.weight
        if all(v.weight < OFF_DAY_WEIGHT for v in views):
            assert all(v.workday and v.holiday is None and not v.night for v in views)
            clean.add(j)
    best = rank_slots(request)[0]
    if clean:
        assert rank_order(grid, request.groups)[0] in clean
        assert all(v.workday and v.holiday is None and not v.night for v in best.groups)


@settings(max_examples=25, deadline=None)
@given(
    groups=st.lists(group, min_size=1, max_size=4),
    moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 6, 1)),
)
def test_local_times_agree_with_zoneinfo(groups, moment):
    start = datetime.fromisoformat(moment.replace(second=0, microsecond=0).isoformat() + "+00:00")
    request = build(groups, start, 60)
    for suggestion in rank_slots(request):
        for g, view in zip(request.groups, suggestion.groups, strict=True):
            zone = ZoneInfo(g.zone.zone)
            assert view.local_start == suggestion.start.astimezone(zone).isoformat()
            assert view.local_end == suggestion.end.astimezone(zone).isoformat()
