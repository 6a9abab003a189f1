"""Keeping a town hall in step with Google Calendar, when `GOOGLE_SERVICE_ACCOUNT_FILE` and
`GOOGLE_CALENDAR_ID` are set. The Meet link Google creates is stored for the emailed invites."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app

from eventhub.domain.calendar import rule_instances, series_rule
from eventhub.domain.statuses import EventStatus
from eventhub.extensions import db
from eventhub.gateways.google_calendar import GoogleCalendarError, GoogleCalendarGateway, GoogleEventInput
from eventhub.models import Event
from eventhub.services.attendees import active_list
from eventhub.services.calendars import calendar_event

log = logging.getLogger(__name__)


def gateway() -> GoogleCalendarGateway | None:
    return GoogleCalendarGateway.from_settings(current_app.config)


def sync_event(event: Event) -> None:
    """Write the event to Google Calendar (or delete it there once cancelled).

    A temporary failure raises, so the job is retried before any invite goes out without the Meet
    link; a permanent one is recorded on the event and the invites go out without it.
    """
    google = gateway()
    if google is None:
        return
    try:
        if event.status == EventStatus.CANCELLED:
            google.cancel(event.id)
            return
        result = google.upsert(google_input(event))
    except GoogleCalendarError as error:
        if not error.permanent:
            raise
        log.warning("event %s: Google Calendar refused the event: %s", event.id, error)
        event.google_error = str(error)[:500]
        db.session.commit()
        return
    event.meet_url = result.get("meet_url") or event.meet_url
    event.google_error = None
    db.session.commit()


def google_input(event: Event) -> GoogleEventInput:
    calendar = calendar_event(event, event.organizer)
    length = timedelta(minutes=event.duration_minutes)
    starts = [o.start for o in event.occurrences]
    rule = series_rule(calendar)
    overrides = ()
    if rule:
        overrides = tuple((original, planned, planned + length)
                          for original, planned in zip(rule_instances(calendar), starts, strict=True)
                          if original != planned)
    attendees = active_list(event.id)
    first = rule_instances(calendar)[0] if rule else starts[0]
    return GoogleEventInput(
        event_id=event.id,
        title=event.title,
        description=event.description,
        timezone=event.timezone,
        start_utc=first,
        end_utc=first + length,
        recurrence=(f"RRULE:{rule}",) if rule else (),
        overrides=overrides,
        attendees=tuple((a.email, a.name) for a in attendees),
        add_meet=True,
        sequence=event.sequence,
    )
