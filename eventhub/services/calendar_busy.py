"""Busy times from Google Calendar for groups that name `calendars`, merged into their own `busy`.

Reads go through the Google Calendar gateway's freeBusy query, in windows of FREE_BUSY_WINDOW (one
query per window for every calendar of the request); blocks outside the request's range are dropped.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from flask import current_app

from eventhub.domain.errors import InvalidField
from eventhub.domain.scheduling_input import Group, merge_intervals
from eventhub.gateways.google_calendar import GoogleCalendarError, GoogleCalendarGateway

FREE_BUSY_WINDOW = timedelta(days=60)


class CalendarUnavailable(Exception):
    """Google Calendar could not be read just now; the same request may succeed later."""


def with_calendar_busy(groups: tuple[Group, ...], start: datetime, end: datetime,
                       google: GoogleCalendarGateway | None = None) -> tuple[Group, ...]:
    """The groups with their calendars' busy blocks over [start, end) added to `busy` and merged.

    InvalidField names `groups[i].calendars` when Google is not configured or refuses a calendar;
    CalendarUnavailable when it cannot be reached (after the gateway's retries)."""
    wanted = [(index, group) for index, group in enumerate(groups) if group.calendars]
    if not wanted:
        return groups
    google = google or GoogleCalendarGateway.from_settings(current_app.config)
    if google is None:
        raise InvalidField(f"groups[{wanted[0][0]}].calendars", "Google Calendar is not configured on this service")
    calendars = list(dict.fromkeys(address for _, group in wanted for address in group.calendars))
    found: dict[str, list] = {address: [] for address in calendars}
    window_start = start
    while window_start < end:
        window_end = min(end, window_start + FREE_BUSY_WINDOW)
        try:
            answer = google.free_busy(calendars, window_start, window_end)
        except GoogleCalendarError as error:
            if error.permanent:
                raise InvalidField(f"groups[{wanted[0][0]}].calendars", f"Google Calendar refused: {error}") from None
            raise CalendarUnavailable(str(error)) from error
        for index, group in wanted:
            for position, address in enumerate(group.calendars):
                if address in answer.errors:
                    raise InvalidField(f"groups[{index}].calendars[{position}]",
                                       f"Google Calendar cannot read it ({answer.errors[address]})")
        for address, blocks in answer.busy.items():
            found[address].extend((max(b0, start), min(b1, end)) for b0, b1 in blocks if b0 < end and start < b1)
        window_start = window_end
    result = list(groups)
    for index, group in wanted:
        extra = [block for address in group.calendars for block in found[address]]
        result[index] = replace(group, busy=merge_intervals((*group.busy, *extra)))
    return tuple(result)
