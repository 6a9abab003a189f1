"""Recurring town halls: one occurrence per period, pain shared out, DST moves reported."""

import pytest

from eventhub.domain.errors import InvalidField
from eventhub.domain.scheduling_input import parse_series_request
from eventhub.domain.series import jain_index, plan_series

NEW_YORK = {"name": "New York", "timezone": "America/New_York", "work_start": "09:00", "work_end": "17:00"}
MANILA_NIGHT = {"name": "Manila", "timezone": "Asia/Manila", "work_start": "21:00", "work_end": "06:00"}
MANILA_DAY = {"name": "Manila", "timezone": "Asia/Manila", "work_start": "09:00", "work_end": "18:00"}
LONDON = {"name": "London", "timezone": "Europe/London", "work_start": "09:00", "work_end": "17:00"}


def plan(*groups, start="2027-03-01T00:00:00Z", count=4, every="week", **extra):
    body = {"groups": [dict(g) for g in groups], "duration_minutes": 60, "from": start, "count": count,
            "every": every, **extra}
    return plan_series(parse_series_request(body)).to_json()


def test_march_dst_change_moves_manila_and_is_reported_with_its_date():
    result = plan(NEW_YORK, MANILA_NIGHT)
    assert [o["start"] for o in result["occurrences"]] == [
        "2027-03-01T14:00:00Z", "2027-03-08T14:00:00Z", "2027-03-15T13:00:00Z", "2027-03-22T13:00:00Z"]
    assert {g["local_start"][11:] for o in result["occurrences"] for g in o["groups"][:1]} == {
        "09:00:00-05:00", "09:00:00-04:00"}
    assert result["dst_shifts"] == [
        {"name": "Manila", "changes": [{"date": "2027-03-15", "from": "22:00", "to": "21:00"}]}]
    assert result["burden"] == [{"name": "New York", "pain": 0.0}, {"name": "Manila", "pain": 0.0}]
    assert result["fairness"] == {"jain": 1.0}


def test_november_dst_change_is_reported_too():
    result = plan(NEW_YORK, MANILA_NIGHT, start="2027-11-01T00:00:00Z", count=2)
    assert [o["start"] for o in result["occurrences"]] == ["2027-11-01T13:00:00Z", "2027-11-08T14:00:00Z"]
    assert result["dst_shifts"] == [
        {"name": "Manila", "changes": [{"date": "2027-11-08", "from": "21:00", "to": "22:00"}]}]


def test_pain_is_shared_out_between_new_york_and_manila_day_shift():
    result = plan(NEW_YORK, dict(MANILA_DAY, headcount=500), start="2027-04-05T00:00:00Z", count=6)
    burden = {b["name"]: b["pain"] for b in result["burden"]}
    assert burden["New York"] == burden["Manila"] > 0
    assert result["fairness"]["jain"] == 1.0
    for occurrence in result["occurrences"]:
        assert all(g["workday"] and not g["night"] for g in occurrence["groups"])


def test_three_regions_stay_balanced_and_occurrences_fall_in_their_periods():
    result = plan(NEW_YORK, MANILA_DAY, LONDON, count=8, every="2 weeks", start="2027-01-04T00:00:00Z")
    assert len(result["occurrences"]) == 8
    starts = [o["start"] for o in result["occurrences"]]
    assert starts == sorted(starts)
    assert result["fairness"]["jain"] > 0.8


def test_monthly_periods_and_to_cut_the_series():
    result = plan(NEW_YORK, LONDON, every="month", count=12, start="2027-01-31T00:00:00Z",
                  to="2027-05-01T00:00:00Z")
    months = [o["start"][:7] for o in result["occurrences"]]
    # periods begin Jan 31, Feb 28, Mar 31 and Apr 30 (cut at May 1); weekends are skipped
    assert months == ["2027-02", "2027-03", "2027-03", "2027-04"]
    assert all(o["max_pain"] == 0.0 for o in result["occurrences"])


def test_jain_index():
    assert jain_index([0.0, 0.0]) == 1.0
    assert jain_index([1.0, 1.0, 1.0]) == 1.0
    assert jain_index([3.0, 0.0, 0.0]) == pytest.approx(1 / 3)


@pytest.mark.parametrize(("change", "field"), [
    ({"count": 0}, "count"), ({"count": 105}, "count"), ({"count": None}, "count"), ({"every": "day"}, "every"),
    ({"every": None}, "every"), ({"to": "2026-01-01T00:00:00Z"}, "to"), ({"to": "soon"}, "to"),
    ({"from": "2037-06-01T00:00:00Z", "every": "month", "count": 12}, "count"),
])
def test_invalid_series_fields(change, field):
    body = {"groups": [NEW_YORK], "duration_minutes": 60, "from": "2027-03-01T00:00:00Z", "count": 4,
            "every": "week", **change}
    with pytest.raises(InvalidField) as caught:
        parse_series_request(body)
    assert caught.value.field == field
