"""Town halls: `/api/v1/events...` for integrations, and the organizer's pages `/events/new`, `/events/<id>`."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, replace

from flask import Blueprint, Response, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from eventhub.domain import zones
from eventhub.domain.calendar import build_calendar
from eventhub.domain.errors import InvalidField
from eventhub.domain.events import apply_event_changes, parse_attendee_additions, parse_event_request
from eventhub.domain.statuses import EventStatus
from eventhub.models import utcnow
from eventhub.services import events as event_service
from eventhub.services import organizers, outbox, questions, responses, summaries
from eventhub.services.calendars import calendar_event
from eventhub.services.invites import preview_context
from eventhub.web.answers import event_answer
from eventhub.web.api import job_json
from eventhub.web.attendee_upload import FIELD, MAX_UPLOAD_BYTES, attendees_from_upload
from eventhub.web.auth import api_event, organizer_required, page_event
from eventhub.web.errors import ApiError, error_page
from eventhub.web.openapi import ORGANIZER_READ, ORGANIZER_WRITE, described, parse_body, shaped
from eventhub.web.schemas.common import JobStarted
from eventhub.web.schemas.events import AttendeeList, AttendeesIn, EventChange, EventIn, EventList, EventOut

api = Blueprint("events_api", __name__, url_prefix="/api/v1")
pages = Blueprint("events", __name__)


# --- API -------------------------------------------------------------------------------------------------


@api.post("/events")
@described(json=EventIn, ok=(201, EventOut), errors=ORGANIZER_WRITE, organizer=True, tags=("events",))
@organizer_required
def create_event():
    """Create a town hall; every attendee is sent an invite holding their personal question link."""
    draft = parse_event_request(parse_body(EventIn).model_dump(exclude_unset=True), now=utcnow())
    event, _ = event_service.create_event(g.organizer, draft)
    return shaped(EventOut, _event_answer(event), 201)


@api.get("/events")
@described(ok=(200, EventList), errors=(401,), organizer=True, tags=("events",))
@organizer_required
def list_events():
    """The organizer's town halls."""
    events = event_service.events_of(g.organizer)
    return shaped(EventList, {"events": [_event_answer(event) for event in events]})


@api.get("/events/<event_id>")
@described(ok=(200, EventOut), errors=ORGANIZER_READ, organizer=True, tags=("events",))
@organizer_required
def get_event(event_id: str):
    """One town hall with its invites' and answers' counts."""
    return shaped(EventOut, _event_answer(api_event(event_id)))


@api.patch("/events/<event_id>")
@described(json=EventChange, ok=(200, EventOut), errors=ORGANIZER_WRITE, organizer=True, tags=("events",))
@organizer_required
def change_event(event_id: str):
    """Change a town hall; a changed time re-sends every invite with a higher SEQUENCE."""
    event = _changeable_event(event_id)
    payload = parse_body(EventChange).model_dump(exclude_unset=True)
    now = utcnow()
    changed = apply_event_changes(event_service.draft_of(event), payload, now=now)
    if event.questions_close <= now and changed.questions_close != event.questions_close:
        # The voter key is gone: a new window would let every link vote again under a new pseudonym.
        if "questions_close" in payload:
            raise ApiError(409, "Questions for this town hall are closed for good.", field="questions_close")
        changed = replace(changed, questions_close=event.questions_close)
    event_service.update_event(event, changed, attendees_given="attendees" in payload)
    return shaped(EventOut, _event_answer(event))


@api.delete("/events/<event_id>")
@described(ok=(200, EventOut), errors=(401, 404, 409, 503), organizer=True, tags=("events",))
@organizer_required
def cancel_event(event_id: str):
    """Cancel a town hall: every attendee is sent METHOD:CANCEL."""
    event = api_event(event_id)
    event_service.cancel_event(event)
    return shaped(EventOut, _event_answer(event))


@api.post("/events/<event_id>/attendees")
@described(json=AttendeesIn, ok=(202, EventOut), errors=ORGANIZER_WRITE, organizer=True, tags=("events",))
@organizer_required
def add_attendees(event_id: str):
    """Add up to 10,000 attendees at a time; only they are invited (202: their invites are on their way)."""
    event = _changeable_event(event_id)
    groups = tuple((group.name, group.timezone) for group in event.groups)
    additions = parse_attendee_additions(parse_body(AttendeesIn).model_dump(exclude_unset=True), groups,
                                         event.timezone)
    event_service.add_attendees(event, additions)
    return shaped(EventOut, _event_answer(event), 202)


def _event_answer(event) -> dict:
    return event_answer(event, event_service.standing(event))


