"""Fair meeting times: `POST /api/v1/suggestions`, `POST /api/v1/series` and the `/schedule` page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytz
from flask import Blueprint, g, jsonify, render_template, request, url_for
from flask_login import current_user, login_required

from eventhub.domain import zones
from eventhub.domain.burden_chart import burden_chart
from eventhub.domain.errors import InvalidField
from eventhub.domain.ledger import ledger_summary
from eventhub.domain.pain import WEEKDAYS, supported_countries
from eventhub.domain.planner import planner_grid
from eventhub.domain.scheduling import parse_series_request, parse_suggestion_request
from eventhub.services.calendar_busy import CalendarUnavailable
from eventhub.services.scheduling import plan_recurring, suggest_times
from eventhub.web.auth import organizer_required
from eventhub.web.errors import ApiError
from eventhub.web.openapi import described, parse_body
from eventhub.web.schemas.scheduling import Series, SeriesIn, Suggestions, SuggestionsIn

api = Blueprint("scheduling_api", __name__, url_prefix="/api/v1")
pages = Blueprint("scheduling", __name__)

MAX_FORM_GROUPS = 50


@api.post("/suggestions")
@described(json=SuggestionsIn, ok=(200, Suggestions), errors=(400, 401, 413, 422), organizer=True,
           tags=("scheduling",))
@organizer_required
def suggestions():
    """The best meeting times for one town hall, best first, with the organizer's burden ledger."""
    plan_request = parse_suggestion_request(parse_body(SuggestionsIn).model_dump(by_alias=True, exclude_unset=True))
    plan = _unless_calendar_down(suggest_times, g.organizer.id, plan_request)
    body = {"suggestions": [suggestion.to_json() for suggestion in plan.suggestions]}
    if plan.ledger is not None:
        body["ledger"] = [entry.to_json() for entry in plan.ledger]
    return jsonify(body)


@api.post("/series")
@described(json=SeriesIn, ok=(200, Series), errors=(400, 401, 413, 422), organizer=True, tags=("scheduling",))
@organizer_required
def series():
    """One occurrence per period, with the inconvenience shared out over the series and the ledger."""
    recurring = _unless_calendar_down(plan_recurring, g.organizer.id, parse_series_request(
        parse_body(SeriesIn).model_dump(by_alias=True, exclude_unset=True)))
    body = recurring.plan.to_json()
    if recurring.ledger is not None:
        body["ledger"] = [entry.to_json() for entry in recurring.ledger]
    return jsonify(body)


def _unless_calendar_down(plan, organizer_id, plan_request):
    try:
        return plan(organizer_id, plan_request, datetime.now(UTC))
    except CalendarUnavailable:
        raise ApiError(503, "Google Calendar cannot be read just now; try again shortly.",
                       code="calendar_unavailable") from None


@pages.route("/schedule", methods=["GET", "POST"])
@login_required
def schedule():
    form = _default_form() if request.method == "GET" else _read_form(request.form)
    context = {"form": form, "weekdays": WEEKDAYS, "zones": pytz.common_timezones,
               "countries": sorted(supported_countries()), "result": None, "error": None}
    status = 200
    if request.method == "POST":
        try:
            context["result"] = _plan(form)
        except CalendarUnavailable:
            context["error"] = {"field": "calendars", "input": "",
                                "message": "Google Calendar cannot be read just now."}
            status = 503
        except InvalidField as error:
            context["error"] = {"field": error.field, "input": _input_name(error.field), "message": error.message}
            status = 422
    return render_template("scheduling/schedule.html", **context), status


def _plan(form: dict) -> dict:
    """Run the engine on the form's request and shape the answer for the page."""
    payload = form["payload"]
    now = datetime.now(UTC)
    if form["mode"] == "series":
        plan_request = parse_series_request(payload)
        recurring = plan_recurring(current_user.id, plan_request, now)
        plan, ledger = recurring.plan, recurring.ledger
        chosen = list(plan.occurrences)
        result = {"mode": "series", "occurrences": chosen, "burden": plan.burden, "jain": plan.jain,
                  "dst_shifts": plan.dst_shifts}
    else:
        plan_request = parse_suggestion_request(payload)
        suggested = suggest_times(current_user.id, plan_request, now)
        chosen, ledger = suggested.suggestions, suggested.ledger
        result = {"mode": "single", "occurrences": chosen}
    names = [group.name for group in plan_request.groups]
    zone_names = [zones.zone_name(group.zone) for group in plan_request.groups]
    common = {"duration": plan_request.duration, "timezone": zone_names[0], "group_name": names,
              "group_zone": zone_names}
    if form["mode"] == "series":
        result["create_link"] = url_for("events.new_event", every=payload.get("every"), **common,
                                        occurrences=",".join(zones.format_utc(s.start) for s in chosen))
    else:
        result["create_links"] = [url_for("events.new_event", start=zones.format_utc(s.start), **common)
                                  for s in chosen]
    if chosen:
        result["grid"] = planner_grid(plan_request.groups, plan_request.duration, chosen[0].start,
                                      chosen={suggestion.start for suggestion in chosen})
    result["ledger"] = ledger
    result["ledger_summary"] = ledger_summary(ledger)
    result["chart"] = _chart(names, result, ledger)
    return result


