"""iCalendar invites: fields, line format, and series that land on the planned instants (the VTIMEZONE:
test_vtimezone.py).

Expansion uses `recurring-ical-events` (the series structure: RRULE, COUNT, RECURRENCE-ID overrides), and the
VTIMEZONE is read back with icalendar's own rule expansion (`Timezone.to_tz(lookup_tzid=False)`), so both
are checked by code other than ours. ical.js and libical read the same files in tests/interop.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import recurring_ical_events
from icalendar import Calendar

from eventhub.domain.calendar import (
    CalendarAttendee,
    CalendarEvent,
    build_calendar,
    rule_instances,
    series_rule,
    to_caldav_object,
)

DTSTAMP = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
ANA = CalendarAttendee("ana@example.com", "Ana Reyes")
BO = CalendarAttendee("bo@example.com", "")


def town_hall(**changes) -> CalendarEvent:
    event = CalendarEvent(
        uid="townhall-42@eventhub.test",
        sequence=0,
        title="Q1 Town Hall",
        description="Agenda:\n1. Results\n2. Questions",
        organizer_email="ceo@example.com",
        organizer_name="Chief Executive",
        timezone="America/New_York",
        occurrences=(datetime(2027, 3, 2, 15, 0, tzinfo=UTC),),
        duration_minutes=60,
        every=None,
    )
    return replace(event, **changes)


def tuesdays_14_utc(count: int = 40, first: datetime = datetime(2027, 3, 2, 14, 0, tzinfo=UTC)) -> tuple:
    """Tuesdays at 14:00 UTC from 2 March 2027: 09:00 EST, then 10:00 EDT after 14 March, 09:00 EST after 7 Nov."""
    return tuple(first + timedelta(weeks=week) for week in range(count))


def parse(ics: bytes) -> Calendar:
    return Calendar.from_ical(ics)


def vevents(ics: bytes) -> list:
    return parse(ics).walk("VEVENT")


def expanded(ics: bytes) -> list[tuple[datetime, datetime]]:
    """(start, end) in UTC of every occurrence recurring-ical-events finds, sorted."""
    found = recurring_ical_events.of(parse(ics)).between(datetime(2000, 1, 1), datetime(2040, 1, 1))
    return sorted((e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC)) for e in found)


def planned(event: CalendarEvent) -> list[tuple[datetime, datetime]]:
    duration = timedelta(minutes=event.duration_minutes)
    return [(start, start + duration) for start in event.occurrences]


def unfolded_lines(ics: bytes) -> list[str]:
    return ics.decode().replace("\r\n ", "").split("\r\n")


# --- fields ----------------------------------------------------------------------------------------------


def test_a_request_names_the_organizer_and_asks_every_attendee_to_reply():
    event = town_hall(location="https://meet.google.com/abc-defg-hij", url="https://eventhub.test/events/42")
    calendar = parse(build_calendar(event, "REQUEST", (ANA, BO), DTSTAMP))
    (vevent,) = calendar.walk("VEVENT")
    assert calendar["METHOD"] == "REQUEST"
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    assert str(vevent["UID"]) == "townhall-42@eventhub.test"
    assert vevent["SEQUENCE"] == 0
    assert vevent["DTSTAMP"].dt == DTSTAMP
    assert str(vevent["SUMMARY"]) == "Q1 Town Hall"
    assert str(vevent["DESCRIPTION"]) == "Agenda:\n1. Results\n2. Questions"
    assert str(vevent["LOCATION"]) == "https://meet.google.com/abc-defg-hij"
    assert str(vevent["URL"]) == "https://eventhub.test/events/42"
    assert vevent["STATUS"] == "CONFIRMED"
    organizer = vevent["ORGANIZER"]
    assert str(organizer) == "mailto:ceo@example.com" and organizer.params["CN"] == "Chief Executive"
    attendees = vevent["ATTENDEE"]
    assert [str(a) for a in attendees] == ["mailto:ana@example.com", "mailto:bo@example.com"]
    for attendee in attendees:
        assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert attendee.params["RSVP"] == "TRUE"
    assert attendees[0].params["CN"] == "Ana Reyes"
    assert attendees[1].params["CN"] == "bo@example.com"  # a name is always shown, the address if nothing else


def test_a_single_town_hall_is_written_in_the_organizers_local_time_with_its_zone():
    ics = build_calendar(town_hall(), "REQUEST", (ANA,), DTSTAMP)
    lines = unfolded_lines(ics)
    assert "DTSTART;TZID=America/New_York:20270302T100000" in lines
    assert "DTEND;TZID=America/New_York:20270302T110000" in lines
    assert "RRULE" not in vevents(ics)[0]
    assert [tz["TZID"] for tz in parse(ics).walk("VTIMEZONE")] == ["America/New_York"]
    assert expanded(ics) == planned(town_hall())


def test_the_file_is_utf8_with_crlf_line_ends_and_lines_folded_at_75_octets():
    event = town_hall(title="Réunion générale — 全体会議 " * 6, description="Ünïcødé line " * 40)
    ics = build_calendar(event, "REQUEST", (ANA,), DTSTAMP)
    text = ics.decode("utf-8")
    assert ics.endswith(b"\r\n")
    assert "\n" not in text.replace("\r\n", "")  # no bare line feed anywhere
    assert max(len(line) for line in ics.split(b"\r\n")) <= 75
    assert any(line.startswith(b" ") for line in ics.split(b"\r\n")), "long lines are folded"
    vevent = vevents(ics)[0]
    assert str(vevent["SUMMARY"]) == event.title and str(vevent["DESCRIPTION"]) == event.description


def test_the_same_event_gives_the_same_uid_and_the_same_bytes():
    first = build_calendar(town_hall(), "REQUEST", (ANA,), DTSTAMP)
    again = build_calendar(town_hall(), "REQUEST", (ANA,), DTSTAMP)
    moved = build_calendar(town_hall(sequence=1, occurrences=(datetime(2027, 3, 3, 15, tzinfo=UTC),)),
                           "REQUEST", (ANA,), DTSTAMP + timedelta(hours=1))
    assert first == again
    assert str(vevents(moved)[0]["UID"]) == str(vevents(first)[0]["UID"])
    assert vevents(moved)[0]["SEQUENCE"] == 1


def test_names_with_quotes_and_line_breaks_stay_one_parameter():
    ics = build_calendar(town_hall(organizer_name='The "Boss"\nHQ'), "REQUEST", (ANA,), DTSTAMP)
    organizer = vevents(ics)[0]["ORGANIZER"]
    assert organizer.params["CN"] == "The 'Boss' HQ"
    assert str(organizer) == "mailto:ceo@example.com"


def test_a_cancel_keeps_the_uid_carries_the_raised_sequence_and_names_the_attendees():
    event = town_hall(sequence=3, occurrences=tuesdays_14_utc(6), every="week")
    calendar = parse(build_calendar(event, "CANCEL", (ANA, BO), DTSTAMP))
    assert calendar["METHOD"] == "CANCEL"
    (vevent,) = calendar.walk("VEVENT")  # the master alone cancels the whole series
    assert str(vevent["UID"]) == event.uid and vevent["SEQUENCE"] == 3
    assert vevent["STATUS"] == "CANCELLED"
    assert [str(a) for a in vevent["ATTENDEE"]] == ["mailto:ana@example.com", "mailto:bo@example.com"]
    assert all("RSVP" not in a.params for a in vevent["ATTENDEE"])


def test_a_publish_file_is_an_importable_calendar_without_attendees():
    event = town_hall(occurrences=tuesdays_14_utc(12), every="week")
    ics = build_calendar(event, "PUBLISH", (ANA,), DTSTAMP)
    calendar = parse(ics)
    assert calendar["METHOD"] == "PUBLISH"
    assert all("ATTENDEE" not in vevent and "ORGANIZER" in vevent for vevent in calendar.walk("VEVENT"))
    assert expanded(ics) == planned(event)


def test_a_cancelled_event_downloads_as_cancelled():
    ics = build_calendar(town_hall(cancelled=True), "PUBLISH", (), DTSTAMP)
    assert vevents(ics)[0]["STATUS"] == "CANCELLED"


@pytest.mark.parametrize(
    ("changes", "method", "attendees", "message"),
    [
        ({}, "REPLY", (ANA,), "method"),
        ({}, "REQUEST", (), "at least one attendee"),
        ({"cancelled": True}, "REQUEST", (ANA,), "CANCEL"),
        ({"occurrences": (datetime(2027, 3, 2, 15),)}, "REQUEST", (ANA,), "aware"),
        ({"occurrences": tuesdays_14_utc(3)[::-1]}, "REQUEST", (ANA,), "sorted"),
        ({"occurrences": ()}, "REQUEST", (ANA,), "at least one occurrence"),
        ({"every": "fortnight"}, "REQUEST", (ANA,), "every"),
        ({"organizer_email": "ceo@example.com\r\nX-EVIL:1"}, "REQUEST", (ANA,), "email"),
    ],
)
def test_inconsistent_input_is_refused(changes, method, attendees, message):
    with pytest.raises(ValueError, match=message):
        build_calendar(town_hall(**changes), method, attendees, DTSTAMP)


def test_a_caldav_object_is_the_same_calendar_without_its_method():
    ics = build_calendar(town_hall(occurrences=tuesdays_14_utc(3)), "REQUEST", (ANA,), DTSTAMP)
    stored = to_caldav_object(ics)
    assert b"METHOD" not in stored
    assert stored == ics.replace(b"METHOD:REQUEST\r\n", b"")


# --- series ----------------------------------------------------------------------------------------------


def test_a_series_planned_in_utc_across_both_us_changes_lands_on_every_planned_instant():
    """Tuesdays 14:00 UTC: 09:00 EST, 10:00 EDT from 16 March, 09:00 EST from 9 November 2027."""
    event = town_hall(occurrences=tuesdays_14_utc(40), every="week")
    ics = build_calendar(event, "REQUEST", (ANA,), DTSTAMP)
    master, *overrides = vevents(ics)
    assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=40;INTERVAL=1"
    assert "RECURRENCE-ID" not in master
    assert overrides, "the local time moves at the changes, so some instances are overridden"
    assert all(str(o["UID"]) == event.uid and o["SEQUENCE"] == event.sequence for o in overrides)
    assert all("RECURRENCE-ID;TZID=America/New_York:" in o.to_ical().decode() for o in overrides)
    assert expanded(ics) == planned(event)
    for word in (b"RDATE", b"EXDATE"):
        assert word not in ics


def test_the_rule_follows_the_local_time_most_occurrences_share():
    """33 of the 40 Tuesdays are at 10:00 EDT: the rule says 10:00 and only the 7 EST ones are overridden."""
    event = town_hall(occurrences=tuesdays_14_utc(40), every="week")
    master, *overrides = vevents(build_calendar(event, "REQUEST", (ANA,), DTSTAMP))
    assert len(overrides) == 2 + 4  # 2 and 9 March; 9, 16, 23 and 30 November
    assert master["DTSTART"].dt.hour == 10 and master["DTSTART"].dt.day == 2
    assert all(o["DTSTART"].dt.hour == 9 for o in overrides)


def test_occurrences_the_fair_plan_moved_become_overrides_of_their_own_instance():
    occurrences = list(tuesdays_14_utc(8))
    occurrences[3] += timedelta(days=1, hours=-3)  # Wednesday, earlier in the day
    occurrences[6] += timedelta(hours=5)
    event = town_hall(occurrences=tuple(occurrences), every="week")
    ics = build_calendar(event, "REQUEST", (ANA,), DTSTAMP)
    assert expanded(ics) == planned(event)
    moved = {o["RECURRENCE-ID"].dt.date() for o in vevents(ics)[1:]}
    assert {occurrences[3].date() - timedelta(days=1), occurrences[6].date()} <= moved


@pytest.mark.parametrize(
    ("every", "gap", "rrule"),
    [
        ("week", timedelta(weeks=1), "FREQ=WEEKLY;INTERVAL=1;COUNT=10"),
        ("2 weeks", timedelta(weeks=2), "FREQ=WEEKLY;INTERVAL=2;COUNT=10"),
        (None, timedelta(weeks=1), "FREQ=WEEKLY;INTERVAL=1;COUNT=10"),
        (None, timedelta(weeks=2), "FREQ=WEEKLY;INTERVAL=2;COUNT=10"),
        (None, timedelta(weeks=3), "FREQ=WEEKLY;INTERVAL=3;COUNT=10"),
    ],
)
def test_weekly_series_write_their_interval_and_count(every, gap, rrule):
    occurrences = tuple(datetime(2027, 1, 5, 14, tzinfo=UTC) + gap * n for n in range(10))
    event = town_hall(occurrences=occurrences, every=every)
    assert series_rule(event) == rrule
    assert expanded(build_calendar(event, "REQUEST", (ANA,), DTSTAMP)) == planned(event)


def test_a_monthly_series_is_inferred_and_counts_exactly_one_instance_per_occurrence():
    """Days 29 to 31 would make FREQ=MONTHLY skip short months; the rule anchors on a day every month has."""
    days = [31, 28, 30, 29, 31, 30, 31, 31, 30, 31, 30, 31]
    occurrences = tuple(datetime(2027, month, day, 16, tzinfo=UTC) for month, day in enumerate(days, start=1))
    event = town_hall(occurrences=occurrences, every=None)
    assert series_rule(event) == "FREQ=MONTHLY;INTERVAL=1;COUNT=12"
    assert expanded(build_calendar(event, "REQUEST", (ANA,), DTSTAMP)) == planned(event)


def test_irregular_gaps_still_give_one_rule_instance_per_occurrence():
    starts = [0, 6, 15, 19, 33, 40]
    occurrences = tuple(datetime(2027, 2, 1, 13, tzinfo=UTC) + timedelta(days=d, hours=d % 3) for d in starts)
    event = town_hall(occurrences=occurrences, every=None)
    assert series_rule(event).endswith("COUNT=6")
    assert expanded(build_calendar(event, "REQUEST", (ANA,), DTSTAMP)) == planned(event)


# Not Africa/Casablanca here: icalendar resolves a TZID by name through zoneinfo, which reads the system's
# /usr/share/zoneinfo before the pinned tzdata and disagrees with pytz there from September 2026 on.
# ical.js, which reads our VTIMEZONE, covers it in tests/interop.
@pytest.mark.parametrize(
    "zone", ["Europe/London", "Australia/Sydney", "Pacific/Chatham", "Asia/Kathmandu", "Asia/Manila"]
)
def test_a_utc_planned_series_lands_on_its_instants_in_any_organizer_zone(zone):
    event = town_hall(timezone=zone, occurrences=tuesdays_14_utc(52, datetime(2027, 1, 5, 9, tzinfo=UTC)))
    ics = build_calendar(event, "REQUEST", (ANA,), DTSTAMP)
    assert b"RDATE" not in ics
    assert expanded(ics) == planned(event)


def test_a_wall_time_the_zone_repeats_is_written_in_utc():
    """01:30 on 7 November 2027 happens twice in New York; the second one (EST) is 06:30 UTC."""
    second = datetime(2027, 11, 7, 6, 30, tzinfo=UTC)
    event = town_hall(occurrences=(second,))
    ics = build_calendar(event, "REQUEST", (ANA,), DTSTAMP)
    assert "DTSTART:20271107T063000Z" in unfolded_lines(ics)
    assert expanded(ics) == planned(event)


def test_a_series_through_a_repeated_hour_keeps_every_instant():
    sundays = tuple(datetime(2027, 10, 24, 6, 30, tzinfo=UTC) + timedelta(weeks=n) for n in range(4))
    event = town_hall(occurrences=sundays, every="week")
    assert expanded(build_calendar(event, "REQUEST", (ANA,), DTSTAMP)) == planned(event)


def test_a_single_town_hall_has_no_series_rule():
    assert series_rule(town_hall()) is None


def test_rule_instances_are_what_the_rrule_generates_and_overrides_cover_the_rest():
    event = town_hall(occurrences=tuesdays_14_utc(40), every="week")
    instances = rule_instances(event)
    assert len(instances) == 40
    overridden = {o["RECURRENCE-ID"].dt.astimezone(UTC) for o in vevents(build_calendar(event, "REQUEST", (ANA,),
                                                                                            DTSTAMP))[1:]}
    assert overridden == {rule for rule, start in zip(instances, event.occurrences, strict=True) if rule != start}
    assert rule_instances(town_hall()) == town_hall().occurrences


# --- one calendar for many attendees ----------------------------------------------------------------------

MARKER = "@@personal-link@@"


def _personal(event: CalendarEvent, link: str) -> CalendarEvent:
    return replace(event, description=f"{event.description}\n\nAsk: {link}", url=link)


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_a_calendar_built_once_gives_each_attendee_exactly_their_own_calendar(method):
    from eventhub.domain.calendar import CalendarForMany

    base = replace(town_hall(), occurrences=tuple(
        datetime(2027, 3, 2, 14, tzinfo=UTC) + timedelta(weeks=week) for week in range(6)), every="week")
    shared = CalendarForMany(_personal(base, MARKER), method, DTSTAMP, MARKER)
    people = [CalendarAttendee("ana@example.com", "Ana Reyes"), CalendarAttendee("bo@example.com"),
              CalendarAttendee("zoë@example.com", "Zoë \"Z\" Ångström, Jr."),
              CalendarAttendee("long@example.com", "A very long name " * 6),
              CalendarAttendee("first.last+tag@example.com", "Jo Anne-Marie Smith-Jones Jr. " * 3 + "the Third"),
              CalendarAttendee("semi@example.com", "Pat; O'Neil: Ops"), CalendarAttendee("caret@example.com", "A^B")]
    for number, person in enumerate(people):
        link = f"https://eventhub.example.com/ask/Tok_{number}-{'x' * (number * 17)}"
        expected = build_calendar(_personal(base, link), method, (person,), DTSTAMP)
        assert shared.for_attendee(person, link) == expected


def test_personal_text_that_would_need_escaping_is_refused():
    from eventhub.domain.calendar import CalendarForMany

    shared = CalendarForMany(_personal(town_hall(), MARKER), "REQUEST", DTSTAMP, MARKER)
    with pytest.raises(ValueError):
        shared.for_attendee(CalendarAttendee("a@example.com"), "https://x/ask/a,b")


def test_a_line_is_folded_exactly_as_icalendar_folds_it():
    """The fast fold of the copies' personal lines cuts where icalendar cuts, escapes kept whole."""
    import random

    from icalendar.parser import Contentline

    from eventhub.domain.ical_fold import fold

    rng = random.Random(5)
    for number in range(3000):
        alphabet = "ab\\^;,:= x" + ("é€" if number % 2 else "")
        line = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 300)))
        assert fold(line) == Contentline(line).to_ical(), line
