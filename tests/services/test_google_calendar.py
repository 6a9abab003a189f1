"""The Google Calendar gateway against googleapiclient's HttpMockSequence and the discovery document that
ships in the package: no network, no app, no database."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import googleapiclient.http
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt
from googleapiclient.discovery import build
from googleapiclient.http import HttpMockSequence

from eventhub.gateways.google_calendar import (
    GoogleCalendarError,
    GoogleCalendarGateway,
    GoogleEventInput,
    api_base_url,
    event_body,
    google_event_id,
)

CALENDAR = "townhalls@group.calendar.google.com"
OUR_ID = "0f3c9a1b2d4e5f60718293a4b5c6d7e8"
GOOGLE_ID = "eh" + OUR_ID
MEET = "https://meet.google.com/abc-defg-hij"
TOKEN_URI = "https://oauth.internal.example/v1/token"
WEEKLY = ("RRULE:FREQ=WEEKLY;COUNT=6",)


def ok(payload: dict | None = None, status: str = "200") -> tuple:
    return {"status": status}, json.dumps(payload or {})


def error(status: int, reason: str | None = None, message: str = "error") -> tuple:
    errors = [{"domain": "global", "reason": reason, "message": message}] if reason else []
    return {"status": str(status)}, json.dumps({"error": {"code": status, "message": message, "errors": errors}})


def created(**extra) -> tuple:
    return ok({"id": GOOGLE_ID, "htmlLink": "https://calendar.google.com/event?eid=x", **extra})


def town_hall(**changes) -> GoogleEventInput:
    values = dict(
        event_id=OUR_ID,
        title="Q1 Town Hall",
        description="All hands",
        timezone="America/New_York",
        start_utc=datetime(2027, 3, 2, 23, 30, tzinfo=UTC),
        end_utc=datetime(2027, 3, 3, 0, 30, tzinfo=UTC),
        attendees=(("ana@example.com", "Ana"), ("bo@example.com", "")),
    )
    values.update(changes)
    return GoogleEventInput(**values)


class Sent:
    """One request as HttpMockSequence recorded it (it keeps `request_sequence` itself)."""

    def __init__(self, uri, method, body, headers):
        parts = urlsplit(uri)
        self.uri, self.method, self.headers = uri, method, headers or {}
        self.host, self.path = parts.netloc, unquote(parts.path)
        self.query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        self.raw_body = body
        content_type = {key.lower(): value for key, value in self.headers.items()}.get("content-type", "")
        self.json = json.loads(body) if body and content_type.startswith("application/json") else None


def sent(http: HttpMockSequence) -> list[Sent]:
    return [Sent(*item) for item in http.request_sequence]


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    """googleapiclient sleeps `random() * 2**n` seconds between retries through time.sleep: record instead."""
    naps = []
    monkeypatch.setattr(googleapiclient.http.time, "sleep", naps.append)
    for name in ("GOOGLE_API_USE_MTLS_ENDPOINT", "GOOGLE_API_USE_CLIENT_CERTIFICATE", "GOOGLE_CLOUD_UNIVERSE_DOMAIN",
                 "GOOGLE_SDK_EXPERIMENTAL_PYTHON_REGIONAL_ACCESS_BOUNDARY_LOOKUP_ENABLED"):
        monkeypatch.delenv(name, raising=False)
    return naps


def gateway_on(*responses) -> tuple[GoogleCalendarGateway, HttpMockSequence]:
    http = HttpMockSequence(list(responses))
    service = build("calendar", "v3", http=http, static_discovery=True, cache_discovery=False)
    return GoogleCalendarGateway(CALENDAR, service), http


# --- ids and bodies -------------------------------------------------------------------------------

def test_the_google_id_is_base32hex_and_stable():
    """The id is valid for Google (a–v, 0–9, 5–1024 chars) and the same on every call, so retries never duplicate."""
    for ours in (OUR_ID, "abc", "Town-Hall #7", "é" * 50, "EH" + OUR_ID.upper()):
        first = google_event_id(ours)
        assert first == google_event_id(ours)
        assert re.fullmatch(r"[0-9a-v]{5,1024}", first), first
    assert google_event_id(OUR_ID) == GOOGLE_ID
    assert len({google_event_id(x) for x in (OUR_ID, OUR_ID.upper(), "abc", "abd", "ab")}) == 5
    with pytest.raises(ValueError):
        google_event_id("")


def test_the_body_carries_local_times_with_zone_attendees_and_a_meet_request():
    body = event_body(town_hall(recurrence=WEEKLY, sequence=2))
    assert body["id"] == GOOGLE_ID
    assert body["summary"] == "Q1 Town Hall" and body["description"] == "All hands"
    assert body["start"] == {"dateTime": "2027-03-02T18:30:00-05:00", "timeZone": "America/New_York"}
    assert body["end"] == {"dateTime": "2027-03-02T19:30:00-05:00", "timeZone": "America/New_York"}
    assert body["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=6"]
    assert body["attendees"] == [{"email": "ana@example.com", "displayName": "Ana"}, {"email": "bo@example.com"}]
    assert body["guestsCanSeeOtherGuests"] is False
    assert body["reminders"] == {"useDefault": True}
    request = body["conferenceData"]["createRequest"]
    assert request["conferenceSolutionKey"] == {"type": "hangoutsMeet"}
    assert request["requestId"] == event_body(town_hall(sequence=2))["conferenceData"]["createRequest"]["requestId"]
    assert request["requestId"] != event_body(town_hall(sequence=3))["conferenceData"]["createRequest"]["requestId"]
    assert "sequence" not in body


def test_a_body_without_meet_asks_for_no_conference_and_naive_times_are_refused():
    assert "conferenceData" not in event_body(town_hall(add_meet=False))
    with pytest.raises(ValueError):
        event_body(town_hall(start_utc=datetime(2027, 3, 2, 23, 30)))


# --- insert, patch, overrides ---------------------------------------------------------------------

def test_insert_posts_the_body_with_send_updates_and_conference_version():
    """One POST to the calendar's events with the full body; the Meet link comes back from the answer."""
    gateway, http = gateway_on(created(hangoutLink=MEET))
    result = gateway.upsert(town_hall(recurrence=WEEKLY))
    assert result == {"google_id": GOOGLE_ID, "meet_url": MEET, "html_link": "https://calendar.google.com/event?eid=x"}
    [insert] = sent(http)
    assert insert.method == "POST"
    assert insert.host == "www.googleapis.com"
    assert insert.path == f"/calendar/v3/calendars/{CALENDAR}/events"
    assert insert.query["sendUpdates"] == "all" and insert.query["conferenceDataVersion"] == "1"
    assert insert.json == event_body(town_hall(recurrence=WEEKLY))
    assert insert.json["start"]["timeZone"] == "America/New_York"


