"""Google Calendar: town halls written to one calendar with a service-account key.

The only module in the project that imports googleapiclient. Every call is idempotent: the event id
sent to Google is derived from ours, so a retried insert finds the event (409) and patches it instead
of creating a second one. Every request retries 5xx, 429 and rate-limit 403 answers with googleapiclient's
own randomised exponential backoff (`execute(num_retries=...)`).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httplib2
from google.auth import exceptions as auth_exceptions
from google.oauth2 import service_account
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from eventhub.domain.zones import get_zone, to_local

SCOPES = ["https://www.googleapis.com/auth/calendar"]
DEFAULT_RETRIES = 5
HTTP_TIMEOUT_SECONDS = 30
# The discovery document's servicePath: a configured endpoint replaces rootUrl + servicePath as a whole.
SERVICE_PATH = "calendar/v3/"
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_HEX_ID = re.compile(r"[0-9a-f]{3,}")
_MAX_ID_LENGTH = 1024
FREE_BUSY_ITEMS = 50  # calendars one freeBusy query may name


class GoogleCalendarError(Exception):
    """A Calendar call failed. `permanent` is True when repeating the same call cannot help
    (a 4xx other than 429 or a rate-limit 403, or a rejected service-account key)."""

    def __init__(self, message: str, permanent: bool, status: int | None = None, reason: str | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class GoogleEventInput:
    """One town hall (or series) as Google should show it. Datetimes are aware; `timezone` is IANA."""

    event_id: str
    title: str
    description: str
    timezone: str
    start_utc: datetime
    end_utc: datetime
    recurrence: tuple[str, ...] = ()
    # (original start, new start, new end) of occurrences moved off the rule, all UTC
    overrides: tuple[tuple[datetime, datetime, datetime], ...] = ()
    attendees: tuple[tuple[str, str], ...] = ()  # (email, display name)
    add_meet: bool = True
    sequence: int = 0


@dataclass(frozen=True)
class FreeBusy:
    """A freeBusy answer: busy (start, end) UTC intervals per calendar, and the calendars Google refused."""

    busy: dict
    errors: dict


def google_event_id(event_id: str) -> str:
    """The Google event id for our id: base32hex (a–v, 0–9), 5–1024 characters, the same on every call.

    A lowercase hex id is used as it stands behind "eh"; anything else is base32hex-encoded behind "eb",
    so the two forms can never collide.
    """
    if not event_id:
        raise ValueError("event_id is empty")
    if _HEX_ID.fullmatch(event_id):
        result = "eh" + event_id
    else:
        result = "eb" + base64.b32hexencode(event_id.encode()).decode("ascii").rstrip("=").lower()
    if len(result) > _MAX_ID_LENGTH:
        raise ValueError("event_id is too long for a Google event id")
    return result


def instance_id(google_id: str, original_start_utc: datetime) -> str:
    """The id Google gives the occurrence of a timed series that the rule puts at `original_start_utc`."""
    return f"{google_id}_{_utc(original_start_utc):%Y%m%dT%H%M%SZ}"


def conference_request_id(event: GoogleEventInput) -> str:
    """The createRequest id: the same on a retried call, new when the event's sequence changes."""
    return f"eventhub-{event.event_id}-{event.sequence}"


def event_body(event: GoogleEventInput) -> dict:
    """The events.insert body for `event` (pure; field names as in the Calendar v3 discovery document).

    Recurrence and attendees are always present, empty lists included, so a patch with this body
    clears what was removed. `sequence` is left to Google, which raises it itself and rejects a lower one.
    """
    body = {
        "id": google_event_id(event.event_id),
        "summary": event.title,
        "description": event.description,
        "start": _when(event.start_utc, event.timezone),
        "end": _when(event.end_utc, event.timezone),
        "recurrence": list(event.recurrence),
        "attendees": [_attendee(email, name) for email, name in event.attendees],
        "guestsCanSeeOtherGuests": False,
        "reminders": {"useDefault": True},
    }
    if event.add_meet:
        body["conferenceData"] = _conference_request(event)
    return body


def meet_url(google_event: dict) -> str | None:
    """The Meet link of an event resource, if Google has created one yet."""
    if google_event.get("hangoutLink"):
        return google_event["hangoutLink"]
    for entry in google_event.get("conferenceData", {}).get("entryPoints", []):
        if entry.get("entryPointType") == "video" and entry.get("uri"):
            return entry["uri"]
    return None


