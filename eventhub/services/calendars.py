"""The town hall as iCalendar sees it: what the emailed invites, the downloadable file and the Google
Calendar copy are all built from."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app

from eventhub.domain.calendar import CalendarEvent
from eventhub.domain.statuses import EventStatus
from eventhub.models import Attendee, Event, Organizer
from eventhub.services.events import personal_link


def calendar_event(event: Event, organizer: Organizer, attendee: Attendee | None = None,
                   link: str | None = None) -> CalendarEvent:
    """The event as iCalendar sees it; with an attendee (or a `link` standing for theirs), the description
    and URL carry their question link."""
    if attendee is not None:
        link = personal_link(attendee.id)
    description = event.description
    if link is not None:
        description = f"{description}\n\nAsk your questions anonymously: {link}".strip()
    if event.meet_url:
        description = f"{description}\n\nJoin: {event.meet_url}".strip()
    return CalendarEvent(
        uid=f"{event.id}@{calendar_domain()}",
        sequence=event.sequence,
        title=event.title,
        description=description,
        organizer_email=current_app.config["MAIL_FROM"],
        organizer_name=f"EventHub for {organizer.email}",
        timezone=event.timezone,
        occurrences=tuple(o.start for o in event.occurrences),
        duration_minutes=event.duration_minutes,
        every=event.every,
        location=event.meet_url,
        url=link,
        cancelled=event.status == EventStatus.CANCELLED,
    )


def calendar_domain() -> str:
    """The domain of the calendar UIDs and Message-IDs: the service's own host."""
    return urlsplit(current_app.config["EVENTHUB_BASE_URL"]).hostname or "eventhub.localhost"