def test_the_meet_link_is_read_from_conference_entry_points_too():
    entry_points = [{"entryPointType": "phone", "uri": "tel:+1-555"}, {"entryPointType": "video", "uri": MEET}]
    gateway, _ = gateway_on(created(conferenceData={"entryPoints": entry_points}))
    assert gateway.upsert(town_hall())["meet_url"] == MEET


def test_a_pending_conference_gives_no_meet_link_yet():
    pending = {"createRequest": {"status": {"statusCode": "pending"}}}
    gateway, _ = gateway_on(created(conferenceData=pending))
    assert gateway.upsert(town_hall())["meet_url"] is None


def test_an_insert_that_already_happened_becomes_a_patch_that_keeps_the_meet_link():
    """409 (a retry after a lost answer, or an update) patches the same fields; the conference is not
    re-requested, so attendees keep their Meet link."""
    gateway, http = gateway_on(error(409, "duplicate"), created(hangoutLink=MEET, conferenceData={"entryPoints": []}))
    result = gateway.upsert(town_hall(sequence=4, attendees=()))
    assert result["meet_url"] == MEET
    insert, patch = sent(http)
    assert insert.method == "POST"
    assert patch.method == "PATCH"
    assert patch.path == f"/calendar/v3/calendars/{CALENDAR}/events/{GOOGLE_ID}"
    assert patch.query["sendUpdates"] == "all" and patch.query["conferenceDataVersion"] == "1"
    expected = {k: v for k, v in event_body(town_hall(sequence=4, attendees=())).items()
                if k not in ("id", "conferenceData")}
    assert patch.json == expected
    assert patch.json["attendees"] == []


def test_a_patched_event_without_a_conference_gets_one():
    gateway, http = gateway_on(error(409, "duplicate"), created(), created(hangoutLink=MEET))
    assert gateway.upsert(town_hall())["meet_url"] == MEET
    *_, second_patch = sent(http)
    assert second_patch.method == "PATCH"
    assert second_patch.json == {"conferenceData": event_body(town_hall())["conferenceData"]}


