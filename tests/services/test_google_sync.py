"""A town hall written to Google Calendar through the whole stack: the gateway talks HTTP to a Google
Calendar double on loopback (token endpoint from the key file, API at GOOGLE_API_ENDPOINT), and the Meet
link Google returns goes into the emailed invites."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from werkzeug.wrappers import Request, Response

from eventhub.extensions import jobs
from eventhub.models import Event
from tests.factories import create_town_hall, iso
from tests.google_double import google_serving

MEET = "https://meet.google.com/abc-defg-hij"


class GoogleDouble:
    """Answers the token exchange and events.insert / patch / delete as Google does, recording each request."""

    def __init__(self):
        self.requests = []
        self.fail_insert_with = None

    @Request.application
    def __call__(self, request: Request) -> Response:
        body = request.get_data(as_text=True)
        self.requests.append({"method": request.method, "path": request.path, "args": dict(request.args),
                              "body": json.loads(body) if body.startswith("{") else body,
                              "authorization": request.headers.get("Authorization")})
        if request.path == "/token":
            return _json({"access_token": "ya29.double", "expires_in": 3600, "token_type": "Bearer"})
        if request.method == "POST" and request.path.endswith("/events"):
            if self.fail_insert_with:
                return _json({"error": {"code": self.fail_insert_with, "message": "no",
                                        "errors": [{"reason": "invalid"}]}}, self.fail_insert_with)
            event = json.loads(body)
            return _json({**event, "hangoutLink": MEET, "htmlLink": "https://calendar.google.com/event?x"})
        if request.method == "PATCH":  # a moved occurrence of a series, by its instance id
            return _json({**json.loads(body), "id": request.path.rsplit("/", 1)[1]})
        if request.method == "DELETE":
            return Response(status=204)
        return _json({"error": {"code": 404, "message": "not found"}}, 404)


def _json(payload, status=200):
    return Response(json.dumps(payload), status=status, mimetype="application/json")


@pytest.fixture
def google(app, tmp_path):
    with google_serving(app, tmp_path, GoogleDouble()) as double:
        yield double


BODY = {"title": "Q1 Town Hall", "start": "2030-03-05T14:00:00Z", "timezone": "America/New_York",
        "attendees": [{"email": "ana@example.com", "name": "Ana"}]}


def test_the_event_is_written_to_google_and_its_meet_link_goes_into_the_invites(client, auth_headers, google,
                                                                                 mail, app):
    created = client.post("/api/v1/events", json=BODY, headers=auth_headers).json
    jobs.wait_local()
    token, insert = google.requests[0], google.requests[1]
    assert token["path"] == "/token"
    assert insert["path"] == "/calendar/v3/calendars/townhalls@example.com/events"
    assert insert["args"] == {"sendUpdates": "all", "conferenceDataVersion": "1", "alt": "json"}
    assert insert["authorization"] == "Bearer ya29.double"
    assert insert["body"]["id"] == "eh" + created["id"]
    assert insert["body"]["start"]["timeZone"] == "America/New_York"
    assert insert["body"]["conferenceData"]["createRequest"]["conferenceSolutionKey"] == {"type": "hangoutsMeet"}
    assert insert["body"]["attendees"] == [{"email": "ana@example.com", "displayName": "Ana"}]
    assert app.extensions["sqlalchemy"].session.get(Event, created["id"]).meet_url == MEET
    message = mail.messages[0]["message"]
    assert MEET in message.get_body(("plain",)).get_content()
    calendar = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    assert MEET in calendar.get_payload(decode=True).decode()


def test_cancelling_deletes_the_google_event(client, auth_headers, google, mail):
    created = client.post("/api/v1/events", json=BODY, headers=auth_headers).json
    jobs.wait_local()
    client.delete(f"/api/v1/events/{created['id']}", headers=auth_headers)
    jobs.wait_local()
    delete = google.requests[-1]
    assert delete["method"] == "DELETE" and delete["path"].endswith("/events/eh" + created["id"])
    assert delete["args"]["sendUpdates"] == "all"


def test_a_refusal_from_google_is_shown_and_the_invites_still_go_out(client, auth_headers, google, mail):
    google.fail_insert_with = 400
    created = client.post("/api/v1/events", json=BODY, headers=auth_headers).json
    jobs.wait_local()
    assert len(mail.messages) == 1
    page_state = client.get(f"/api/v1/events/{created['id']}", headers=auth_headers).json
    assert page_state["meet_url"] is None and page_state["invites"]["sent"] == 1


def test_a_series_is_written_as_one_recurring_event_with_its_moved_occurrences_patched(client, auth_headers,
                                                                                       google, mail):
    """Weekly at 14:00 UTC across the US change of 10 March 2030 (09:00 then 10:00 in New York): one rule in
    New York time, the occurrences it misses patched by instance id, and Google shows the planned instants."""
    planned = [datetime(2030, 3, 5, 14, tzinfo=UTC) + timedelta(weeks=week) for week in range(4)]
    created = create_town_hall(client, auth_headers, sent=True, **{
        **BODY, "start": None, "every": "week", "occurrences": [iso(moment) for moment in planned]})
    google_id = "eh" + created["id"]
    [insert] = [r for r in google.requests if r["method"] == "POST" and r["path"].endswith("/events")]
    assert insert["body"]["id"] == google_id
    assert insert["body"]["start"]["timeZone"] == "America/New_York"
    [rule] = insert["body"]["recurrence"]
    assert rule.startswith("RRULE:FREQ=WEEKLY")
    first = datetime.fromisoformat(insert["body"]["start"]["dateTime"]).astimezone(ZoneInfo("America/New_York"))
    shown = {moment.astimezone(UTC) for moment in rrulestr(rule.removeprefix("RRULE:"), dtstart=first)}
    patches = [r for r in google.requests if r["method"] == "PATCH"]
    assert patches  # no rule in local time keeps 14:00 UTC on both sides of the change
    for patch in patches:
        instance = patch["path"].rsplit("/", 1)[1]
        assert instance.startswith(google_id + "_") and patch["args"]["sendUpdates"] == "all"
        shown.remove(datetime.strptime(instance.removeprefix(google_id + "_"), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC))
        shown.add(datetime.fromisoformat(patch["body"]["start"]["dateTime"]).astimezone(UTC))
        assert patch["body"]["start"]["timeZone"] == "America/New_York"
    assert sorted(shown) == planned  # the rule and its patched instances give exactly the planned series
    assert len(mail.messages) == 1
