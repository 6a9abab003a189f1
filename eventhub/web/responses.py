"""Attendees' answers on the organizer's page: accepting a proposed time in one click."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import login_required

from eventhub.domain.errors import InvalidField
from eventhub.services import rsvp
from eventhub.web.auth import page_event

pages = Blueprint("responses", __name__)


@pages.post("/events/<event_id>/proposals/accept")
@login_required
def accept_proposal(event_id: str):
    """Move the town hall to the time an attendee proposed; everyone gets the updated invitation."""
    event = page_event(event_id)
    try:
        rsvp.accept_proposal(event, request.form.get("proposal", ""))
    except InvalidField as invalid:
        flash(f"Not moved: {invalid.message}.", "error")
    else:
        flash(f"{event.title} is moved; every attendee is sent the updated invitation.", "info")
    return redirect(url_for("events.show_event", event_id=event.id))
