"""Ranking of single town-hall times, checked by hand and against the per-minute evaluation."""

import copy
from datetime import UTC, datetime

import pytest

from eventhub.domain.errors import InvalidField
from eventhub.domain.pain import OFF_DAY_WEIGHT, evaluate_group_slowly
from eventhub.domain.scheduling import evaluate_slot, parse_suggestion_request, rank_slots
from eventhub.domain.slot_grid import SlotGrid

UTC = UTC
NEW_YORK = {"name": "New York", "timezone": "America/New_York", "work_start": "09:00", "work_end": "17:00"}
MANILA_DAY = {"name": "Manila", "timezone": "Asia/Manila", "work_start": "09:00", "work_end": "18:00"}
MANILA_NIGHT = {"name": "Manila", "timezone": "Asia/Manila", "work_start": "21:00", "work_end": "06:00"}


def request(*groups, start="2027-03-01T00:00:00Z", end="2027-03-06T00:00:00Z", **extra):
    body = {"groups": [dict(g) for g in groups], "duration_minutes": 60, "from": start, "to": end}
    body.update(extra)
    return parse_suggestion_request(body)


def at(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_new_york_and_manila_day_shift_share_the_pain_of_the_gap():
    """No clean overlap: the best hour is 18:00-19:00 in New York, 07:00-08:00 next morning in Manila."""
    best = rank_slots(request(NEW_YORK, MANILA_DAY))[0].to_json()
    assert best["start"] == "2027-03-01T23:00:00Z" and best["end"] == "2027-03-02T00:00:00Z"
    new_york, manila = best["groups"]
    assert new_york["local_start"] == "2027-03-01T18:00:00-05:00"
    assert new_york["local_end"] == "2027-03-01T19:00:00-05:00"
    assert (manila["local_start"], manila["local_end"]) == ("2027-03-02T07:00:00+08:00", "2027-03-02T08:00:00+08:00")
    # each hour is in the second hour outside the window: weight 2 per minute
    assert new_york["pain"] == manila["pain"] == best["max_pain"] == 2.0
    assert best["total_pain"] == 4.0
    assert new_york["outside_minutes"] == manila["outside_minutes"] == 60
    assert not new_york["night"] and not manila["night"] and new_york["workday"] and manila["workday"]


def test_new_york_and_manila_night_shift_have_a_clean_overlap():
    suggestions = [s.to_json() for s in rank_slots(request(NEW_YORK, MANILA_NIGHT, limit=3))]
    best = suggestions[0]
    assert best["start"] == "2027-03-01T14:00:00Z" and best["max_pain"] == 0.0
    assert [g["local_start"] for g in best["groups"]] == ["2027-03-01T09:00:00-05:00", "2027-03-01T22:00:00+08:00"]
    assert all(s["max_pain"] == 0.0 for s in suggestions)
    starts = sorted(at(s["start"]) for s in suggestions)
    assert all((b - a).total_seconds() >= 3600 for a, b in zip(starts, starts[1:], strict=False)), "distinct slots"


def test_san_francisco_london_manila_answer_matches_the_per_minute_evaluation():
    sf = {"name": "SF", "timezone": "America/Los_Angeles", "work_start": "09:00", "work_end": "17:00"}
    london = {"name": "London", "timezone": "Europe/London", "work_start": "09:00", "work_end": "17:30"}
    req = request(sf, london, MANILA_DAY, step_minutes=30, limit=5)
    suggestions = rank_slots(req)
    assert len(suggestions) == 5
    assert [s.max_pain for s in suggestions] == sorted(s.max_pain for s in suggestions)
    for suggestion in suggestions:
        for group, view in zip(req.groups, suggestion.groups, strict=True):
            assert view == evaluate_group_slowly(group, suggestion.start, 60)
            assert not view.night and view.workday


def test_fast_grid_equals_per_minute_evaluation_across_a_dst_change_and_quarter_hour_zones():
    groups = [
        dict(NEW_YORK, holidays="US"),
        dict(MANILA_NIGHT, holidays="PH"),
        {"name": "Kathmandu", "timezone": "Asia/Kathmandu", "work_start": "10:00", "work_end": "17:00"},
        {"name": "Chatham", "timezone": "Pacific/Chatham", "work_start": "08:30", "work_end": "16:45",
         "workdays": ["mon", "tue", "wed", "thu", "sat"]},
    ]
    req = request(*groups, start="2027-03-12T00:00:00Z", end="2027-03-16T00:00:00Z", duration_minutes=50,
                  step_minutes=10)
    grid = SlotGrid(req.groups, req.start, req.end, req.duration, req.step)
    for group in req.groups:
        column = grid.column(group)
        for j in range(0, grid.n_slots, 7):
            assert column[j] == evaluate_group_slowly(group, grid.slot_start(j), req.duration).weight


def test_local_offsets_change_with_the_us_dst_dates():
    march = rank_slots(request(NEW_YORK, MANILA_NIGHT, start="2027-03-11T00:00:00Z", end="2027-03-17T00:00:00Z",
                               limit=20))
    offsets = {s.groups[0].local_start[-6:] for s in march}
    assert offsets == {"-05:00", "-04:00"}
    before = evaluate_slot(request(NEW_YORK).groups, at("2027-11-05T13:00:00Z"), 60)
    after = evaluate_slot(request(NEW_YORK).groups, at("2027-11-08T14:00:00Z"), 60)
    assert before.groups[0].local_start == "2027-11-05T09:00:00-04:00"
    assert after.groups[0].local_start == "2027-11-08T09:00:00-05:00"


def test_quarter_hour_zones_get_exact_local_times():
    kathmandu = {"name": "Kathmandu", "timezone": "Asia/Kathmandu", "work_start": "10:00", "work_end": "17:00"}
    chatham = {"name": "Chatham", "timezone": "Pacific/Chatham", "work_start": "09:00", "work_end": "17:00"}
    view = evaluate_slot(request(kathmandu, chatham).groups, at("2027-03-01T04:15:00Z"), 60)
    assert view.groups[0].local_start == "2027-03-01T10:00:00+05:45" and view.groups[0].pain == 0
    assert view.groups[1].local_start == "2027-03-01T18:00:00+13:45"
    best = rank_slots(request(kathmandu, start="2027-03-01T00:00:00Z", end="2027-03-02T00:00:00Z", step_minutes=5))
    assert best[0].start == at("2027-03-01T04:15:00Z")


def test_holidays_are_avoided_and_reported():
    """US Thanksgiving 2027-11-25 and PH Bonifacio Day 2027-11-30 (checked with the holidays package)."""
    us = dict(NEW_YORK, holidays="US")
    best = rank_slots(request(us, start="2027-11-25T00:00:00Z", end="2027-11-27T00:00:00Z"))[0]
    assert best.groups[0].local_start.startswith("2027-11-26T09:00")
    thanksgiving = evaluate_slot(request(us).groups, at("2027-11-25T15:00:00Z"), 60).groups[0]
    assert thanksgiving.holiday == "Thanksgiving Day" and thanksgiving.workday
    assert thanksgiving.pain >= OFF_DAY_WEIGHT and thanksgiving.outside_minutes == 60
    ph = dict(MANILA_DAY, holidays="PH")
    best = rank_slots(request(ph, start="2027-11-29T16:00:00Z", end="2027-12-01T16:00:00Z"))[0]
    assert best.groups[0].local_start == "2027-12-01T09:00:00+08:00"
    assert evaluate_slot(request(ph).groups, at("2027-11-30T01:00:00Z"), 60).groups[0].holiday == "Bonifacio Day"
    new_year = evaluate_slot(request(us).groups, at("2027-01-01T15:00:00Z"), 60).groups[0]
    assert new_year.holiday == "New Year's Day"


def test_friday_evening_in_california_is_saturday_in_manila():
    """The day shift does not work Saturday; the night shift that began Friday 21:00 does."""
    day, night = request(MANILA_DAY).groups[0], request(MANILA_NIGHT).groups[0]
    saturday_morning = at("2027-03-06T02:00:00Z")  # Friday 18:00 in San Francisco, Saturday 10:00 in Manila
    assert evaluate_slot((day,), saturday_morning, 60).groups[0].workday is False
    friday_shift = evaluate_slot((night,), at("2027-03-05T18:00:00Z"), 60).groups[0]  # Saturday 02:00 Manila
    assert friday_shift.local_start == "2027-03-06T02:00:00+08:00"
    assert friday_shift.workday and friday_shift.pain == 0 and not friday_shift.night
    saturday_shift = evaluate_slot((night,), at("2027-03-06T15:00:00Z"), 60).groups[0]  # Saturday 23:00
    assert not saturday_shift.workday and saturday_shift.pain >= OFF_DAY_WEIGHT


def test_a_busy_block_is_never_overlapped_when_an_alternative_exists():
    busy = dict(NEW_YORK, busy=[{"start": "2027-03-01T14:00:00Z", "end": "2027-03-01T21:30:00Z"}])
    suggestions = rank_slots(request(busy, end="2027-03-02T00:00:00Z", limit=3))
    assert suggestions[0].start == at("2027-03-01T21:30:00Z")
    assert all(not s.groups[0].busy for s in suggestions)
    assert evaluate_slot(request(busy).groups, at("2027-03-01T20:00:00Z"), 60).groups[0].busy


def test_night_minutes_are_flagged_only_outside_the_window():
    view = evaluate_slot(request(NEW_YORK).groups, at("2027-03-02T06:30:00Z"), 60).groups[0]  # 01:30 local
    assert view.night and view.pain > 20_000
    assert not evaluate_slot(request(MANILA_NIGHT).groups, at("2027-03-01T18:00:00Z"), 60).groups[0].night


GOOD = {"groups": [dict(NEW_YORK)], "duration_minutes": 60, "from": "2027-03-01T00:00:00Z",
        "to": "2027-03-05T00:00:00Z"}


def _with(path, value):
    body = copy.deepcopy(GOOD)
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


BAD = [
    (("groups",), None, "groups"), (("groups",), {}, "groups"), (("groups",), [], "groups"),
    (("groups",), [dict(NEW_YORK)] * 10_001, "groups"), (("groups", 0), "NY", "groups[0]"),
    (("groups", 0, "name"), KeyError, "groups[0].name"), (("groups", 0, "name"), 3, "groups[0].name"),
    (("groups", 0, "timezone"), "Mars/Base", "groups[0].timezone"),
    (("groups", 0, "timezone"), None, "groups[0].timezone"),
    (("groups", 0, "work_start"), "25:00", "groups[0].work_start"),
    (("groups", 0, "work_start"), "9am", "groups[0].work_start"),
    (("groups", 0, "work_start"), 900, "groups[0].work_start"),
    (("groups", 0, "work_end"), "24:00", "groups[0].work_end"),
    (("groups", 0, "work_end"), "09:00", "groups[0].work_end"),
    (("groups", 0, "workdays"), [], "groups[0].workdays"),
    (("groups", 0, "workdays"), "mon", "groups[0].workdays"),
    (("groups", 0, "workdays"), ["mon", "funday"], "groups[0].workdays[1]"),
    (("groups", 0, "workdays"), ["mon", "tue", "mon"], "groups[0].workdays[2]"),
    (("groups", 0, "holidays"), "XX", "groups[0].holidays"), (("groups", 0, "holidays"), 1, "groups[0].holidays"),
    (("groups", 0, "headcount"), 0, "groups[0].headcount"), (("groups", 0, "headcount"), True, "groups[0].headcount"),
    (("groups", 0, "headcount"), 2.5, "groups[0].headcount"),
    (("groups", 0, "busy"), {"start": "x"}, "groups[0].busy"),
    (("groups", 0, "busy"), [{"start": "2027-03-01T10:00:00Z", "end": "2027-03-01T10:00:00Z"}],
     "groups[0].busy[0].end"),
    (("groups", 0, "busy"), [{"start": "2027-03-01T10:00:00", "end": "2027-03-01T11:00:00Z"}],
     "groups[0].busy[0].start"),
    (("groups", 0, "busy"), [[1, 2]], "groups[0].busy[0]"),
    (("groups", 0, "busy"), [{"start": "2027-03-01T10:00:00Z", "end": "2027-03-01T11:00:00Z"}] * 501,
     "groups[0].busy"),
    (("duration_minutes",), 0, "duration_minutes"), (("duration_minutes",), 1440, "duration_minutes"),
    (("duration_minutes",), "60", "duration_minutes"), (("duration_minutes",), 10**100, "duration_minutes"),
    (("duration_minutes",), float("nan"), "duration_minutes"), (("duration_minutes",), KeyError, "duration_minutes"),
    (("from",), "2027-03-01T00:00:00", "from"), (("from",), "NaN", "from"), (("from",), "2027-03-01T00:00:30Z", "from"),
    (("to",), "2027-02-28T00:00:00Z", "to"), (("to",), "2027-03-01T00:30:00Z", "to"),
    (("to",), "2027-06-30T00:00:00Z", "to"), (("to",), None, "to"),
    (("step_minutes",), 7, "step_minutes"), (("step_minutes",), 120, "step_minutes"),
    (("step_minutes",), 15.0, "step_minutes"), (("step_minutes",), True, "step_minutes"),
    (("limit",), 0, "limit"), (("limit",), 101, "limit"), (("limit",), [5], "limit"),
]


@pytest.mark.parametrize(("path", "value", "field"), BAD)
def test_every_invalid_input_names_its_field(path, value, field):
    with pytest.raises(InvalidField) as caught:
        parse_suggestion_request(_with(path, value))
    assert caught.value.field == field


def test_duplicate_group_names_and_non_object_bodies_are_refused():
    with pytest.raises(InvalidField) as caught:
        parse_suggestion_request(_with(("groups",), [dict(NEW_YORK), dict(NEW_YORK)]))
    assert caught.value.field == "groups[1].name"
    for body in (None, [], "x", 3):
        with pytest.raises(InvalidField):
            parse_suggestion_request(body)


def test_defaults_and_lenient_forms():
    req = parse_suggestion_request(_with(("groups", 0, "work_start"), "9:00"))
    assert req.step == 15 and req.limit == 5 and req.groups[0].work_start == 540
    assert req.groups[0].headcount == 1 and req.groups[0].calendar.workdays == frozenset(range(5))
    assert parse_suggestion_request(_with(("groups", 0, "holidays"), "us")).groups[0].calendar.country == "US"