def _chart(names: list[str], result: dict, ledger) -> object:
    """The burden chart: the past (when history is on), then what the plan would make it."""
    past = [entry.pain for entry in ledger] if ledger is not None else [0.0] * len(names)
    series = [("before", past)] if ledger is not None else []
    if result["mode"] == "series":
        own = [pain for _, pain in result["burden"]]
        series.append(("after the series" if ledger is not None else "the series",
                       [a + b for a, b in zip(past, own, strict=True)]))
    else:
        for number, suggestion in enumerate(result["occurrences"], start=1):
            series.append((f"with #{number}", [p + view.pain for p, view in zip(past, suggestion.groups, strict=True)]))
    return burden_chart(names, series) if series else None


def _default_form() -> dict:
    today = datetime.now(UTC).date()
    groups = [
        {"name": "New York", "timezone": "America/New_York", "work_start": "09:00", "work_end": "17:00",
         "workdays": list(WEEKDAYS[:5]), "holidays": "US", "headcount": "40"},
        {"name": "Manila", "timezone": "Asia/Manila", "work_start": "21:00", "work_end": "06:00",
         "workdays": list(WEEKDAYS[:5]), "holidays": "PH", "headcount": "25"},
    ]
    return {"mode": "single", "duration_minutes": "60", "from": (today + timedelta(days=1)).isoformat(),
            "to": (today + timedelta(days=15)).isoformat(), "count": "6", "every": "week", "groups": groups,
            "history": True, "payload": None}


def _read_form(data) -> dict:
    """The form as typed (to show it again) and as the API's JSON request (for the engine)."""
    indexes = sorted({int(match.group(1)) for key in data
                      if (match := re.fullmatch(r"groups-(\d{1,3})-name", key))})[:MAX_FORM_GROUPS]
    groups = []
    for index in indexes:
        group = {field: data.get(f"groups-{index}-{field}", "").strip()
                 for field in ("name", "timezone", "work_start", "work_end", "holidays", "headcount")}
        group["workdays"] = data.getlist(f"groups-{index}-workdays")
        if group["name"] or group["timezone"]:
            groups.append(group)
    form = {key: data.get(key, "").strip() for key in ("mode", "duration_minutes", "from", "to", "count", "every")}
    form["mode"] = "series" if form["mode"] == "series" else "single"
    form["history"] = data.get("history") == "on"
    form["groups"] = groups
    form["payload"] = _payload(form)
    return form


def _payload(form: dict) -> dict:
    groups = []
    for group in form["groups"]:
        entry = {"name": group["name"], "timezone": group["timezone"], "work_start": group["work_start"],
                 "work_end": group["work_end"], "workdays": group["workdays"],
                 "headcount": _number(group["headcount"]) if group["headcount"] else 1}
        if group["holidays"]:
            entry["holidays"] = group["holidays"]
        groups.append(entry)
    payload = {"groups": groups, "duration_minutes": _number(form["duration_minutes"]),
               "from": _midnight(form["from"]), "history": form["history"]}
    if form["mode"] == "series":
        payload.update(count=_number(form["count"]), every=form["every"])
    else:
        payload.update(to=_midnight(form["to"]), limit=5)
    return payload


def _number(text: str):
    return int(text) if re.fullmatch(r"\d{1,9}", text) else text


def _midnight(day: str) -> str:
    return f"{day}T00:00:00Z" if re.fullmatch(r"\d{4}-\d{2}-\d{2}", day) else day


def _input_name(field: str) -> str:
    """The form input behind an API field path: `groups[1].timezone` is `groups-1-timezone`."""
    return re.sub(r"groups\[(\d+)\]\.", r"groups-\1-", field).split(".")[0].split("[")[0]
