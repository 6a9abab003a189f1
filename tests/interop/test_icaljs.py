"""Mozilla ical.js, reading our VTIMEZONE and overrides, puts every occurrence on its planned UTC instant."""

from datetime import UTC, datetime, timedelta

import pytest

from eventhub.domain.calendar import build_calendar
from tests.interop.conftest import ATTENDEES, DTSTAMP, planned, town_hall, us_dst_series, weekly


def test_a_new_york_series_across_both_us_changes_expands_to_the_plan(icaljs_expand):
    event = us_dst_series()
    ics = build_calendar(event, "REQUEST", ATTENDEES, DTSTAMP)
    assert b"RDATE" not in ics and b"RECURRENCE-ID" in ics
    assert icaljs_expand(ics) == planned(event)


def test_a_london_series_across_both_uk_changes_expands_to_the_plan(icaljs_expand):
    """Tuesdays 09:30 UTC from January to December 2027: 09:30 GMT, 10:30 BST from 30 March, 09:30 GMT in November."""
    event = town_hall(timezone="Europe/London", every="week",
                      occurrences=weekly(datetime(2027, 1, 5, 9, 30, tzinfo=UTC), 50))
    assert icaljs_expand(build_calendar(event, "REQUEST", ATTENDEES, DTSTAMP)) == planned(event)


@pytest.mark.parametrize(
    "zone", ["Australia/Sydney", "Pacific/Chatham", "Asia/Kathmandu", "Asia/Jerusalem", "Africa/Casablanca"]
)
def test_series_in_other_zones_expand_to_the_plan(icaljs_expand, zone):
    """Southern-hemisphere, :45 offsets, a weekday-within-seven-days rule, and a zone written change by change."""
    event = town_hall(timezone=zone, every="2 weeks", occurrences=weekly(datetime(2026, 1, 6, 23, tzinfo=UTC), 52)[::2])
    assert icaljs_expand(build_calendar(event, "PUBLISH", (), DTSTAMP)) == planned(event)


def test_occurrences_moved_by_the_fair_plan_expand_to_the_plan(icaljs_expand):
    occurrences = list(weekly(datetime(2027, 3, 2, 14, tzinfo=UTC), 10))
    occurrences[2] += timedelta(days=2, hours=3)
    occurrences[7] -= timedelta(hours=6)
    event = town_hall(every="week", occurrences=tuple(occurrences))
    assert icaljs_expand(build_calendar(event, "REQUEST", ATTENDEES, DTSTAMP)) == planned(event)


def test_a_monthly_series_on_late_days_expands_to_the_plan(icaljs_expand):
    days = [31, 28, 30, 29, 31, 30, 31, 31, 30, 31, 30, 31]
    event = town_hall(every="month", occurrences=tuple(
        datetime(2027, month, day, 16, tzinfo=UTC) for month, day in enumerate(days, start=1)))
    assert icaljs_expand(build_calendar(event, "REQUEST", ATTENDEES, DTSTAMP)) == planned(event)


def test_a_single_town_hall_and_a_repeated_wall_time(icaljs_expand):
    for event in (town_hall(), town_hall(occurrences=(datetime(2027, 11, 7, 6, 30, tzinfo=UTC),))):
        assert icaljs_expand(build_calendar(event, "REQUEST", ATTENDEES, DTSTAMP)) == planned(event)