def api_base_url(endpoint: str) -> str:
    """The base of API requests for GOOGLE_API_ENDPOINT.

    googleapiclient's `api_endpoint` replaces rootUrl *and* servicePath, so a bare root such as
    `http://127.0.0.1:8085` gets `calendar/v3/` appended; a value already ending in it is kept.
    """
    base = endpoint.rstrip("/") + "/"
    if urlsplit(base).path.endswith("/" + SERVICE_PATH):
        return base
    return base + SERVICE_PATH


class GoogleCalendarGateway:
    """Writes town halls to one Google calendar, notifying attendees (sendUpdates=all)."""

    def __init__(self, calendar_id: str, service, num_retries: int = DEFAULT_RETRIES):
        self.calendar_id = calendar_id
        self.service = service
        self.num_retries = num_retries

    @classmethod
    def from_settings(cls, settings: dict, http=None, num_retries: int = DEFAULT_RETRIES):
        """A gateway for GOOGLE_SERVICE_ACCOUNT_FILE and GOOGLE_CALENDAR_ID; None when either is unset.

        The key file's `token_uri` is where the access token is fetched; GOOGLE_API_ENDPOINT, when set,
        replaces https://www.googleapis.com/ as the base of API requests. `http` is the transport
        (an httplib2.Http with a 30 s timeout by default).
        """
        key_file = settings.get("GOOGLE_SERVICE_ACCOUNT_FILE")
        calendar_id = settings.get("GOOGLE_CALENDAR_ID")
        if not key_file or not calendar_id:
            return None
        credentials = service_account.Credentials.from_service_account_file(str(key_file), scopes=SCOPES)
        authorized = AuthorizedHttp(credentials, http=http or httplib2.Http(timeout=HTTP_TIMEOUT_SECONDS))
        endpoint = settings.get("GOOGLE_API_ENDPOINT")
        client_options = {"api_endpoint": api_base_url(endpoint)} if endpoint else None
        service = build(
            "calendar",
            "v3",
            http=authorized,
            static_discovery=True,
            cache_discovery=False,
            client_options=client_options,
        )
        return cls(calendar_id, service, num_retries=num_retries)

    def upsert(self, event: GoogleEventInput) -> dict:
        """Create or update the event and its moved occurrences; attendees are notified by Google.

        Returns {"google_id", "meet_url" (None until Google has made the conference), "html_link"}.
        """
        body = event_body(event)
        google_id = body["id"]
        events = self.service.events()
        try:
            result = self._execute(
                events.insert(calendarId=self.calendar_id, body=body, sendUpdates="all", conferenceDataVersion=1)
            )
        except GoogleCalendarError as exc:
            if exc.status != 409:
                raise
            result = self._update_existing(event, body)
        for original_start, new_start, new_end in event.overrides:
            self._move_occurrence(event, google_id, original_start, new_start, new_end)
        return {"google_id": google_id, "meet_url": meet_url(result), "html_link": result.get("htmlLink")}

    def cancel(self, event_id: str) -> None:
        """Delete the event (every occurrence) and notify attendees; an event already gone counts as done."""
        request = self.service.events().delete(
            calendarId=self.calendar_id, eventId=google_event_id(event_id), sendUpdates="all"
        )
        try:
            self._execute(request)
        except GoogleCalendarError as exc:
            if exc.status not in (404, 410):
                raise

    def attendee_responses(self, event_id: str) -> list[tuple[str, str]]:
        """Each guest's (email, responseStatus) on the event as Google holds it; [] when it is not there
        (never written, or deleted). responseStatus is needsAction, declined, tentative or accepted."""
        request = self.service.events().get(calendarId=self.calendar_id, eventId=google_event_id(event_id))
        try:
            found = self._execute(request)
        except GoogleCalendarError as exc:
            if exc.status in (404, 410):
                return []
            raise
        return [(guest["email"], guest.get("responseStatus", "needsAction"))
                for guest in found.get("attendees", []) if guest.get("email") and not guest.get("organizer")]

    def free_busy(self, calendars: list[str], start: datetime, end: datetime) -> FreeBusy:
        """The busy intervals of each calendar over [start, end) from one freeBusy query (at most
        FREE_BUSY_ITEMS calendars); a calendar Google cannot read is listed in `errors` with its reason."""
        if len(calendars) > FREE_BUSY_ITEMS:
            raise ValueError(f"at most {FREE_BUSY_ITEMS} calendars in one freeBusy query")
        body = {"timeMin": _rfc3339(start), "timeMax": _rfc3339(end), "items": [{"id": c} for c in calendars]}
        answer = self._execute(self.service.freebusy().query(body=body))
        busy: dict[str, tuple[tuple[datetime, datetime], ...]] = {}
        errors: dict[str, str] = {}
        for calendar_id in calendars:
            entry = answer.get("calendars", {}).get(calendar_id, {})
            if entry.get("errors"):
                errors[calendar_id] = str(entry["errors"][0].get("reason", "error"))
                continue
            try:
                busy[calendar_id] = tuple(
                    (_parse_rfc3339(block["start"]), _parse_rfc3339(block["end"])) for block in entry.get("busy", [])
                )
            except (KeyError, TypeError, ValueError):
                errors[calendar_id] = "unreadable"
        return FreeBusy(busy, errors)

    def _update_existing(self, event: GoogleEventInput, body: dict) -> dict:
        # The conference is left out of the patch: a new createRequest would give everyone a new Meet link.
        changes = {key: value for key, value in body.items() if key not in ("id", "conferenceData")}
        result = self._patch(body["id"], changes)
        if event.add_meet and not result.get("conferenceData"):
            result = self._patch(body["id"], {"conferenceData": _conference_request(event)})
        return result

    def _move_occurrence(self, event, google_id, original_start, new_start, new_end) -> dict:
        changes = {"start": _when(new_start, event.timezone), "end": _when(new_end, event.timezone)}
        try:
            return self._patch(instance_id(google_id, original_start), changes)
        except GoogleCalendarError as exc:
            if exc.status != 404:
                raise
        # The instance-id form is Google's practice, not documented: ask for the occurrence instead.
        found = self._execute(
            self.service.events().instances(
                calendarId=self.calendar_id,
                eventId=google_id,
                originalStart=_utc(original_start).strftime("%Y-%m-%dT%H:%M:%SZ"),
                showDeleted=True,
            )
        )
        items = found.get("items", [])
        if not items:
            raise GoogleCalendarError(
                f"no occurrence of {google_id} starts at {_utc(original_start).isoformat()}", permanent=True, status=404
            )
        return self._patch(items[0]["id"], changes)

    def _patch(self, google_id: str, changes: dict) -> dict:
        request = self.service.events().patch(
            calendarId=self.calendar_id, eventId=google_id, body=changes, sendUpdates="all", conferenceDataVersion=1
        )
        return self._execute(request)

    def _execute(self, request) -> dict:
        try:
            return request.execute(num_retries=self.num_retries)
        except HttpError as exc:
            raise _http_error(exc) from exc
        except auth_exceptions.RefreshError as exc:
            raise _refresh_error(exc) from exc
        except (auth_exceptions.TransportError, httplib2.HttpLib2Error, OSError) as exc:
            raise GoogleCalendarError(f"Google Calendar unreachable: {exc}", permanent=False) from exc


