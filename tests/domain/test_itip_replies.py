"""Reading attendees' answers out of email, as Gmail, Outlook and Apple Mail send them (no app, no server)."""

import random
import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

from eventhub.domain.itip_replies import MailAnswers, Unreadable, message_key, read_answers
from tests.answer_mail import apple_reply, gmail_reply, outlook_answer, refresh_request

UID = "0123456789abcdef0123456789abcdef@eventhub.test"
ORGANIZER = "townhall@eventhub.test"
START = datetime(2030, 3, 5, 14, 0, tzinfo=UTC)
END = START + timedelta(hours=1)


def test_a_gmail_reply_gives_one_answer_though_the_calendar_comes_twice():
    reading = read_answers(gmail_reply(uid=UID, attendee="ana@example.com", name="Ana", partstat="ACCEPTED",
                                       sequence=2, organizer=ORGANIZER, start=START, end=END))
    assert isinstance(reading, MailAnswers)
    assert reading.sender == "ana@example.com"
    [answer] = reading.answers
    assert (answer.method, answer.uid, answer.sequence, answer.attendee, answer.response) == (
        "REPLY", UID, 2, "ana@example.com", "accepted")
    assert answer.recurrence_id is None


def test_an_outlook_reply_without_organizer_in_base64_with_a_windows_zone_is_read():
    reading = read_answers(outlook_answer(uid=UID, attendee="Bob@Example.com", name="Bob", sequence=0,
                                          organizer=ORGANIZER, start=START, end=END, partstat="DECLINED"))
    [answer] = reading.answers
    assert reading.sender == "bob@example.com"
    assert (answer.attendee, answer.response) == ("bob@example.com", "declined")


def test_an_outlook_counter_carries_the_proposed_time_in_utc():
    proposed = START + timedelta(days=1, hours=2)
    reading = read_answers(outlook_answer(uid=UID, attendee="bob@example.com", name="Bob", sequence=0,
                                          organizer=ORGANIZER, start=proposed, end=proposed + timedelta(minutes=45),
                                          method="COUNTER", partstat="TENTATIVE"))
    [answer] = reading.answers
    assert answer.method == "COUNTER"
    assert answer.proposed_start == proposed and answer.proposed_end == proposed + timedelta(minutes=45)
    assert answer.proposed_start.tzinfo is UTC


def test_an_apple_mail_reply_in_quoted_printable_with_a_zone_is_read():
    reading = read_answers(apple_reply(uid=UID, attendee="cy@example.com", name="Cy", partstat="TENTATIVE",
                                       sequence=1, organizer=ORGANIZER, start=START, end=END))
    [answer] = reading.answers
    assert (answer.attendee, answer.response, answer.sequence) == ("cy@example.com", "tentative", 1)


def test_a_reply_for_one_occurrence_names_it_in_utc():
    second = START + timedelta(weeks=1)
    reading = read_answers(gmail_reply(uid=UID, attendee="ana@example.com", name="Ana", partstat="DECLINED",
                                       sequence=0, organizer=ORGANIZER, start=second, end=second + timedelta(hours=1),
                                       recurrence_id=second))
    assert reading.answers[0].recurrence_id == second


def test_a_refresh_asks_without_a_response():
    [answer] = read_answers(refresh_request(uid=UID, attendee="ana@example.com", organizer=ORGANIZER)).answers
    assert (answer.method, answer.response, answer.sequence) == ("REFRESH", None, 0)


def test_mail_without_a_calendar_or_with_an_invitation_is_no_answer():
    plain = b"From: news@example.com\r\nMessage-ID: <n@x>\r\nSubject: News\r\n\r\nHello\r\n"
    assert read_answers(plain) == Unreadable("<n@x>", "holds no calendar", not_an_answer=True)
    invitation = refresh_request(uid=UID, attendee="ana@example.com", organizer=ORGANIZER).replace(
        b"METHOD:REFRESH", b"METHOD:REQUEST")
    reading = read_answers(invitation)
    assert isinstance(reading, Unreadable) and reading.not_an_answer


def test_a_time_in_a_zone_the_calendar_does_not_define_is_refused_not_guessed():
    counter = outlook_answer(uid=UID, attendee="bob@example.com", name="Bob", sequence=0, organizer=ORGANIZER,
                             start=START, end=END, method="COUNTER")
    calendar = next(part for part in message_from_bytes(counter, policy=policy.default).walk()
                    if part.get_content_type() == "text/calendar").get_payload(decode=True)
    calendar = re.sub(rb"BEGIN:VTIMEZONE.*?END:VTIMEZONE\r\n", b"", calendar, flags=re.S)
    calendar = calendar.replace(b"TZID=Eastern Standard Time", b"TZID=Somewhere Special")
    single = (b"From: bob@example.com\r\nMessage-ID: <c@x>\r\nContent-Type: text/calendar; method=COUNTER\r\n\r\n"
              + calendar)
    reading = read_answers(single)
    assert isinstance(reading, Unreadable) and not reading.not_an_answer
    assert "time zone" in reading.reason


def test_any_bytes_at_all_give_a_reading_and_never_raise():
    rng = random.Random(13)
    good = gmail_reply(uid=UID, attendee="ana@example.com", name="Ana", partstat="ACCEPTED", sequence=0,
                       organizer=ORGANIZER, start=START, end=END)
    samples = [b"", b"\x00\xff" * 50, b"Content-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n"]
    for _ in range(200):
        cut = bytearray(good)
        for _ in range(rng.randint(1, 20)):
            cut[rng.randrange(len(cut))] = rng.randrange(256)
        samples.append(bytes(cut[: rng.randrange(len(cut))]))
    for raw in samples:
        assert isinstance(read_answers(raw), MailAnswers | Unreadable)


def test_mail_without_a_message_id_is_known_by_a_digest_of_its_bytes():
    assert message_key(b"Subject: x\r\n\r\nbody").startswith("sha256:")
    assert message_key(b"Message-ID:\r\n <a@b>\r\n\r\n") == "<a@b>"