def _changeable_event(event_id: str):
    """The organizer's town hall, or 409 once it is cancelled (a cancelled one is never changed again)."""
    event = api_event(event_id)
    if event.status == EventStatus.CANCELLED:
        raise ApiError(409, "The town hall is cancelled; create a new one instead.")
    return event


@api.post("/events/<event_id>/invites/resend")
@described(ok=(202, JobStarted), errors=(401, 404, 503), organizer=True, tags=("events",))
@organizer_required
def resend_invites(event_id: str):
    """Send the current invitation (or cancellation) to every attendee whose latest message was not
    delivered, and to nobody else."""
    return shaped(JobStarted, {"job_id": event_service.resend_invites(api_event(event_id))}, 202)


@api.get("/events/<event_id>/attendees")
@described(ok=(200, AttendeeList), errors=ORGANIZER_READ, organizer=True, tags=("events",))
@organizer_required
def list_attendees(event_id: str):
    """Every attendee with their answer and the state of their latest message."""
    return shaped(AttendeeList, {"attendees": attendee_rows(api_event(event_id))})


@api.get("/events/<event_id>/invite.ics")
@described(ok=(200, (None, "the town hall as `text/calendar` (METHOD:PUBLISH)")), errors=(401, 404),
           organizer=True, tags=("events",))
