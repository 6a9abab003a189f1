"""libical (Evolution, GNOME) finds nothing to object to under RFC 5546 in our invites and cancellations."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from eventhub.domain.calendar import build_calendar
from tests.interop.conftest import ATTENDEES, DTSTAMP, town_hall, us_dst_series, weekly

EVENTS = {
    "single": town_hall(),
    "us-dst-series": us_dst_series(),
    "london-series": town_hall(timezone="Europe/London", every="week",
                               occurrences=weekly(datetime(2027, 3, 2, 14, tzinfo=UTC), 12)),
    "moved-by-the-plan": town_hall(every="week", occurrences=tuple(
        start + (timedelta(days=1) if n % 3 == 0 else timedelta(0))
        for n, start in enumerate(weekly(datetime(2027, 3, 2, 14, tzinfo=UTC), 9)))),
    "chatham-monthly": town_hall(timezone="Pacific/Chatham", every="month", occurrences=tuple(
        datetime(2027, month, 10, 21, tzinfo=UTC) for month in range(1, 13))),
    "casablanca-changes": town_hall(timezone="Africa/Casablanca", every="week",
                                    occurrences=weekly(datetime(2026, 1, 6, 9, tzinfo=UTC), 20)),
}


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
@pytest.mark.parametrize("name", sorted(EVENTS))
def test_libical_finds_no_itip_restriction_broken(libical_errors, name, method):
    event = EVENTS[name]
    if method == "CANCEL":
        event = replace(event, sequence=1, cancelled=True)
    assert libical_errors(build_calendar(event, method, ATTENDEES, DTSTAMP)) == []


def test_a_published_download_passes_too(libical_errors):
    assert libical_errors(build_calendar(us_dst_series(), "PUBLISH", ATTENDEES, DTSTAMP)) == []


def test_the_check_does_report_a_broken_invite(libical_errors):
    """The check is not vacuous: a REQUEST stripped of its attendees is reported."""
    ics = build_calendar(town_hall(), "REQUEST", ATTENDEES, DTSTAMP)
    broken = b"\r\n".join(line for line in ics.split(b"\r\n") if not line.startswith((b"ATTENDEE", b" ")))
    assert any("ATTENDEE" in error for error in libical_errors(broken))
