"""The question window's two moments, run from the outbox (`services.timeline` arms them): a reminder to
every attendee a day before it closes, and the close itself, which destroys the voter key."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import render_template

from eventhub.domain import zones
from eventhub.domain.statuses import EventStatus
from eventhub.extensions import db
from eventhub.gateways.mail import new_message
from eventhub.models import Attendee, Event, utcnow
from eventhub.services.attendees import active
from eventhub.services.delivery import fan_out, pending_once
from eventhub.services.events import personal_link
from eventhub.services.questions import close_window, purge_destroyed_keys
from eventhub.services.timeline import REMINDER_BEFORE_CLOSE

log = logging.getLogger(__name__)

def close_questions(event_id: str) -> None:
    """At `questions_close`: destroy the voter key (if a request has not already) and purge it from the
    database's files; a purge the database cannot do now raises, so the job is retried."""
    event = db.session.get(Event, event_id)
    if event is not None and utcnow() >= event.questions_close:
        if close_window(event):
            log.info("event %s: question window closed, voter key destroyed", event_id)
        purge_destroyed_keys()


def send_question_reminder(event_id: str) -> None:
    """Remind every attendee once that questions close in a day (if they still do)."""
    event = db.session.get(Event, event_id)
    now = utcnow()
    if event is None or event.status == EventStatus.CANCELLED or now >= event.questions_close:
        return
    if now < event.questions_close - REMINDER_BEFORE_CLOSE - timedelta(minutes=10):
        return  # queued for an earlier close date that has since moved
    attendees = {a.id: a for a in db.session.scalars(active(event.id, order_by=Attendee.id))}
    addresses = [(a.id, a.email) for a in attendees.values()]
    fan_out(event.id, "reminder", lambda: pending_once(event.id, "reminder", addresses),
            lambda r: reminder_message(event, attendees[r.attendee_id]))


def reminder_message(event: Event, attendee: Attendee):
    context = {"event": event, "attendee": attendee, "ask_link": personal_link(attendee.id),
               "closes": zones.to_local(event.questions_close, zones.get_zone(attendee.timezone)),
               "zone": attendee.timezone}
    return new_message(f"Questions close soon: {event.title}", attendee.email,
                       render_template("email/reminder.txt", **context),
                       render_template("email/reminder.html", **context))
