"""'Add to calendar' links: the right endpoint, every value encoded and read back unchanged."""

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from eventhub.domain.calendar_links import google_calendar_link, outlook_calendar_link

START = datetime(2027, 3, 2, 15, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
TRICKY = "Q&A #1 + 50% off? a=b\nsecond line — ünïcødé 会議"


def query(url: str) -> dict[str, str]:
    values = parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)
    assert all(len(items) == 1 for items in values.values()), "each parameter appears once"
    return {key: items[0] for key, items in values.items()}


def test_the_google_link_fills_the_template_with_utc_dates():
    url = google_calendar_link("Q1 Town Hall", START, END, "Agenda", "https://meet.google.com/abc", None, None)
    assert url.startswith("https://calendar.google.com/calendar/render?")
    assert query(url) == {"action": "TEMPLATE", "text": "Q1 Town Hall", "dates": "20270302T150000Z/20270302T160000Z",
                          "details": "Agenda", "location": "https://meet.google.com/abc"}


def test_the_google_link_repeats_a_series_in_the_organizers_zone():
    url = google_calendar_link("Series", START, END, "", None, "FREQ=WEEKLY;INTERVAL=1;COUNT=6", "America/New_York")
    values = query(url)
    assert values["recur"] == "RRULE:FREQ=WEEKLY;INTERVAL=1;COUNT=6"
    assert values["ctz"] == "America/New_York"
    assert "details" not in values and "location" not in values
    prefixed = google_calendar_link("Series", START, END, "", None, "RRULE:FREQ=MONTHLY;COUNT=3", None)
    assert query(prefixed)["recur"] == "RRULE:FREQ=MONTHLY;COUNT=3"


def test_the_outlook_link_opens_the_compose_form_with_iso_times():
    url = outlook_calendar_link("Q1 Town Hall", START, END, "Agenda", "Room 4")
    assert url.startswith("https://outlook.office.com/calendar/0/deeplink/compose?")
    assert query(url) == {"path": "/calendar/action/compose", "rru": "addevent", "subject": "Q1 Town Hall",
                          "startdt": "2027-03-02T15:00:00Z", "enddt": "2027-03-02T16:00:00Z",
                          "body": "Agenda", "location": "Room 4"}


def test_any_text_survives_the_round_trip_through_the_url():
    google = query(google_calendar_link(TRICKY, START, END, TRICKY, TRICKY, None, None))
    outlook = query(outlook_calendar_link(TRICKY, START, END, TRICKY, TRICKY))
    assert google["text"] == google["details"] == google["location"] == TRICKY
    assert outlook["subject"] == outlook["body"] == outlook["location"] == TRICKY
    for url in (google_calendar_link(TRICKY, START, END, TRICKY, None, None, None),
                outlook_calendar_link(TRICKY, START, END, TRICKY, None)):
        assert " " not in url and "\n" not in url and "#" not in url


def test_times_in_another_offset_are_sent_as_the_same_utc_instant():
    manila = START.astimezone(timezone(timedelta(hours=8)))
    assert query(google_calendar_link("x", manila, END, "", None, None, None))["dates"].startswith("20270302T150000Z/")
    assert query(outlook_calendar_link("x", manila, END))["startdt"] == "2027-03-02T15:00:00Z"


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="start_utc"):
        google_calendar_link("x", START.replace(tzinfo=None), END, "", None, None, None)
    with pytest.raises(ValueError, match="end_utc"):
        outlook_calendar_link("x", START, END.replace(tzinfo=None))
