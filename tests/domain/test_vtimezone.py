"""The compact VTIMEZONE of an invite: yearly rules where the zone has them, one part per change where it
has none, read back with icalendar's own rule expansion (`Timezone.to_tz(lookup_tzid=False)`) and compared
with pytz at every change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import pytz

from eventhub.domain.calendar import build_calendar
from tests.domain.test_calendar import DTSTAMP, parse, town_hall


def only_vtimezone(zone: str, year: int = 2027):
    occurrences = (datetime(year, 6, 1, 12, tzinfo=UTC),)
    ics = build_calendar(town_hall(timezone=zone, occurrences=occurrences), "PUBLISH", (), DTSTAMP)
    assert b"RDATE" not in ics
    (vtimezone,) = parse(ics).walk("VTIMEZONE")
    return vtimezone


def rules(vtimezone) -> dict[str, list[tuple[str, str, str, str]]]:
    """{"STANDARD": [(RRULE, TZOFFSETFROM, TZOFFSETTO, DTSTART time)], "DAYLIGHT": [...]}"""
    found: dict[str, list] = {"STANDARD": [], "DAYLIGHT": []}
    for part in vtimezone.subcomponents:
        rrule = part["RRULE"].to_ical().decode() if "RRULE" in part else ""
        found[part.name].append((rrule, part["TZOFFSETFROM"].to_ical(), part["TZOFFSETTO"].to_ical(),
                                 part["DTSTART"].dt.strftime("%H:%M")))
    return found


@pytest.mark.parametrize(
    ("zone", "standard", "daylight"),
    [
        ("America/New_York", [("FREQ=YEARLY;BYDAY=1SU;BYMONTH=11", "-0400", "-0500", "02:00")],
         [("FREQ=YEARLY;BYDAY=2SU;BYMONTH=3", "-0500", "-0400", "02:00")]),
        ("Europe/London", [("FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10", "+0100", "+0000", "02:00")],
         [("FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3", "+0000", "+0100", "01:00")]),
        # Southern hemisphere: daylight time begins in October and ends in April.
        ("Australia/Sydney", [("FREQ=YEARLY;BYDAY=1SU;BYMONTH=4", "+1100", "+1000", "03:00")],
         [("FREQ=YEARLY;BYDAY=1SU;BYMONTH=10", "+1000", "+1100", "02:00")]),
        ("Pacific/Chatham", [("FREQ=YEARLY;BYDAY=1SU;BYMONTH=4", "+1345", "+1245", "03:45")],
         [("FREQ=YEARLY;BYDAY=-1SU;BYMONTH=9", "+1245", "+1345", "02:45")]),
        ("Asia/Manila", [("", "+0800", "+0800", "00:00")], []),
        ("Asia/Kolkata", [("", "+0530", "+0530", "00:00")], []),
        ("Asia/Kathmandu", [("", "+0545", "+0545", "00:00")], []),
    ],
)
def test_the_vtimezone_is_the_compact_yearly_form(zone, standard, daylight):
    vtimezone = only_vtimezone(zone)
    assert vtimezone["TZID"] == zone
    assert rules(vtimezone) == {"STANDARD": standard, "DAYLIGHT": daylight}


def test_a_rule_on_a_weekday_within_seven_days_is_written_with_bymonthday():
    """Israel: the Friday before the last Sunday of March, i.e. the Friday on the 23rd to 29th."""
    daylight = only_vtimezone("Asia/Jerusalem").walk("DAYLIGHT")[0]
    assert daylight["RRULE"].to_ical() == b"FREQ=YEARLY;BYDAY=FR;BYMONTHDAY=23,24,25,26,27,28,29;BYMONTH=3"


def test_a_zone_without_a_yearly_rule_gets_one_sub_component_per_change():
    """Morocco leaves summer time for Ramadan, which moves through the solar year."""
    vtimezone = only_vtimezone("Africa/Casablanca")
    parts = vtimezone.subcomponents
    assert len(parts) >= 4
    assert all("RRULE" not in part and "RDATE" not in part for part in parts)


@pytest.mark.parametrize(
    "zone",
    ["America/New_York", "Europe/London", "Australia/Sydney", "Pacific/Chatham", "Asia/Manila", "Asia/Kolkata",
     "Asia/Kathmandu", "Asia/Jerusalem", "America/Santiago", "Africa/Casablanca", "Europe/Dublin"],
)
def test_the_vtimezone_gives_pytzs_offset_at_every_change_and_every_month(zone):
    """Read back by icalendar's own VTIMEZONE expansion (not by name), the offsets match pytz's over the span."""
    start, end = datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 12, 31, tzinfo=UTC)
    event = town_hall(timezone=zone, occurrences=(start, end))
    (vtimezone,) = parse(build_calendar(event, "PUBLISH", (), DTSTAMP)).walk("VTIMEZONE")
    theirs, ours = vtimezone.to_tz(lookup_tzid=False), pytz.timezone(zone)
    changes = [moment.replace(tzinfo=UTC) for moment in getattr(ours, "_utc_transition_times", [])
               if start <= moment.replace(tzinfo=UTC) <= end]
    probes = [start + timedelta(days=15 * n) for n in range(49)]
    probes += [change + delta for change in changes for delta in (timedelta(minutes=-1), timedelta(minutes=1))]
    for probe in probes:
        assert probe.astimezone(theirs).utcoffset() == probe.astimezone(ours).utcoffset(), (zone, probe)
