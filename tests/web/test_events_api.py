"""Town halls through `/api/v1/events`: invites emailed as iMIP to a real SMTP server, updates, cancellations."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from eventhub.extensions import db, jobs
from eventhub.models import Attendee, Delivery
from tests.factories import create_town_hall

START = "2030-03-05T14:00:00Z"  # 09:00 in New York, 22:00 in Manila


def _event(**changes):
    body = {
        "title": "Q1 Town Hall", "description": "Plans for the quarter.", "start": START, "duration_minutes": 60,
        "timezone": "America/New_York",
        "groups": [{"name": "Manila", "timezone": "Asia/Manila"}, {"name": "New York", "timezone": "America/New_York"}],
        "attendees": [{"email": "ana@example.com", "name": "Ana", "group": "Manila"},
                      {"email": "bob@example.com", "name": "Bob", "group": "New York"}],
    }
    body.update(changes)
    return body


def _create(client, headers, **changes):
    return create_town_hall(client, headers, sent=True, **_event(**changes))


def _calendar(message):
    """The inline text/calendar part, parsed."""
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar" and not p.get_filename())
    return part, Calendar.from_ical(part.get_payload(decode=True))


def _by_recipient(sink):
    return {item["to"][0]: item["message"] for item in sink.messages}


def test_creating_a_town_hall_emails_each_attendee_a_real_invitation(client, auth_headers, mail):
    created = _create(client, auth_headers)
    assert created["attendees"] == 2 and created["id"] and created["ics_url"].endswith("/invite.ics")
    messages = _by_recipient(mail)
    assert set(messages) == {"ana@example.com", "bob@example.com"}
    ana = messages["ana@example.com"]
    assert ana.get_content_type() == "multipart/mixed"
    assert ana["Date"] and ana["Message-ID"]
    part, calendar = _calendar(ana)
    assert part.get_param("method") == "REQUEST" and part.get_content_charset().lower() == "utf-8"
    assert calendar["METHOD"] == "REQUEST"
    event = calendar.walk("VEVENT")[0]
    assert str(event["ORGANIZER"]).lower() == "mailto:townhall@eventhub.test"
    assert "townhall@eventhub.test" in ana["From"]
    attendee = event["ATTENDEE"]
    assert str(attendee).lower() == "mailto:ana@example.com" and attendee.params["RSVP"] == "TRUE"
    assert int(event["SEQUENCE"]) == 0 and event["DTSTART"].params["TZID"] == "America/New_York"
    assert event["DTSTART"].dt.astimezone(UTC) == datetime(2030, 3, 5, 14, tzinfo=UTC)
    attachment = next(p for p in ana.walk() if p.get_filename() == "invite.ics")
    assert attachment.get_payload(decode=True) == part.get_payload(decode=True)


def test_the_invite_text_shows_the_attendees_own_time_and_their_personal_link(client, auth_headers, mail, app):
    _create(client, auth_headers)
    ana = _by_recipient(mail)["ana@example.com"]
    text = ana.get_body(("plain",)).get_content()
    html = ana.get_body(("html",)).get_content()
    assert "22:00" in text and "Asia/Manila" in text  # Manila reads its own evening
    link = next(word for word in text.split() if "/ask/" in word)
    assert link.startswith("http://eventhub.test/ask/") and link in html
    assert "calendar.google.com" in text and "outlook" in text and "calendar.google.com" in html
    bob = _by_recipient(mail)["bob@example.com"].get_body(("plain",)).get_content()
    assert "09:00" in bob and link not in bob  # everyone has their own link
    stored = db.session.scalars(select(Attendee.token_hash)).all()
    assert all(link.rsplit("/", 1)[1] not in value for value in stored)  # only hashes are kept


def test_changing_the_time_resends_every_invite_with_a_higher_sequence(client, auth_headers, mail):
    created = _create(client, auth_headers)
    mail.messages.clear()
    response = client.patch(f"/api/v1/events/{created['id']}", json={"start": "2030-03-05T15:00:00Z"},
                            headers=auth_headers)
    assert response.status_code == 200 and response.json["sequence"] == 1
    jobs.wait_local()
    messages = _by_recipient(mail)
    assert set(messages) == {"ana@example.com", "bob@example.com"}
    _, calendar = _calendar(messages["bob@example.com"])
    event = calendar.walk("VEVENT")[0]
    assert int(event["SEQUENCE"]) == 1 and event["UID"] == _uid_of(created, client, auth_headers)
    assert messages["bob@example.com"]["Subject"].strip().startswith("Updated invitation")


def _uid_of(created, client, headers):
    ics = client.get(f"/api/v1/events/{created['id']}/invite.ics", headers=headers).data
    return Calendar.from_ical(ics).walk("VEVENT")[0]["UID"]


def test_a_change_calendars_do_not_show_sends_nothing(client, auth_headers, mail):
    created = _create(client, auth_headers)
    mail.messages.clear()
    client.patch(f"/api/v1/events/{created['id']}", json={"moderation": True}, headers=auth_headers)
    jobs.wait_local()
    assert mail.messages == []


def test_a_change_of_title_sends_each_attendee_one_update_and_nobody_new_anything_else(client, auth_headers, mail):
    created = _create(client, auth_headers)
    mail.messages.clear()
    changed = client.patch(f"/api/v1/events/{created['id']}", json={"title": "Q1 Town Hall (new room)"},
                           headers=auth_headers).json
    jobs.wait_local()
    assert changed["sequence"] == 1
    updates = _by_recipient(mail)
    assert sorted(updates) == ["ana@example.com", "bob@example.com"] and len(mail.messages) == 2
    for message in updates.values():
        assert message["Subject"].startswith("Updated invitation: Q1 Town Hall (new room)")
        assert _calendar(message)[1].walk("VEVENT")[0]["SEQUENCE"] == 1


def test_cancelling_sends_cancel_with_status_cancelled(client, auth_headers, mail):
    created = _create(client, auth_headers)
    mail.messages.clear()
    response = client.delete(f"/api/v1/events/{created['id']}", headers=auth_headers)
    assert response.status_code == 200 and response.json["status"] == "cancelled"
    jobs.wait_local()
    for message in _by_recipient(mail).values():
        part, calendar = _calendar(message)
        assert part.get_param("method") == "CANCEL" and calendar["METHOD"] == "CANCEL"
        event = calendar.walk("VEVENT")[0]
        assert event["STATUS"] == "CANCELLED" and int(event["SEQUENCE"]) == 1
        assert message["Subject"].strip() == "Cancelled: Q1 Town Hall"
    assert client.patch(f"/api/v1/events/{created['id']}", json={"title": "x"}, headers=auth_headers).status_code == 409


def test_removing_an_attendee_cancels_for_them_alone_and_adding_one_invites_only_them(client, auth_headers, mail):
    created = _create(client, auth_headers)
    mail.messages.clear()
    client.patch(f"/api/v1/events/{created['id']}", headers=auth_headers, json={
        "attendees": [{"email": "ana@example.com", "name": "Ana", "group": "Manila"},
                      {"email": "cy@example.com", "name": "Cy", "group": "Manila"}]})
    jobs.wait_local()
    messages = _by_recipient(mail)
    assert set(messages) == {"bob@example.com", "cy@example.com"}
    assert _calendar(messages["bob@example.com"])[1]["METHOD"] == "CANCEL"
    assert _calendar(messages["cy@example.com"])[1]["METHOD"] == "REQUEST"


def test_duplicates_by_email_are_merged(client, auth_headers, mail):
    created = _create(client, auth_headers, attendees=[
        {"email": "Ana@Example.com", "name": "Ana"}, {"email": "ana@example.com", "group": "Manila"}])
    assert created["attendees"] == 1
    assert len(mail.messages) == 1


def test_a_retried_job_sends_nobody_twice(client, auth_headers, mail, app):
    created = _create(client, auth_headers)
    from eventhub.services.invites import deliver_invites

    deliver_invites(created["id"])
    assert len(mail.messages) == 2


def test_a_permanent_refusal_is_reported_and_does_not_stop_the_others(client, auth_headers, mail):
    mail.refuse["bob@example.com"] = "550 No such user here"
    created = _create(client, auth_headers)
    assert set(_by_recipient(mail)) == {"ana@example.com"}
    event = client.get(f"/api/v1/events/{created['id']}", headers=auth_headers).json
    assert event["invites"] == {"sent": 1, "failed": 1, "pending": 0}
    rows = client.get(f"/api/v1/events/{created['id']}/attendees", headers=auth_headers).json["attendees"]
    bob = next(row for row in rows if row["email"] == "bob@example.com")
    assert bob["invite"]["status"] == "failed" and "550" in bob["invite"]["error"]


class _RefusedOnce(dict):
    """Refuses each address it holds once, then lets it through (a mail server's passing trouble)."""

    def __getitem__(self, address):
        return self.pop(address)


def test_a_temporary_refusal_is_retried_until_delivered(client, auth_headers, mail, app):
    app.config["INVITE_RETRY_INTERVALS"] = (0, 0)
    mail.refuse = _RefusedOnce({"bob@example.com": "451 Try again later"})
    created = _create(client, auth_headers)  # the retry on the task's schedule serves bob
    assert sorted(item["to"][0] for item in mail.messages) == ["ana@example.com", "bob@example.com"]
    assert sorted(db.session.scalars(select(Delivery.status)).all()) == ["sent", "sent"]
    job = client.get(f"/api/v1/jobs/{created['job_id']}", headers=auth_headers).json
    assert job["status"] == "finished" and job["done"] == job["total"] == 2


def test_refusals_past_the_retry_schedule_fail_the_job_and_send_again_serves_only_the_unserved(
        client, auth_headers, mail, app):
    app.config["INVITE_RETRY_INTERVALS"] = (0, 0)
    mail.refuse["bob@example.com"] = "451 Try again later"
    created = _create(client, auth_headers)
    job = client.get(f"/api/v1/jobs/{created['job_id']}", headers=auth_headers).json
    assert job["status"] == "failed" and "refused for now" in job["error"]
    assert sorted(item["to"][0] for item in mail.messages) == ["ana@example.com"]
    mail.refuse.clear()
    answer = client.post(f"/api/v1/events/{created['id']}/invites/resend", headers=auth_headers)
    assert answer.status_code == 202
    jobs.wait_local()
    assert sorted(item["to"][0] for item in mail.messages) == ["ana@example.com", "bob@example.com"]
    assert client.get(f"/api/v1/jobs/{answer.json['job_id']}", headers=auth_headers).json["status"] == "finished"


def test_send_again_retries_an_address_refused_for_good_and_nobody_else(client, auth_headers, mail):
    mail.refuse["bob@example.com"] = "550 No such mailbox"
    created = _create(client, auth_headers)
    assert client.get(f"/api/v1/events/{created['id']}", headers=auth_headers).json["invites"]["failed"] == 1
    mail.refuse.clear()  # the attendee's mailbox was fixed
    client.post(f"/api/v1/events/{created['id']}/invites/resend", headers=auth_headers)
    jobs.wait_local()
    assert Counter(item["to"][0] for item in mail.messages) == {"ana@example.com": 1, "bob@example.com": 1}
    assert client.get(f"/api/v1/events/{created['id']}", headers=auth_headers).json["invites"] == {
        "sent": 2, "failed": 0, "pending": 0}
    client.post(f"/api/v1/events/{created['id']}/invites/resend", headers=auth_headers)
    jobs.wait_local()
    assert len(mail.messages) == 2  # everyone served: a further "send again" sends nothing


def test_a_series_across_a_dst_change_warns_the_attendees_it_moves_for(client, auth_headers, mail):
    occurrences = [(datetime(2030, 3, 5, 14, tzinfo=UTC) + timedelta(weeks=k)).strftime("%Y-%m-%dT%H:%M:%SZ")
                   for k in range(4)]  # US clocks change on 2030-03-10
    created = _create(client, auth_headers, start=None, occurrences=occurrences, every="week")
    assert created["occurrences"] == occurrences
    bob = _by_recipient(mail)["bob@example.com"].get_body(("plain",)).get_content()
    assert "from 2030-03-12 the meeting starts at 10:00 instead of 09:00" in bob
    ana = _by_recipient(mail)["ana@example.com"].get_body(("plain",)).get_content()
    assert "daylight saving" not in ana  # Manila's clock and the UTC instants do not move
    _, calendar = _calendar(_by_recipient(mail)["bob@example.com"])
    assert "RRULE" in calendar.walk("VEVENT")[0] and b"RDATE" not in calendar.to_ical()


def test_invite_ics_downloads_for_the_organizer_only(client, auth_headers, app):
    created = _create(client, auth_headers)
    response = client.get(f"/api/v1/events/{created['id']}/invite.ics", headers=auth_headers)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert Calendar.from_ical(response.data)["METHOD"] == "PUBLISH"
    assert client.get(f"/api/v1/events/{created['id']}/invite.ics").status_code == 401
    from eventhub.services.organizers import create_organizer

    _, other = create_organizer("other@example.com", "another password")
    other_headers = {"Authorization": f"Bearer {other}"}
    assert client.get(f"/api/v1/events/{created['id']}/invite.ics", headers=other_headers).status_code == 404
    assert client.get(f"/api/v1/events/{created['id']}", headers=other_headers).status_code == 404


@pytest.mark.parametrize(("changes", "field"), [
    ({"attendees": [{"email": "not-an-email"}]}, "attendees[0].email"),
    ({"attendees": [{"email": "a@example.com"}, {"email": "b@@example.com"}]}, "attendees[1].email"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"groups": [{"name": "X", "timezone": "Nowhere/Land"}]}, "groups[0].timezone"),
    ({"start": "2020-01-01T00:00:00Z"}, "start"),
    ({"start": "2030-03-05T14:00:00"}, "start"),
    ({"title": "   "}, "title"),
    ({"title": 42}, "title"),
    ({"duration_minutes": 0}, "duration_minutes"),
    ({"attendees": [{"email": f"p{n}@example.com"} for n in range(10_001)]}, "attendees"),
    ({"occurrences": ["2030-03-05T14:00:00Z", "bad"], "start": None}, "occurrences[1]"),
    ({"every": "fortnight", "occurrences": ["2030-03-05T14:00:00Z", "2030-03-12T14:00:00Z"]}, "every"),
    ({"moderation": "yes"}, "moderation"),
])
def test_bad_input_is_422_naming_the_field_and_stores_nothing(client, auth_headers, changes, field):
    response = client.post("/api/v1/events", json=_event(**changes), headers=auth_headers)
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field
    assert client.get("/api/v1/events", headers=auth_headers).json == {"events": []}


