"""Fair meeting times: `POST /api/v1/suggestions`, `POST /api/v1/series` and the `/schedule` page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytz
from flask import Blueprint, jsonify, render_template, request, url_for
from flask_login import login_required

from eventhub.domain import zones
from eventhub.domain.errors import InvalidField
from eventhub.domain.pain import WEEKDAYS, supported_countries
from eventhub.domain.planner import planner_grid
from eventhub.domain.scheduling import parse_series_request, parse_suggestion_request, rank_slots
from eventhub.domain.series import plan_series
from eventhub.web.auth import organizer_required
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
    """The best meeting times for one town hall, best first."""
    plan_request = parse_suggestion_request(parse_body(SuggestionsIn).model_dump(by_alias=True, exclude_unset=True))
    return jsonify({"suggestions": [suggestion.to_json() for suggestion in rank_slots(plan_request)]})


@api.post("/series")
@described(json=SeriesIn, ok=(200, Series), errors=(400, 401, 413, 422), organizer=True, tags=("scheduling",))
@organizer_required
def series():
    """One occurrence per period, with the inconvenience shared out over the series."""
    body = parse_body(SeriesIn).model_dump(by_alias=True, exclude_unset=True)
    return jsonify(plan_series(parse_series_request(body)).to_json())


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
        except InvalidField as error:
            context["error"] = {"field": error.field, "input": _input_name(error.field), "message": error.message}
            status = 422
    return render_template("scheduling/schedule.html", **context), status


def _plan(form: dict) -> dict:
    """Run the engine on the form's request and shape the answer for the page."""
    payload = form["payload"]
    if form["mode"] == "series":
        plan_request = parse_series_request(payload)
        plan = plan_series(plan_request)
        chosen = [occurrence for occurrence in plan.occurrences]
        result = {"mode": "series", "occurrences": chosen, "burden": plan.burden, "jain": plan.jain,
                  "dst_shifts": plan.dst_shifts}
    else:
        plan_request = parse_suggestion_request(payload)
        chosen = rank_slots(plan_request)
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
    result["max_burden"] = max((pain for _, pain in result.get("burden", ())), default=0) or 1
    return result


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
            "payload": None}


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
               "from": _midnight(form["from"])}
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
