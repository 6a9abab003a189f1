"""A real CalDAV server (Radicale) stores our invites, and an update or a cancellation replaces them in place."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import recurring_ical_events
from icalendar import Calendar

from eventhub.domain.calendar import build_calendar, to_caldav_object
from tests.interop.conftest import ATTENDEES, DTSTAMP, planned, us_dst_series


def store(calendar, ics: bytes):
    # caldav's add_event raises SEQUENCE by one by default: the SEQUENCE is ours to choose.
    return calendar.add_event(to_caldav_object(ics).decode("utf-8"), increase_seqno=False)


def read_back(calendar, uid: str) -> Calendar:
    return Calendar.from_ical(calendar.event_by_uid(uid).data)


def expanded(stored: Calendar) -> list[tuple[datetime, datetime]]:
    found = recurring_ical_events.of(stored).between(datetime(2000, 1, 1), datetime(2040, 1, 1))
    return sorted((e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC)) for e in found)


def test_a_stored_series_reads_back_with_its_uid_sequence_and_every_occurrence(caldav_calendar):
    event = us_dst_series()
    store(caldav_calendar, build_calendar(event, "REQUEST", ATTENDEES, DTSTAMP))
    stored = read_back(caldav_calendar, event.uid)
    assert "METHOD" not in stored
    assert {str(v["UID"]) for v in stored.walk("VEVENT")} == {event.uid}
    assert {v["SEQUENCE"] for v in stored.walk("VEVENT")} == {0}
    assert expanded(stored) == planned(event)


def test_an_update_with_a_higher_sequence_replaces_the_stored_event(caldav_calendar):
    first = us_dst_series()
    href = store(caldav_calendar, build_calendar(first, "REQUEST", ATTENDEES, DTSTAMP)).url
    moved = replace(first, sequence=1, occurrences=tuple(start + timedelta(hours=2) for start in first.occurrences))
    again = store(caldav_calendar, build_calendar(moved, "REQUEST", ATTENDEES, DTSTAMP + timedelta(days=1)))
    assert again.url == href
    assert len(caldav_calendar.events()) == 1
    stored = read_back(caldav_calendar, first.uid)
    assert {v["SEQUENCE"] for v in stored.walk("VEVENT")} == {1}
    assert expanded(stored) == planned(moved)


def test_a_cancellation_is_stored_as_cancelled_in_place(caldav_calendar):
    event = us_dst_series()
    store(caldav_calendar, build_calendar(event, "REQUEST", ATTENDEES, DTSTAMP))
    cancelled = replace(event, sequence=1, cancelled=True)
    store(caldav_calendar, build_calendar(cancelled, "CANCEL", ATTENDEES, DTSTAMP + timedelta(days=2)))
    assert len(caldav_calendar.events()) == 1
    (master,) = read_back(caldav_calendar, event.uid).walk("VEVENT")
    assert master["STATUS"] == "CANCELLED" and master["SEQUENCE"] == 1
