"""Attendees' answers read from the organizer's mailbox on a real IMAP server (Dovecot on loopback), put
there with IMAP APPEND as Gmail, Outlook and Apple Mail send them; invitations and the answers to
REFRESH go through a real SMTP server and are parsed from it."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import DateTime

from eventhub.extensions import db, jobs
from eventhub.gateways.imap import HANDLED_KEYWORD, MailboxError
from eventhub.models import HandledMail
from eventhub.services import rsvp
from tests.answer_mail import apple_reply, gmail_reply, outlook_answer, refresh_request
from tests.factories import create_town_hall

ORGANIZER = "townhall@eventhub.test"
START = datetime(2030, 3, 5, 14, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
HANDLED = HANDLED_KEYWORD.decode()
BODY = {
    "title": "Q1 Town Hall", "start": "2030-03-05T14:00:00Z", "timezone": "America/New_York",
    "groups": [{"name": "Manila", "timezone": "Asia/Manila"}, {"name": "New York", "timezone": "America/New_York"}],
    "attendees": [{"email": "ana@example.com", "name": "Ana", "group": "Manila"},
                  {"email": "bob@example.com", "name": "Bob", "group": "New York"},
                  {"email": "cy@example.com", "name": "Cy", "group": "New York"}],
}


def _create(client, auth_headers, mail, body=BODY) -> tuple[dict, str]:
    """The town hall, and the UID its emailed invitations carry."""
    event = create_town_hall(client, auth_headers, sent=True, **body)
    invite = mail.messages[-1]["message"]
    calendar = next(p for p in invite.walk() if p.get_content_type() == "text/calendar")
    return event, str(Calendar.from_ical(calendar.get_payload(decode=True)).walk("VEVENT")[0]["UID"])


def _answers(client, auth_headers, event_id) -> dict[str, dict]:
    rows = client.get(f"/api/v1/events/{event_id}/attendees", headers=auth_headers).json["attendees"]
    return {row["email"]: row for row in rows}


def _responses(client, auth_headers, event_id) -> dict:
    return client.get(f"/api/v1/events/{event_id}", headers=auth_headers).json["responses"]


def test_gmail_outlook_and_apple_replies_are_applied_once_and_flagged(client, auth_headers, mail, imap):
    event, uid = _create(client, auth_headers, mail)
    imap.append(gmail_reply(uid=uid, attendee="ana@example.com", name="Ana", partstat="ACCEPTED", sequence=0,
                            organizer=ORGANIZER, start=START, end=END))
    imap.append(outlook_answer(uid=uid, attendee="bob@example.com", name="Bob", sequence=0, organizer=ORGANIZER,
                               start=START, end=END, partstat="DECLINED"))
    imap.append(apple_reply(uid=uid, attendee="cy@example.com", name="Cy", partstat="TENTATIVE", sequence=0,
                            organizer=ORGANIZER, start=START, end=END))

    assert rsvp.poll_mailbox() == {"applied": 3, "refused": 0, "outdated": 0, "ignored": 0}

    rows = _answers(client, auth_headers, event["id"])
    assert {email: row["response"] for email, row in rows.items()} == {
        "ana@example.com": "accepted", "bob@example.com": "declined", "cy@example.com": "tentative"}
    assert list(rows["ana@example.com"])[:7] == ["email", "name", "group", "response", "proposed_start",
                                                 "proposed_end", "invite"]
    assert _responses(client, auth_headers, event["id"]) == {"accepted": 1, "declined": 1, "tentative": 1,
                                                             "needs_action": 0}
    assert all(HANDLED in flags and "\\Seen" not in flags for flags in imap.flags())
    assert rsvp.poll_mailbox() == {"applied": 0, "refused": 0, "outdated": 0, "ignored": 0}


def test_a_message_id_seen_before_is_never_applied_again(client, auth_headers, mail, imap):
    event, uid = _create(client, auth_headers, mail)
    first = gmail_reply(uid=uid, attendee="ana@example.com", name="Ana", partstat="ACCEPTED", sequence=0,
                        organizer=ORGANIZER, start=START, end=END, message_id="<same@mail.example>")
    imap.append(first)
    rsvp.poll_mailbox()
    # The same message again (copied back into the inbox, or delivered twice), whatever it now says.
    imap.append(first.replace(b"PARTSTAT=ACCEPTED", b"PARTSTAT=DECLINED"))
    assert rsvp.poll_mailbox()["applied"] == 0
    assert _answers(client, auth_headers, event["id"])["ana@example.com"]["response"] == "accepted"
    assert [HANDLED in flags for flags in imap.flags()] == [True, True]
    assert db.session.query(HandledMail).count() == 1


def test_an_answer_sent_from_another_address_is_refused(client, auth_headers, mail, imap):
    event, uid = _create(client, auth_headers, mail)
    imap.append(gmail_reply(uid=uid, attendee="ana@example.com", name="Ana", partstat="DECLINED", sequence=0,
                            organizer=ORGANIZER, start=START, end=END, sender="mallory@evil.example"))
    assert rsvp.poll_mailbox()["refused"] == 1
    assert _answers(client, auth_headers, event["id"])["ana@example.com"]["response"] == "needs-action"
    assert HANDLED in imap.flags()[0]


def test_a_late_reply_to_an_outdated_sequence_does_not_count_for_the_new_time(client, auth_headers, mail, imap):
    event, uid = _create(client, auth_headers, mail)
    imap.append(gmail_reply(uid=uid, attendee="ana@example.com", name="Ana", partstat="ACCEPTED", sequence=0,
                            organizer=ORGANIZER, start=START, end=END))
    rsvp.poll_mailbox()
    client.patch(f"/api/v1/events/{event['id']}", json={"start": "2030-03-06T14:00:00Z"}, headers=auth_headers)
    jobs.wait_local()
    assert _answers(client, auth_headers, event["id"])["ana@example.com"]["response"] == "needs-action"

    late = START + timedelta(days=1)
    imap.append(outlook_answer(uid=uid, attendee="bob@example.com", name="Bob", sequence=0, organizer=ORGANIZER,
                               start=START, end=END, partstat="ACCEPTED"))
    imap.append(gmail_reply(uid=uid, attendee="ana@example.com", name="Ana", partstat="DECLINED", sequence=1,
                            organizer=ORGANIZER, start=late, end=late + timedelta(hours=1)))
    assert rsvp.poll_mailbox() == {"applied": 1, "refused": 0, "outdated": 1, "ignored": 0}
    rows = _answers(client, auth_headers, event["id"])
    assert rows["bob@example.com"]["response"] == "needs-action"
    assert rows["ana@example.com"]["response"] == "declined"


def test_a_series_is_answered_per_occurrence(client, auth_headers, mail, imap):
    starts = [START + timedelta(weeks=n) for n in range(3)]
    body = {**BODY, "occurrences": [s.strftime("%Y-%m-%dT%H:%M:%SZ") for s in starts], "every": "week"}
    del body["start"]
    event, uid = _create(client, auth_headers, mail, body)
    imap.append(gmail_reply(uid=uid, attendee="ana@example.com", name="Ana", partstat="ACCEPTED", sequence=0,
                            organizer=ORGANIZER, start=START, end=END))
    imap.append(gmail_reply(uid=uid, attendee="ana@example.com", name="Ana", partstat="DECLINED", sequence=0,
                            organizer=ORGANIZER, start=starts[1], end=starts[1] + timedelta(hours=1),
                            recurrence_id=starts[1]))
    # An occurrence the series does not have.
    imap.append(gmail_reply(uid=uid, attendee="ana@example.com", name="Ana", partstat="DECLINED", sequence=0,
                            organizer=ORGANIZER, start=START, end=END, recurrence_id=START + timedelta(days=2)))
    assert rsvp.poll_mailbox() == {"applied": 2, "refused": 1, "outdated": 0, "ignored": 0}
    ana = _answers(client, auth_headers, event["id"])["ana@example.com"]
    assert ana["response"] == "accepted"
    assert ana["occurrences"] == [{"occurrence": "2030-03-12T14:00:00Z", "response": "declined"}]


def test_a_counter_is_recorded_as_a_proposed_time(client, auth_headers, mail, imap):
    event, uid = _create(client, auth_headers, mail)
    proposed = START + timedelta(days=1, hours=1)
    imap.append(outlook_answer(uid=uid, attendee="bob@example.com", name="Bob", sequence=0, organizer=ORGANIZER,
                               start=proposed, end=proposed + timedelta(hours=1), method="COUNTER",
                               partstat="TENTATIVE"))
    assert rsvp.poll_mailbox()["applied"] == 1
    bob = _answers(client, auth_headers, event["id"])["bob@example.com"]
    assert (bob["response"], bob["proposed_start"], bob["proposed_end"]) == (
        "tentative", "2030-03-06T15:00:00Z", "2030-03-06T16:00:00Z")


def test_a_refresh_is_answered_with_the_current_request_to_that_attendee(client, auth_headers, mail, imap):
    event, uid = _create(client, auth_headers, mail)
    client.patch(f"/api/v1/events/{event['id']}", json={"title": "Q1 Town Hall (moved)"}, headers=auth_headers)
    jobs.wait_local()
    sent_before = len(mail.messages)
    imap.append(refresh_request(uid=uid, attendee="cy@example.com", organizer=ORGANIZER))
    assert rsvp.poll_mailbox()["applied"] == 1

    [answer] = mail.messages[sent_before:]
    assert answer["to"] == ["cy@example.com"]
    part = next(p for p in answer["message"].walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "REQUEST"
    calendar = Calendar.from_ical(part.get_payload(decode=True))
    vevent = calendar.walk("VEVENT")[0]
    assert (str(calendar["METHOD"]), str(vevent["UID"]), int(vevent["SEQUENCE"])) == ("REQUEST", uid, 1)
    assert str(vevent["SUMMARY"]) == "Q1 Town Hall (moved)"
    assert str(vevent["ATTENDEE"]) == "mailto:cy@example.com"  # one attendee: cy alone


def test_garbage_and_mail_that_is_no_answer_are_left_alone_and_never_stop_the_rest(client, auth_headers, mail,
                                                                                   imap, caplog):
    caplog.set_level(logging.INFO, logger="eventhub.services.rsvp")
    event, uid = _create(client, auth_headers, mail)
    imap.append(b"\x00\xff\xfe garbage without headers \xff" * 20)
    imap.append(b"From: news@example.com\r\nMessage-ID: <news@example.com>\r\nSubject: Newsletter\r\n\r\nHi\r\n")
    broken = gmail_reply(uid=uid, attendee="ana@example.com", name="Ana", partstat="ACCEPTED", sequence=0,
                         organizer=ORGANIZER, start=START, end=END)
    imap.append(broken.replace(b"SEQUENCE:0", b"SEQUENCE:zero").replace(b"Content-Transfer-Encoding: base64\r\n\r\n"
                                                                        b"QU5B", b"x"))
    imap.append(b"From: ana@example.com\r\nMessage-ID: <cal@x>\r\nContent-Type: text/calendar; method=REPLY\r\n\r\n"
                b"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:" + uid.encode() + b"\r\nDTSTART:nonsense\r\n")
    imap.append(outlook_answer(uid="someone-elses-event@calendar.example", attendee="bob@example.com", name="Bob",
                               sequence=0, organizer=ORGANIZER, start=START, end=END))
    imap.append(apple_reply(uid=uid, attendee="cy@example.com", name="Cy", partstat="ACCEPTED", sequence=0,
                            organizer=ORGANIZER, start=START, end=END))

    tally = rsvp.poll_mailbox()
    assert tally["applied"] == 1 and tally["ignored"] == 5
    assert _answers(client, auth_headers, event["id"])["cy@example.com"]["response"] == "accepted"
    assert [HANDLED in flags for flags in imap.flags()] == [False] * 5 + [True]
    assert "left alone" in caplog.text
    # Left alone, they are not read again on the next poll.
    assert rsvp.poll_mailbox() == {"applied": 0, "refused": 0, "outdated": 0, "ignored": 0}


def test_a_refused_sign_in_or_an_unreachable_mailbox_raises_for_the_next_poll(app, imap):
    app.config.update(IMAP_PASSWORD="wrong")
    with pytest.raises(MailboxError, match="IMAP"):
        rsvp.poll_mailbox()
    imap.stop()
    with pytest.raises(MailboxError):
        rsvp.poll_mailbox()


def test_answers_keep_no_time_and_nothing_ties_them_to_questions_or_votes(app):
    """RSVPs are not anonymous; what is kept of them can still not be lined up with questions or votes."""
    from eventhub.models import AttendeeResponse, HandledMail, Question, UTCDateTime, Vote

    times = {column.name for column in [*AttendeeResponse.__table__.columns, *HandledMail.__table__.columns]
             if isinstance(column.type, UTCDateTime | DateTime)}
    assert times == {"proposed_start", "proposed_end"}  # times the attendee proposed, never when they answered
    for table in (Question.__table__, Vote.__table__):
        assert not [key for key in table.foreign_keys if key.column.table.name == "attendee_responses"]
    assert not [key for key in AttendeeResponse.__table__.foreign_keys
                if key.column.table.name in ("questions", "votes", "question_keys")]
