"""The one module every time-zone conversion goes through."""

from datetime import UTC, datetime, timedelta

import pytest

from eventhub.domain import zones
from eventhub.domain.errors import InvalidField

UTC = UTC


def test_an_unknown_zone_name_is_an_invalid_field():
    for bad in ("Mars/Olympus", "", None, 5, ["UTC"], "x" * 200):
        with pytest.raises(InvalidField) as caught:
            zones.get_zone(bad, "groups[1].timezone")
        assert caught.value.field == "groups[1].timezone"


def test_quarter_hour_offsets_are_exact():
    kathmandu = zones.get_zone("Asia/Kathmandu")
    chatham = zones.get_zone("Pacific/Chatham")
    assert zones.format_local(datetime(2027, 3, 1, 4, 15, tzinfo=UTC), kathmandu) == "2027-03-01T10:00:00+05:45"
    assert zones.format_local(datetime(2027, 1, 4, 20, 15, tzinfo=UTC), chatham) == "2027-01-05T10:00:00+13:45"
    assert zones.format_local(datetime(2027, 7, 5, 21, 15, tzinfo=UTC), chatham) == "2027-07-06T10:00:00+12:45"


def test_local_to_utc_uses_the_offset_of_that_date_not_local_mean_time():
    new_york = zones.get_zone("America/New_York")
    assert zones.local_to_utc(datetime(2027, 3, 2, 10, 0), new_york) == datetime(2027, 3, 2, 15, 0, tzinfo=UTC)
    assert zones.local_to_utc(datetime(2027, 7, 2, 10, 0), new_york) == datetime(2027, 7, 2, 14, 0, tzinfo=UTC)


def test_transitions_list_the_us_changes_of_2027():
    new_york = zones.get_zone("America/New_York")
    found = zones.transitions_between(new_york, datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
    assert found == [
        (datetime(2027, 3, 14, 7, 0, tzinfo=UTC), timedelta(hours=-4)),
        (datetime(2027, 11, 7, 6, 0, tzinfo=UTC), timedelta(hours=-5)),
    ]
    assert zones.transitions_between(zones.get_zone("Asia/Manila"), found[0][0] - timedelta(days=9), found[1][0]) == []


def test_offset_segments_cover_the_range_in_order():
    new_york = zones.get_zone("America/New_York")
    start, end = datetime(2027, 3, 10, tzinfo=UTC), datetime(2027, 3, 20, tzinfo=UTC)
    segments = zones.offset_segments(new_york, start, end)
    assert [s[2] for s in segments] == [timedelta(hours=-5), timedelta(hours=-4)]
    assert segments[0][0] == start and segments[-1][1] == end and segments[0][1] == segments[1][0]
    assert zones.utc_offset_at(segments[1][0], new_york) == timedelta(hours=-4)
    assert zones.offset_minutes_at(start, new_york) == -300


@pytest.mark.parametrize("text", ["2027-03-01T00:00:00", "2027-03-01", "yesterday", "", 7, None, "1900-01-01T00:00Z",
                                  "2040-01-01T00:00:00Z", "NaN", "9999-12-31T23:59:59-23:59"])
def test_instants_need_an_offset_and_a_supported_year(text):
    with pytest.raises(InvalidField) as caught:
        zones.parse_instant(text, "from")
    assert caught.value.field == "from"


def test_z_and_numeric_offsets_are_accepted():
    assert zones.parse_instant("2027-03-01T00:00:00Z", "from") == datetime(2027, 3, 1, tzinfo=UTC)
    assert zones.parse_instant("2027-03-01T05:45:00+05:45", "from") == datetime(2027, 3, 1, tzinfo=UTC)
    assert zones.format_utc(datetime(2027, 3, 1, tzinfo=UTC)) == "2027-03-01T00:00:00Z"
