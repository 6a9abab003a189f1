"""'Add to calendar' links for Google Calendar and Outlook on the web.

Pure: each function returns a URL whose query carries every value percent-encoded, so titles and
descriptions with '&', '#', '+', line breaks or any Unicode arrive intact. Times go in as UTC
instants. Neither link can carry a series' moved occurrences (overrides): a series is best added
from the .ics file; the Google link can at least repeat the first occurrence with an RRULE.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlencode

GOOGLE_TEMPLATE_URL = "https://calendar.google.com/calendar/render"
OUTLOOK_COMPOSE_URL = "https://outlook.office.com/calendar/0/deeplink/compose"


def google_calendar_link(title: str, start_utc: datetime, end_utc: datetime, details: str = "",
                         location: str | None = None, recurrence_rrule: str | None = None,
                         timezone: str | None = None) -> str:
    """A link that opens Google Calendar's new-event form filled in.

    `recurrence_rrule` is an RRULE value ("FREQ=WEEKLY;COUNT=6", with or without "RRULE:"); Google
    repeats the start's wall time in `timezone` (an IANA name, sent as `ctz`), so give both for a series.
    """
    params = [
        ("action", "TEMPLATE"),
        ("text", title),
        ("dates", f"{_compact_utc(start_utc, 'start_utc')}/{_compact_utc(end_utc, 'end_utc')}"),
    ]
    if details:
        params.append(("details", details))
    if location:
        params.append(("location", location))
    if recurrence_rrule:
        rule = recurrence_rrule.strip()
        params.append(("recur", rule if rule.upper().startswith("RRULE:") else f"RRULE:{rule}"))
    if timezone:
        params.append(("ctz", timezone))
    return f"{GOOGLE_TEMPLATE_URL}?{urlencode(params, quote_via=quote)}"


def outlook_calendar_link(title: str, start_utc: datetime, end_utc: datetime, body: str = "",
                          location: str | None = None) -> str:
    """A link that opens Outlook on the web's new-event form filled in (a single occurrence)."""
    params = [
        ("path", "/calendar/action/compose"),
        ("rru", "addevent"),
        ("subject", title),
        ("startdt", _iso_utc(start_utc, "start_utc")),
        ("enddt", _iso_utc(end_utc, "end_utc")),
    ]
    if body:
        params.append(("body", body))
    if location:
        params.append(("location", location))
    return f"{OUTLOOK_COMPOSE_URL}?{urlencode(params, quote_via=quote)}"


def _utc(instant: datetime, name: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return instant.astimezone(UTC).replace(microsecond=0)


def _compact_utc(instant: datetime, name: str) -> str:
    """20270302T150000Z, the form Google's `dates` takes."""
    return _utc(instant, name).strftime("%Y%m%dT%H%M%SZ")


def _iso_utc(instant: datetime, name: str) -> str:
    """2027-03-02T15:00:00Z, the form Outlook's `startdt`/`enddt` take."""
    return _utc(instant, name).strftime("%Y-%m-%dT%H:%M:%SZ")