def _http_error(exc: HttpError) -> GoogleCalendarError:
    status = exc.status_code
    reason = _error_reason(exc.content)
    temporary = status >= 500 or status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS)
    return GoogleCalendarError(
        f"Google Calendar answered {status} ({reason or exc.reason}) to {exc.uri}",
        permanent=not temporary,
        status=status,
        reason=reason,
    )


def _error_reason(content: bytes) -> str | None:
    """The first `errors[].reason` of a Google error body (e.g. rateLimitExceeded), if there is one."""
    try:
        error = json.loads(content.decode("utf-8"))["error"]
        return error["errors"][0]["reason"]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


def _refresh_error(exc: auth_exceptions.RefreshError) -> GoogleCalendarError:
    # An OAuth error answer (invalid_grant, invalid_client, ...) means the key itself is refused;
    # anything else (a 502, an unreadable body) may pass.
    details = exc.args[1] if len(exc.args) > 1 else None
    refused = isinstance(details, dict) and "error" in details and not exc.retryable
    return GoogleCalendarError(f"Google token exchange failed: {exc.args[0] if exc.args else exc}", permanent=refused)


def _conference_request(event: GoogleEventInput) -> dict:
    return {
        "createRequest": {
            "requestId": conference_request_id(event),
            "conferenceSolutionKey": {"type": "hangoutsMeet"},
        }
    }


def _attendee(email: str, name: str) -> dict:
    return {"email": email, "displayName": name} if name else {"email": email}


def _when(instant: datetime, zone_name: str) -> dict:
    local = to_local(_utc(instant), get_zone(zone_name))
    return {"dateTime": local.isoformat(), "timeZone": zone_name}


def _rfc3339(instant: datetime) -> str:
    return _utc(instant).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_rfc3339(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("a freeBusy time without an offset")
    return parsed.astimezone(UTC)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("Google Calendar times must be aware datetimes")
    return instant.astimezone(UTC)