def download_invite(event_id: str):
    """The town hall as a calendar file to import (METHOD:PUBLISH): Bearer token or a signed-in session."""
    organizer = _bearer_organizer() or (current_user if current_user.is_authenticated else None)
    event = event_service.event_of(organizer, event_id) if organizer is not None else None
    if event is None:
        raise ApiError(404 if organizer is not None else 401,
                       "No such town hall." if organizer is not None else "Sign in or send a Bearer token.")
    ics = build_calendar(calendar_event(event, event.organizer), "PUBLISH", (),
                         utcnow())
    return Response(ics, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="{_filename(event.title)}.ics"'})


def _bearer_organizer():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return organizers.find_by_token(token.strip()) if scheme.lower() == "bearer" else None


def _filename(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", title).strip("-")[:60] or "town-hall"


def attendee_rows(event) -> list[dict]:
    """Every attendee with their answer to the invitation they now hold and the state of their latest message."""
    rows = []
    for entry in responses.roster(event):
        attendee, answer, delivery = entry.attendee, entry.answer, entry.latest
        rows.append({
            "email": attendee.email, "name": attendee.name, "group": attendee.group, "response": answer.response,
            "proposed_start": _utc_or_none(answer.proposed_start), "proposed_end": _utc_or_none(answer.proposed_end),
            "invite": {"kind": delivery.kind, "sequence": delivery.sequence, "status": delivery.status,
                       "error": delivery.error, "at": zones.format_utc(delivery.at)} if delivery else None,
            "timezone": attendee.timezone, "removed": attendee.removed,
            "occurrences": [{"occurrence": key, "response": value}
                            for key, value in sorted(answer.occurrences.items())],
        })
    return rows


def proposals(event) -> list[dict]:
    """The times attendees proposed (COUNTER) for the invitation they now hold, for the organizer's page."""
    zone = zones.get_zone(event.timezone)
    return [{"id": answer.proposal_id, "who": attendee.name or attendee.email,
             "occurrence": answer.proposed_occurrence, "start": zones.to_local(answer.proposed_start, zone),
             "end": zones.to_local(answer.proposed_end, zone) if answer.proposed_end else None}
            for attendee, answer in responses.proposals(event)]


def _utc_or_none(instant) -> str | None:
    return zones.format_utc(instant) if instant is not None else None


# --- pages -----------------------------------------------------------------------------------------------


@pages.route("/events/new", methods=["GET", "POST"])
@login_required
def new_event():
    form = _prefill(request.args) if request.method == "GET" else _event_form(request.form)
    error = None
    if request.method == "POST":
        try:
            payload = _event_payload(form)
            payload["attendees"] += attendees_from_upload(request.files.get("attendees_file"))
            draft = parse_event_request(payload, now=utcnow())
        except InvalidField as invalid:
            error = {"field": invalid.field, "message": invalid.message}
        else:
            event, _ = event_service.create_event(current_user, draft)
            flash(f"{event.title} is created; the invites are on their way.", "info")
            return redirect(url_for("events.show_event", event_id=event.id))
    return render_template("events/new.html", form=form, error=error), 422 if error else 200


@pages.errorhandler(RequestEntityTooLarge)
def form_too_large(error: RequestEntityTooLarge):
    """The create form past the request limit (a file far too large) is refused before it is read: the form
    again, empty, saying why; any other page of the blueprint answers the usual 413 page."""
    if request.endpoint != "events.new_event":
        return error_page(413, error.description)
    form = _prefill(MultiDict())
    limit = f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MiB"
    message = f"the form was larger than the service takes; a file of attendees may hold at most {limit}"
    return render_template("events/new.html", form=form, error={"field": FIELD, "message": message}), 413


@pages.get("/events/<event_id>")
@login_required
def show_event(event_id: str):
    event = page_event(event_id)
    links = preview_context(event, calendar_event(event, event.organizer))
    follow_up = summaries.summary_state(event)
    return render_template("events/show.html", event=event, standing=event_service.standing(event),
                           attendees=attendee_rows(event), links=links,
                           group_responses=responses.group_responses(event), proposals=proposals(event),
                           questions=questions.moderation_list(event),
                           follow_up=follow_up,
                           carried_over=summaries.carried_over_suggestions(event),
                           job=_job(event.last_job_id, current_user.id),
                           summary_job=_job(follow_up.job_id, current_user.id))


@pages.get("/events/<event_id>/status.json")
@login_required
def event_status(event_id: str):
    """What the page polls: the invites' state and the running job's progress."""
    event = page_event(event_id)
    summary = summaries.summary_state(event)
    return jsonify({"invites": asdict(event_service.delivery_counts(event)),
                    "job": _job(event.last_job_id, current_user.id),
                    "summary_job": _job(summary.job_id, current_user.id), "summary_status": summary.status,
                    "status": event.status})


def _job(job_id: str | None, owner: str) -> dict | None:
    task = outbox.task_of(owner, job_id) if job_id else None
    return job_json(task) if task is not None else None


@pages.post("/events/<event_id>/invites/resend")
@login_required
def resend_invites_page(event_id: str):
    event = page_event(event_id)
    event_service.resend_invites(event)
    flash("Sending again to everyone whose latest message was not delivered.", "info")
    return redirect(url_for("events.show_event", event_id=event.id))


@pages.post("/events/<event_id>/cancel")
@login_required
def cancel_event_page(event_id: str):
    event = page_event(event_id)
    event_service.cancel_event(event)
    flash(f"{event.title} is cancelled; every attendee is sent a cancellation.", "info")
    return redirect(url_for("events.show_event", event_id=event.id))


def _prefill(args) -> dict:
    """The form, pre-filled from a /schedule result's link."""
    groups = "\n".join(f"{name}, {zone}" for name, zone in zip(args.getlist("group_name"), args.getlist("group_zone"),
                                                             strict=False))
    return {
        "title": args.get("title", ""), "description": "", "timezone": args.get("timezone", "UTC"),
        "duration_minutes": args.get("duration", "60"), "occurrences": args.get("occurrences", args.get("start", "")),
        "every": args.get("every", ""), "groups": groups, "attendees": "", "questions_close": "", "moderation": False,
    }


def _event_form(data) -> dict:
    form = {key: data.get(key, "").strip() for key in ("title", "description", "timezone", "duration_minutes",
                                                        "occurrences", "every", "groups", "attendees",
                                                        "questions_close")}
    form["moderation"] = data.get("moderation") == "on"
    return form


def _event_payload(form: dict) -> dict:
    """The form as the API's JSON body, so both go through the same checks."""
    occurrences = [item.strip() for item in re.split(r"[,\s]+", form["occurrences"]) if item.strip()]
    groups = []
    for line in form["groups"].splitlines():
        name, comma, zone = line.rpartition(",")  # zone names hold no comma; group names may
        if not comma:
            name, zone = line, ""
        if name.strip():
            groups.append({"name": name.strip(), "timezone": zone.strip()})
    attendees = []
    try:
        for row in csv.reader(io.StringIO(form["attendees"])):
            cells = [cell.strip() for cell in row] + ["", ""]
            if cells[0]:
                attendees.append({"email": cells[0], "name": cells[1], "group": cells[2]})
    except csv.Error as error:
        raise InvalidField("attendees", f"cannot be read as lines of email, name, group: {error}") from None
    duration = form["duration_minutes"]
    payload = {
        "title": form["title"], "description": form["description"], "timezone": form["timezone"] or "UTC",
        "duration_minutes": int(duration) if re.fullmatch(r"[0-9]{1,5}", duration) else duration,
        "groups": groups, "attendees": attendees, "moderation": form["moderation"],
    }
    if len(occurrences) > 1:
        payload["occurrences"] = occurrences
        payload["every"] = form["every"] or None
    else:
        payload["start"] = occurrences[0] if occurrences else None
    if form["questions_close"]:
        payload["questions_close"] = form["questions_close"]
    return payload
