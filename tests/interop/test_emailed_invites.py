"""The invites the service actually emails, read by the independent readers: libical's RFC 5546 check,
ical.js, and a real CalDAV server (Radicale) that stores, updates and cancels them in place."""

from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from eventhub.extensions import jobs
from tests.interop.test_radicale import expanded, read_back, store

# Weekly at 14:00 UTC across the US change of 10 March 2030: 09:00 then 10:00 in New York.
PLAN = [datetime(2030, 3, 5, 14, tzinfo=UTC) + timedelta(weeks=week) for week in range(6)]


def _emailed_calendars(sink) -> list[bytes]:
    found = []
    for item in sink.messages:
        part = next(p for p in item["message"].walk()
                    if p.get_content_type() == "text/calendar" and not p.get_filename())
        found.append(part.get_payload(decode=True))
    sink.messages.clear()
    return found


def _series(client, headers):
    body = {"title": "Weekly town hall", "timezone": "America/New_York", "every": "week",
            "occurrences": [start.strftime("%Y-%m-%dT%H:%M:%SZ") for start in PLAN],
            "attendees": [{"email": "ana@example.com", "name": "Ana Reyes"}]}
    event = client.post("/api/v1/events", json=body, headers=headers).json
    jobs.wait_local()
    return event


def test_emailed_requests_and_cancels_pass_libicals_itip_check(client, auth_headers, mail, libical_errors):
    event = _series(client, auth_headers)
    (request,) = _emailed_calendars(mail)
    client.patch(f"/api/v1/events/{event['id']}", json={"title": "Weekly town hall (new room)"}, headers=auth_headers)
    jobs.wait_local()
    (update,) = _emailed_calendars(mail)
    client.delete(f"/api/v1/events/{event['id']}", headers=auth_headers)
    jobs.wait_local()
    (cancel,) = _emailed_calendars(mail)
    for ics in (request, update, cancel):
        assert libical_errors(ics) == []
    assert Calendar.from_ical(cancel)["METHOD"] == "CANCEL"


def test_icaljs_reads_every_emailed_occurrence_at_its_planned_instant(client, auth_headers, mail, icaljs_expand):
    _series(client, auth_headers)
    (request,) = _emailed_calendars(mail)
    assert [start for start, _ in icaljs_expand(request)] == PLAN


def test_radicale_stores_the_emailed_invite_and_its_update_and_cancellation_in_place(client, auth_headers, mail,
                                                                                   caldav_calendar):
    event = _series(client, auth_headers)
    (request,) = _emailed_calendars(mail)
    uid = str(Calendar.from_ical(request).walk("VEVENT")[0]["UID"])
    href = store(caldav_calendar, request).url
    assert [start for start, _ in expanded(read_back(caldav_calendar, uid))] == PLAN

    client.patch(f"/api/v1/events/{event['id']}", headers=auth_headers, json={
        "occurrences": [(start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ") for start in PLAN]})
    jobs.wait_local()
    (update,) = _emailed_calendars(mail)
    assert store(caldav_calendar, update).url == href
    stored = read_back(caldav_calendar, uid)
    assert {int(v["SEQUENCE"]) for v in stored.walk("VEVENT")} == {1}
    assert [start for start, _ in expanded(stored)] == [start + timedelta(hours=1) for start in PLAN]

    client.delete(f"/api/v1/events/{event['id']}", headers=auth_headers)
    jobs.wait_local()
    (cancel,) = _emailed_calendars(mail)
    store(caldav_calendar, cancel)
    assert read_back(caldav_calendar, uid).walk("VEVENT")[0]["STATUS"] == "CANCELLED"
