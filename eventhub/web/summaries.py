"""Follow-up summaries: `/api/v1/events/<id>/summary`, the organizer's form and the attendees' public page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from eventhub.domain.errors import InvalidField
from eventhub.domain.summaries import parse_summary_request
from eventhub.services import summaries
from eventhub.web.answers import summary_answer
from eventhub.web.auth import api_event, organizer_required, page_event
from eventhub.web.errors import ApiError
from eventhub.web.openapi import ORGANIZER_READ, ORGANIZER_WRITE, described, parse_body, shaped
from eventhub.web.schemas.common import JobStarted
from eventhub.web.schemas.summaries import SummaryIn, SummaryOut

api = Blueprint("summaries_api", __name__, url_prefix="/api/v1")
pages = Blueprint("summaries", __name__)


@api.post("/events/<event_id>/summary")
@described(json=SummaryIn, ok=(202, JobStarted), errors=ORGANIZER_WRITE, organizer=True, tags=("summary",))
@organizer_required
def send_summary(event_id: str):
    """Send the summary to every attendee not yet served."""
    event = api_event(event_id)
    notes, items = parse_summary_request(parse_body(SummaryIn).model_dump(exclude_unset=True))
    try:
        job_id = summaries.start_sending(event, notes, items, owner=g.organizer.id)
    except summaries.SummaryAlreadySent as refused:
        raise ApiError(409, f"No summary can be sent: {refused}; every attendee gets it once.") from None
    return shaped(JobStarted, {"job_id": job_id}, 202)


@api.get("/events/<event_id>/summary")
@described(ok=(200, SummaryOut), errors=ORGANIZER_READ, organizer=True, tags=("summary",))
@organizer_required
def get_summary(event_id: str):
    """The summary as it stands (draft, sending or sent)."""
    event = api_event(event_id)
    return shaped(SummaryOut, summary_answer(event, summaries.summary_state(event)))


@pages.get("/events/<event_id>/summary")
def public_summary(event_id: str):
    """The summary for attendees, once it has been sent: the same content as the email."""
    event = summaries.published(event_id)
    if event is None:
        abort(404)
    return render_template("events/summary.html", event=event, body=summaries.content(event))


@pages.post("/events/<event_id>/summary")
@login_required
def edit_summary(event_id: str):
    event = page_event(event_id)
    payload = {"notes": request.form.get("notes", ""),
               "action_items": request.form.get("action_items", "").splitlines()}
    try:
        notes, items = parse_summary_request(payload)
        if request.form.get("action") == "send":
            summaries.start_sending(event, notes, items, owner=current_user.id)
            flash("The summary is on its way to every attendee.", "info")
        else:
            summaries.save_draft(event, notes, items)
            flash("Draft saved.", "info")
    except InvalidField as invalid:
        flash(f"{invalid.field}: {invalid.message}", "error")
    except summaries.SummaryAlreadySent as refused:
        flash(f"No summary can be sent: {refused}.", "error")
    return redirect(url_for("events.show_event", event_id=event.id) + "#summary")


@pages.post("/events/<event_id>/carry-over/<question_id>")
@login_required
def carry_over(event_id: str, question_id: str):
    event = page_event(event_id)
    if summaries.carry_over(event, question_id) is None:
        abort(404)
    flash("The question is on this town hall's board.", "info")
    return redirect(url_for("events.show_event", event_id=event.id) + "#questions")
