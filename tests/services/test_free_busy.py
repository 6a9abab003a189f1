"""Busy times from Google Calendar: the freeBusy query on googleapiclient's HttpMockSequence (built from the
discovery document shipped in the package), then through the whole stack against a loopback double."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import googleapiclient.http
import pytest
from googleapiclient.discovery import build
from googleapiclient.http import HttpMockSequence
from werkzeug.wrappers import Request, Response

from eventhub.domain.errors import InvalidField
from eventhub.domain.scheduling_input import parse_suggestion_request
from eventhub.gateways.google_calendar import GoogleCalendarGateway
from eventhub.services.calendar_busy import CalendarUnavailable, with_calendar_busy
from tests.google_double import google_serving

ANA, BO = "ana@example.com", "bo@example.com"
MARCH = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 3, 15, tzinfo=UTC))


def ok(payload: dict) -> tuple:
    return {"status": "200"}, json.dumps(payload)


def answer(**calendars) -> tuple:
    return ok({"kind": "calendar#freeBusy", "timeMin": "2027-03-01T00:00:00.000Z", "calendars": {
        address.replace("_at_", "@").replace("_", "."): value for address, value in calendars.items()}})


def gateway_on(*responses) -> tuple[GoogleCalendarGateway, HttpMockSequence]:
    http = HttpMockSequence(list(responses))
    service = build("calendar", "v3", http=http, static_discovery=True, cache_discovery=False)
    return GoogleCalendarGateway("townhalls@example.com", service, num_retries=2), http


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(googleapiclient.http.time, "sleep", lambda seconds: None)


def test_the_query_names_every_calendar_once_over_the_range_and_reads_busy_blocks():
    google, http = gateway_on(answer(ana_at_example_com={"busy": [
        {"start": "2027-03-02T15:00:00Z", "end": "2027-03-02T16:00:00Z"},
        {"start": "2027-03-03T09:00:00-05:00", "end": "2027-03-03T10:30:00-05:00"}]},
        bo_at_example_com={"busy": []}))
    result = google.free_busy([ANA, BO], *MARCH)
    uri, method, body, _ = http.request_sequence[0]
    assert method == "POST" and uri.split("?")[0] == "https://www.googleapis.com/calendar/v3/freeBusy"
    assert json.loads(body) == {"timeMin": "2027-03-01T00:00:00Z", "timeMax": "2027-03-15T00:00:00Z",
                                "items": [{"id": ANA}, {"id": BO}]}
    assert result.busy[ANA] == ((datetime(2027, 3, 2, 15, tzinfo=UTC), datetime(2027, 3, 2, 16, tzinfo=UTC)),
                                (datetime(2027, 3, 3, 14, tzinfo=UTC), datetime(2027, 3, 3, 15, 30, tzinfo=UTC)))
    assert result.busy[BO] == () and result.errors == {}


def test_calendar_busy_blocks_are_merged_with_the_given_ones():
    request = parse_suggestion_request({
        "groups": [{"name": "New York", "timezone": "America/New_York", "work_start": "09:00", "work_end": "17:00",
                    "calendars": [ANA, BO], "busy": [{"start": "2027-03-02T15:30:00Z", "end": "2027-03-02T17:00:00Z"}]},
                   {"name": "Manila", "timezone": "Asia/Manila", "work_start": "21:00", "work_end": "06:00"}],
        "duration_minutes": 60, "from": "2027-03-01T00:00:00Z", "to": "2027-03-15T00:00:00Z"})
    google, http = gateway_on(answer(
        ana_at_example_com={"busy": [{"start": "2027-03-02T15:00:00Z", "end": "2027-03-02T16:00:00Z"}]},
        bo_at_example_com={"busy": [{"start": "2027-03-02T16:30:00Z", "end": "2027-03-02T18:00:00Z"},
                                    {"start": "2027-02-01T00:00:00Z", "end": "2027-03-01T01:00:00Z"}]}))
    new_york, manila = with_calendar_busy(request.groups, request.start, request.end, google)
    assert new_york.busy == (
        (datetime(2027, 3, 1, 0, tzinfo=UTC), datetime(2027, 3, 1, 1, tzinfo=UTC)),  # clipped to the range
        (datetime(2027, 3, 2, 15, tzinfo=UTC), datetime(2027, 3, 2, 18, tzinfo=UTC)),  # three blocks, one interval
    )
    assert manila.busy == () and len(http.request_sequence) == 1


def test_long_ranges_are_read_in_windows_and_refusals_name_the_calendar():
    request = parse_suggestion_request({
        "groups": [{"name": "A", "timezone": "UTC", "work_start": "09:00", "work_end": "17:00", "calendars": [ANA]},
                   {"name": "B", "timezone": "UTC", "work_start": "09:00", "work_end": "17:00", "calendars": [BO]}],
        "duration_minutes": 60, "from": "2027-03-01T00:00:00Z", "to": "2027-05-30T00:00:00Z"})
    empty = answer(ana_at_example_com={"busy": []}, bo_at_example_com={"busy": []})
    google, http = gateway_on(empty, empty)
    with_calendar_busy(request.groups, request.start, request.end, google)
    windows = [json.loads(body) for _, _, body, _ in http.request_sequence]
    assert [(w["timeMin"], w["timeMax"]) for w in windows] == [
        ("2027-03-01T00:00:00Z", "2027-04-30T00:00:00Z"), ("2027-04-30T00:00:00Z", "2027-05-30T00:00:00Z")]
    google, _ = gateway_on(answer(ana_at_example_com={"busy": []},
                                  bo_at_example_com={"errors": [{"domain": "global", "reason": "notFound"}]}))
    with pytest.raises(InvalidField) as refused:
        with_calendar_busy(request.groups, request.start, request.end, google)
    assert refused.value.field == "groups[1].calendars[0]" and "notFound" in refused.value.message


def test_an_outage_past_the_retries_is_calendar_unavailable():
    down = ({"status": "503"}, json.dumps({"error": {"code": 503, "message": "backend"}}))
    google, http = gateway_on(down, down, down)
    request = parse_suggestion_request({
        "groups": [{"name": "A", "timezone": "UTC", "work_start": "09:00", "work_end": "17:00", "calendars": [ANA]}],
        "duration_minutes": 60, "from": "2027-03-01T00:00:00Z", "to": "2027-03-02T00:00:00Z"})
    with pytest.raises(CalendarUnavailable):
        with_calendar_busy(request.groups, request.start, request.end, google)
    assert len(http.request_sequence) == 3  # the first try and num_retries=2


class FreeBusyDouble:
    """Answers the token exchange and freeBusy as Google does, recording each request."""

    def __init__(self, busy):
        self.busy = busy
        self.requests = []

    @Request.application
    def __call__(self, request: Request) -> Response:
        self.requests.append((request.method, request.path, request.get_data(as_text=True)))
        if request.path == "/token":
            return _json({"access_token": "ya29.double", "expires_in": 3600, "token_type": "Bearer"})
        if request.method == "POST" and request.path == "/calendar/v3/freeBusy":
            items = json.loads(request.get_data())["items"]
            return _json({"calendars": {item["id"]: {"busy": self.busy.get(item["id"], [])} for item in items}})
        return _json({"error": {"code": 404, "message": "not found"}}, 404)


def _json(payload, status=200):
    return Response(json.dumps(payload), status=status, mimetype="application/json")


@pytest.fixture
def google_double(app, tmp_path):
    double = FreeBusyDouble({ANA: [{"start": "2027-03-02T14:00:00Z", "end": "2027-03-02T22:00:00Z"}]})
    with google_serving(app, tmp_path, double):
        yield double


def test_suggestions_avoid_what_the_calendars_say_is_busy(client, auth_headers, google_double):
    """The only clean hours of 2 March (New York's working day) are busy in Ana's calendar."""
    body = {"groups": [{"name": "New York", "timezone": "America/New_York", "work_start": "09:00",
                        "work_end": "17:00", "calendars": [ANA]},
                       {"name": "London", "timezone": "Europe/London", "work_start": "09:00", "work_end": "17:00"}],
            "duration_minutes": 60, "from": "2027-03-02T00:00:00Z", "to": "2027-03-03T00:00:00Z", "limit": 3}
    response = client.post("/api/v1/suggestions", json=body, headers=auth_headers)
    assert response.status_code == 200, response.json
    assert [path for _, path, _ in google_double.requests] == ["/token", "/calendar/v3/freeBusy"]
    for suggestion in response.json["suggestions"]:
        assert suggestion["end"] <= "2027-03-02T14:00:00Z" or suggestion["start"] >= "2027-03-02T22:00:00Z"
        assert not suggestion["groups"][0]["busy"]