def test_moved_occurrences_patch_their_instances():
    """Each override patches `<id>_<original start, UTC basic format>` with its new local start and end."""
    first = datetime(2027, 3, 9, 23, 30, tzinfo=UTC)
    moved = first + timedelta(days=1)
    event = town_hall(recurrence=WEEKLY, overrides=((first, moved, moved + timedelta(hours=1)),))
    gateway, http = gateway_on(created(), ok({"id": f"{GOOGLE_ID}_20270309T233000Z"}))
    gateway.upsert(event)
    _, instance = sent(http)
    assert instance.method == "PATCH"
    assert instance.path == f"/calendar/v3/calendars/{CALENDAR}/events/{GOOGLE_ID}_20270309T233000Z"
    assert instance.query["sendUpdates"] == "all"
    assert instance.json == {
        "start": {"dateTime": "2027-03-10T18:30:00-05:00", "timeZone": "America/New_York"},
        "end": {"dateTime": "2027-03-10T19:30:00-05:00", "timeZone": "America/New_York"},
    }


def test_an_instance_not_found_by_id_is_looked_up_by_its_original_start():
    first = datetime(2027, 3, 9, 23, 30, tzinfo=UTC)
    event = town_hall(recurrence=WEEKLY, overrides=((first, first, first + timedelta(hours=2)),))
    gateway, http = gateway_on(created(), error(404, "notFound"), ok({"items": [{"id": "otherform"}]}), ok())
    gateway.upsert(event)
    *_, lookup, patch = sent(http)
    assert lookup.method == "GET" and lookup.path.endswith(f"/events/{GOOGLE_ID}/instances")
    assert lookup.query["originalStart"] == "2027-03-09T23:30:00Z"
    assert patch.path.endswith("/events/otherform")


# --- retries and errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("failure", [
    error(503, "backendError"),
    error(500),
    error(429, "rateLimitExceeded"),
    error(403, "rateLimitExceeded"),
    error(403, "userRateLimitExceeded"),
], ids=["503", "500", "429", "403-rateLimitExceeded", "403-userRateLimitExceeded"])
def test_a_passing_failure_is_retried_within_one_call(failure, no_waiting):
    gateway, http = gateway_on(failure, created(hangoutLink=MEET))
    assert gateway.upsert(town_hall())["meet_url"] == MEET
    assert [request.method for request in sent(http)] == ["POST", "POST"]
    assert len(no_waiting) == 1 and 0 <= no_waiting[0] <= 2  # random() * 2**1


@pytest.mark.parametrize("failure", [
    error(400, "invalid", "Invalid resource id value."),
    error(403, "forbiddenForServiceAccounts", "Service accounts cannot invite attendees without Domain-Wide"),
    error(403, "requiredAccessLevel"),
    error(404, "notFound"),
], ids=["400", "403-serviceAccount", "403-access", "404"])
def test_a_refusal_raises_a_permanent_error_at_once(failure, no_waiting):
    gateway, http = gateway_on(failure, created())
    with pytest.raises(GoogleCalendarError) as caught:
        gateway.upsert(town_hall())
    assert caught.value.permanent is True
    assert len(http.request_sequence) == 1 and no_waiting == []


def test_failures_past_the_retries_are_temporary(no_waiting):
    gateway, http = gateway_on(*[error(503, "backendError")] * 3)
    gateway.num_retries = 2
    with pytest.raises(GoogleCalendarError) as caught:
        gateway.upsert(town_hall())
    assert caught.value.permanent is False and caught.value.status == 503
    assert len(http.request_sequence) == 3 and len(no_waiting) == 2


def test_rate_limits_past_the_retries_are_temporary():
    gateway, _ = gateway_on(*[error(403, "rateLimitExceeded")] * 2)
    gateway.num_retries = 1
    with pytest.raises(GoogleCalendarError) as caught:
        gateway.upsert(town_hall())
    assert caught.value.permanent is False and caught.value.reason == "rateLimitExceeded"


# --- cancel ---------------------------------------------------------------------------------------

def test_cancel_deletes_with_send_updates():
    gateway, http = gateway_on(({"status": "204"}, ""))
    gateway.cancel(OUR_ID)
    [delete] = sent(http)
    assert delete.method == "DELETE"
    assert delete.path == f"/calendar/v3/calendars/{CALENDAR}/events/{GOOGLE_ID}"
    assert delete.query["sendUpdates"] == "all"


@pytest.mark.parametrize("status", [404, 410])
def test_cancelling_an_event_already_gone_is_done(status):
    gateway, http = gateway_on(error(status, "deleted" if status == 410 else "notFound"))
    gateway.cancel(OUR_ID)  # no error: the event is as gone as a cancellation would make it
    [request] = sent(http)  # one DELETE of our event, not retried
    assert request.method == "DELETE" and request.path.endswith(f"/events/{google_event_id(OUR_ID)}")


