"""Town-hall requests checked without an app: every problem names its field."""

from datetime import UTC, datetime

import pytest

from eventhub.domain.errors import InvalidField
from eventhub.domain.events import apply_event_changes, daylight_saving_moves, local_times, parse_event_request

NOW = datetime(2027, 1, 1, tzinfo=UTC)
BASE = {"title": "Town hall", "start": "2027-03-02T14:00:00Z", "timezone": "America/New_York",
        "groups": [{"name": "Manila", "timezone": "Asia/Manila"}],
        "attendees": [{"email": "ana@example.com", "name": "Ana", "group": "Manila"},
                      {"email": "Bob@Example.com", "name": "Bob"}]}


def test_attendees_read_times_in_their_groups_zone_or_else_the_organizers():
    draft = parse_event_request(BASE, NOW)
    assert [(a.email, a.timezone) for a in draft.attendees] == [
        ("ana@example.com", "Asia/Manila"), ("bob@example.com", "America/New_York")]
    assert draft.questions_close == draft.start == datetime(2027, 3, 2, 14, tzinfo=UTC)
    assert draft.duration_minutes == 60 and draft.every is None


def test_the_same_person_twice_is_one_attendee_keeping_what_each_line_knew():
    draft = parse_event_request({**BASE, "attendees": [{"email": "A@x.org"}, {"email": "a@x.org", "name": "A",
                                                                                "group": "Manila"}]}, NOW)
    assert len(draft.attendees) == 1 and draft.attendees[0].name == "A" and draft.attendees[0].group == "Manila"


def test_a_series_is_sorted_and_keeps_its_period():
    draft = parse_event_request({**BASE, "start": None, "every": "week",
                                 "occurrences": ["2027-03-09T14:00:00Z", "2027-03-02T14:00:00Z"]}, NOW)
    assert draft.occurrences[0] < draft.occurrences[1] and draft.every == "week"


@pytest.mark.parametrize(("changes", "field"), [
    ({"title": ""}, "title"), ({"title": None}, "title"), ({"title": "x" * 201}, "title"),
    ({"title": "a\x00b"}, "title"), ({"start": "2026-12-31T00:00:00Z"}, "start"), ({"start": 5}, "start"),
    ({"timezone": "Nowhere"}, "timezone"), ({"duration_minutes": 1440}, "duration_minutes"),
    ({"duration_minutes": True}, "duration_minutes"), ({"attendees": {}}, "attendees"),
    ({"attendees": ["a@x.org"]}, "attendees[0]"), ({"attendees": [{"email": "a@x"}]}, "attendees[0].email"),
    ({"attendees": [{"email": "a@x.org", "timezone": "Bad/Zone"}]}, "attendees[0].timezone"),
    ({"occurrences": [], "start": None}, "occurrences"),
    ({"occurrences": ["2027-03-02T14:00:00Z"] * 2}, "occurrences"),
    ({"questions_close": "2027-04-02T14:00:00Z"}, "questions_close"),
    ({"groups": [{"name": "", "timezone": "UTC"}]}, "groups[0].name"),
])
def test_invalid_requests_name_the_field(changes, field):
    with pytest.raises(InvalidField) as caught:
        parse_event_request({**BASE, **changes}, NOW)
    assert caught.value.field == field


def test_a_change_touches_only_the_fields_given():
    draft = parse_event_request(BASE, NOW)
    changed = apply_event_changes(draft, {"start": "2027-03-03T14:00:00Z"}, NOW)
    assert changed.title == draft.title and changed.start == datetime(2027, 3, 3, 14, tzinfo=UTC)
    assert changed.questions_close == changed.start  # the default window follows the start
    with pytest.raises(InvalidField) as caught:
        apply_event_changes(draft, {"colour": "red"}, NOW)
    assert caught.value.field == "colour"


def test_local_times_and_daylight_saving_moves_for_new_york_across_march():
    starts = tuple(datetime(2027, 3, day, 14, tzinfo=UTC) for day in (9, 16))  # US clocks change on the 14th
    assert [(s.strftime("%H:%M"), e.strftime("%H:%M")) for s, e in local_times(starts, 30, "America/New_York")] == [
        ("09:00", "09:30"), ("10:00", "10:30")]
    moves = daylight_saving_moves(starts, "America/New_York", "America/New_York")
    assert [(m.date, m.before, m.after) for m in moves] == [("2027-03-16", "09:00", "10:00")]
    assert daylight_saving_moves(starts, "Asia/Kathmandu", "America/New_York") == []


def test_a_change_of_the_period_alone_is_applied():
    draft = parse_event_request({**BASE, "start": None, "every": "week",
                                 "occurrences": ["2027-03-02T14:00:00Z", "2027-03-16T14:00:00Z"]}, NOW)
    assert apply_event_changes(draft, {"every": "2 weeks"}, NOW).every == "2 weeks"
