"""Attendees' responseStatus read back from Google Calendar and merged with the answers emailed to us:
the gateway on googleapiclient's HttpMockSequence with the discovery document that ships in the package."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit

from googleapiclient.discovery import build
from googleapiclient.http import HttpMockSequence

from eventhub.extensions import jobs
from eventhub.gateways.google_calendar import GoogleCalendarGateway
from eventhub.services import rsvp
from tests.answer_mail import gmail_reply

CALENDAR = "townhalls@example.com"
BODY = {"title": "Q1 Town Hall", "start": "2030-03-05T14:00:00Z", "timezone": "America/New_York",
        "attendees": [{"email": "ana@example.com", "name": "Ana", "group": "Manila"},
                      {"email": "bob@example.com", "name": "Bob", "group": "New York"},
                      {"email": "cy@example.com", "name": "Cy", "group": "New York"}]}


def google_event(*guests: tuple[str, str]) -> tuple[dict, str]:
    attendees = [{"email": CALENDAR, "organizer": True, "responseStatus": "accepted"}]
    attendees += [{"email": email, "responseStatus": status} for email, status in guests]
    return {"status": "200"}, json.dumps({"kind": "calendar#event", "id": "x", "attendees": attendees})


def gateway_on(*answers) -> tuple[GoogleCalendarGateway, HttpMockSequence]:
    http = HttpMockSequence(list(answers))
    return GoogleCalendarGateway(CALENDAR, build("calendar", "v3", http=http, static_discovery=True,
                                                 cache_discovery=False)), http


def _rows(client, auth_headers, event_id):
    rows = client.get(f"/api/v1/events/{event_id}/attendees", headers=auth_headers).json["attendees"]
    return {row["email"]: row["response"] for row in rows}


def test_google_answers_are_merged_and_an_emailed_answer_that_stands_decides(client, auth_headers, mail):
    event = client.post("/api/v1/events", json=BODY, headers=auth_headers).json
    jobs.wait_local()
    # Ana answered by email (declined); Google still shows what she said there earlier.
    rsvp.handle_message(gmail_reply(uid=f"{event['id']}@eventhub.test", attendee="ana@example.com", name="Ana",
                                    partstat="DECLINED", sequence=0, organizer="townhall@eventhub.test",
                                    start=datetime(2030, 3, 5, 14, tzinfo=UTC),
                                    end=datetime(2030, 3, 5, 15, tzinfo=UTC)))
    google, http = gateway_on(google_event(("ana@example.com", "accepted"), ("Bob@Example.com", "tentative"),
                                           ("cy@example.com", "needsAction"), ("stranger@example.com", "accepted")))

    assert rsvp.merge_google_responses(google) == 1

    [(uri, method, _body, _headers)] = http.request_sequence
    assert method == "GET"
    assert unquote(urlsplit(uri).path) == f"/calendar/v3/calendars/{CALENDAR}/events/eh{event['id']}"
    assert _rows(client, auth_headers, event["id"]) == {
        "ana@example.com": "declined", "bob@example.com": "tentative", "cy@example.com": "needs-action"}


def test_a_google_answer_changes_when_google_changes_and_lapses_with_a_new_time(client, auth_headers, mail):
    event = client.post("/api/v1/events", json=BODY, headers=auth_headers).json
    jobs.wait_local()
    google, _ = gateway_on(google_event(("bob@example.com", "tentative")),
                           google_event(("bob@example.com", "accepted")))
    rsvp.merge_google_responses(google)
    rsvp.merge_google_responses(google)
    assert _rows(client, auth_headers, event["id"])["bob@example.com"] == "accepted"

    client.patch(f"/api/v1/events/{event['id']}", json={"start": "2030-03-06T14:00:00Z"}, headers=auth_headers)
    jobs.wait_local()
    assert _rows(client, auth_headers, event["id"])["bob@example.com"] == "needs-action"


def test_an_event_google_does_not_have_and_town_halls_long_over_are_skipped(client, auth_headers, mail):
    past = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    client.post("/api/v1/events", json={**BODY, "start": past}, headers=auth_headers)
    event = client.post("/api/v1/events", json=BODY, headers=auth_headers).json
    jobs.wait_local()
    google, http = gateway_on(({"status": "404"}, json.dumps({"error": {"code": 404, "message": "Not Found"}})))
    assert rsvp.merge_google_responses(google) == 0
    assert len(http.request_sequence) == 1
    assert _rows(client, auth_headers, event["id"])["ana@example.com"] == "needs-action"


def test_without_google_configured_nothing_is_read(app):
    assert rsvp.merge_google_responses() == 0