def test_a_cancel_that_keeps_failing_is_temporary():
    gateway, _ = gateway_on(*[error(502)] * 6)
    with pytest.raises(GoogleCalendarError) as caught:
        gateway.cancel(OUR_ID)
    assert caught.value.permanent is False


# --- from_settings: key file, token_uri, endpoint -------------------------------------------------

@pytest.fixture(scope="module")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def key_file(tmp_path, private_key_pem):
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps({
        "type": "service_account",
        "project_id": "eventhub-test",
        "private_key_id": "key-1",
        "private_key": private_key_pem,
        "client_email": "eventhub@eventhub-test.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": TOKEN_URI,
    }))
    return path


def token_answer(token: str = "ya29.test-token") -> tuple:
    return ok({"access_token": token, "expires_in": 3600, "token_type": "Bearer"})


def test_without_key_file_or_calendar_there_is_no_gateway(key_file):
    assert GoogleCalendarGateway.from_settings({}) is None
    assert GoogleCalendarGateway.from_settings({"GOOGLE_SERVICE_ACCOUNT_FILE": str(key_file)}) is None
    assert GoogleCalendarGateway.from_settings({"GOOGLE_CALENDAR_ID": CALENDAR, "GOOGLE_API_ENDPOINT": "x"}) is None


def test_the_token_comes_from_the_key_files_token_uri_and_is_sent_as_bearer(key_file):
    http = HttpMockSequence([token_answer(), created(hangoutLink=MEET), ok()])
    gateway = GoogleCalendarGateway.from_settings(
        {"GOOGLE_SERVICE_ACCOUNT_FILE": str(key_file), "GOOGLE_CALENDAR_ID": CALENDAR}, http=http
    )
    assert gateway.upsert(town_hall())["meet_url"] == MEET
    gateway.cancel(OUR_ID)
    exchange, insert, delete = sent(http)
    assert exchange.uri == TOKEN_URI and exchange.method == "POST"
    form = parse_qs(exchange.raw_body.decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = jwt.decode(form["assertion"][0], verify=False)
    # google-auth posts to the key file's token_uri but always signs the assertion for Google's own endpoint
    assert claims["aud"] == "https://oauth2.googleapis.com/token"
    assert claims["scope"] == "https://www.googleapis.com/auth/calendar"
    assert claims["iss"] == "eventhub@eventhub-test.iam.gserviceaccount.com"
    assert insert.headers["authorization"] == "Bearer ya29.test-token"
    assert insert.host == "www.googleapis.com"
    assert delete.headers["authorization"] == "Bearer ya29.test-token"  # the token is reused, not fetched again


def test_a_refused_key_is_a_permanent_error(key_file):
    refusal = ({"status": "400"}, json.dumps({"error": "invalid_grant", "error_description": "Invalid JWT"}))
    http = HttpMockSequence([refusal])
    gateway = GoogleCalendarGateway.from_settings(
        {"GOOGLE_SERVICE_ACCOUNT_FILE": str(key_file), "GOOGLE_CALENDAR_ID": CALENDAR}, http=http
    )
    with pytest.raises(GoogleCalendarError) as caught:
        gateway.cancel(OUR_ID)
    assert caught.value.permanent is True
    assert [item.uri for item in sent(http)] == [TOKEN_URI]


@pytest.mark.parametrize("endpoint", [
    "http://127.0.0.1:8085", "http://127.0.0.1:8085/", "http://127.0.0.1:8085/calendar/v3",
])
def test_the_api_endpoint_setting_moves_every_api_request(key_file, endpoint):
    http = HttpMockSequence([token_answer(), created(), ok()])
    gateway = GoogleCalendarGateway.from_settings({
        "GOOGLE_SERVICE_ACCOUNT_FILE": str(key_file), "GOOGLE_CALENDAR_ID": CALENDAR, "GOOGLE_API_ENDPOINT": endpoint,
    }, http=http)
    gateway.upsert(town_hall())
    gateway.cancel(OUR_ID)
    exchange, insert, delete = sent(http)
    assert exchange.uri == TOKEN_URI
    for request in (insert, delete):
        assert request.uri.startswith("http://127.0.0.1:8085/calendar/v3/calendars/")
    assert insert.path == f"/calendar/v3/calendars/{CALENDAR}/events"


def test_an_endpoint_with_its_own_prefix_keeps_it():
    assert api_base_url("https://proxy.example/google") == "https://proxy.example/google/calendar/v3/"
    assert api_base_url("https://proxy.example/google/calendar/v3/") == "https://proxy.example/google/calendar/v3/"