def test_ten_thousand_attendees_are_accepted(rq_settings, client, auth_headers, app):
    """(The invites stay queued: no worker runs in this test.)"""
    created = client.post("/api/v1/events", headers=auth_headers, json=_event(
        attendees=[{"email": f"p{n}@example.com"} for n in range(10_000)]))
    assert created.status_code == 201 and created.json["attendees"] == 10_000


def test_an_attendee_removed_and_invited_again_gets_an_invitation_that_outranks_the_cancellation(
        client, auth_headers, mail):
    created = _create(client, auth_headers)
    ana = {"email": "ana@example.com", "name": "Ana", "group": "Manila"}
    bob = {"email": "bob@example.com", "name": "Bob", "group": "New York"}
    client.patch(f"/api/v1/events/{created['id']}", json={"attendees": [ana]}, headers=auth_headers)
    jobs.wait_local()
    cancel = _calendar(_by_recipient(mail)["bob@example.com"])[1]
    mail.messages.clear()
    client.patch(f"/api/v1/events/{created['id']}", json={"attendees": [ana, bob]}, headers=auth_headers)
    jobs.wait_local()
    assert set(_by_recipient(mail)) == {"bob@example.com"}
    again = _calendar(_by_recipient(mail)["bob@example.com"])[1]
    assert again["METHOD"] == "REQUEST"
    assert int(again.walk("VEVENT")[0]["SEQUENCE"]) > int(cancel.walk("VEVENT")[0]["SEQUENCE"])
    assert client.get(f"/api/v1/events/{created['id']}", headers=auth_headers).json["invites"] == {
        "sent": 2, "failed": 0, "pending": 0}
    mail.messages.clear()
    client.patch(f"/api/v1/events/{created['id']}", json={"title": "Renamed"}, headers=auth_headers)
    jobs.wait_local()
    assert set(_by_recipient(mail)) == {"ana@example.com", "bob@example.com"}  # Bob keeps getting updates


def test_a_title_with_a_line_break_is_refused(client, auth_headers):
    response = client.post("/api/v1/events", json=_event(title="Q1\r\nBcc: x@example.com"), headers=auth_headers)
    assert response.status_code == 422 and response.json["error"]["field"] == "title"


def test_a_cancellation_that_lands_after_a_re_invitation_is_outranked_by_the_next_run(client, auth_headers, mail):
    """The race: Bob's cancellation was in flight while the organizer invited him again."""
    from eventhub.models import Delivery
    from eventhub.services.invites import deliver_invites

    created = _create(client, auth_headers)
    bob = db.session.scalars(select(Attendee).where(Attendee.email == "bob@example.com")).one()
    db.session.add(Delivery(event_id=created["id"], attendee_id=bob.id, kind="cancel", sequence=1, status="sent"))
    db.session.commit()
    mail.messages.clear()
    deliver_invites(created["id"])
    again = _by_recipient(mail)
    assert set(again) == {"bob@example.com"}
    assert int(_calendar(again["bob@example.com"])[1].walk("VEVENT")[0]["SEQUENCE"]) == 2
