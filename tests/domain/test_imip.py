"""Invitation emails: the MIME shape mail programs need, the calendar bytes intact, sender = organizer."""

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from eventhub.domain.calendar import CalendarAttendee, CalendarEvent, build_calendar
from eventhub.domain.imip import build_imip_message, readdress

DTSTAMP = datetime(2027, 1, 15, 12, tzinfo=UTC)
ANA = CalendarAttendee("ana@example.com", "Ana Reyes")
BO = CalendarAttendee("bo@example.com", "Bo")
EVENT = CalendarEvent(
    uid="townhall-42@eventhub.test", sequence=0, title="Q1 Town Hall — 全体会議", description="Ask at the link",
    organizer_email="ceo@example.com", organizer_name="Chief Executive", timezone="America/New_York",
    occurrences=(datetime(2027, 3, 2, 15, tzinfo=UTC),), duration_minutes=60, every=None,
)


def invite(method="REQUEST", attendees=(ANA,), **changes):
    ics = build_calendar(EVENT, method, attendees, DTSTAMP)
    arguments = dict(subject="Invitation: Q1 Town Hall — 全体会議", sender="ceo@example.com",
                     sender_name="Chief Executive", recipient="ana@example.com", recipient_name="Ana Reyes",
                     text="Hello Ana, ask at https://eventhub.test/ask/t0k3n — ünïcødé", html="<p>Hello Ana</p>",
                     ics=ics, method=method, message_id_domain="eventhub.test")
    arguments.update(changes)
    return build_imip_message(**arguments), ics


def reparsed(message):
    """The message as a receiving mail program sees it after transport."""
    return message_from_bytes(message.as_bytes(), policy=policy.default)


def test_the_message_is_mixed_with_an_alternative_text_html_calendar_and_an_ics_attachment():
    message, ics = invite()
    received = reparsed(message)
    assert received.get_content_type() == "multipart/mixed"
    alternative, attachment = received.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    plain, html, calendar = alternative.get_payload()
    assert (plain.get_content_type(), plain.get_content_charset()) == ("text/plain", "utf-8")
    assert (html.get_content_type(), html.get_content_charset()) == ("text/html", "utf-8")
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_param("method") == "REQUEST" and calendar.get_param("charset") == "UTF-8"
    assert calendar.get_content_disposition() is None and calendar.get_filename() is None  # inline, for Gmail
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "invite.ics" and attachment.get_param("name") == "invite.ics"
    assert calendar.get_payload(decode=True) == ics == attachment.get_payload(decode=True)
    assert "ünïcødé" in plain.get_content() and "t0k3n" in plain.get_content()


def test_the_headers_name_the_organizer_as_sender_and_the_attendee_as_recipient():
    message, _ = invite(date=datetime(2027, 1, 15, 12, tzinfo=UTC))
    received = reparsed(message)
    assert received["From"].addresses[0].addr_spec == "ceo@example.com"
    assert received["From"].addresses[0].display_name == "Chief Executive"
    assert received["To"].addresses[0].addr_spec == "ana@example.com"
    assert received["Subject"] == "Invitation: Q1 Town Hall — 全体会議"
    assert received["Message-ID"].endswith("@eventhub.test>")
    assert received["Date"].datetime == datetime(2027, 1, 15, 12, tzinfo=UTC)
    assert invite()[0]["Message-ID"] != invite()[0]["Message-ID"]


def test_the_wire_form_is_ascii_with_crlf_line_ends():
    wire = invite()[0].as_bytes()
    wire.decode("ascii")
    assert b"\n" not in wire.replace(b"\r\n", b"")


def test_a_cancellation_carries_method_cancel_on_the_calendar_part():
    message, _ = invite(method="CANCEL")
    calendar = next(part for part in reparsed(message).walk() if part.get_content_type() == "text/calendar")
    assert calendar.get_param("method") == "CANCEL"
    assert b"STATUS:CANCELLED" in calendar.get_payload(decode=True)


def test_a_sender_or_method_that_disagrees_with_the_calendar_is_refused():
    with pytest.raises(ValueError, match="ORGANIZER"):
        invite(sender="someone@example.com")
    cancel_ics = build_calendar(EVENT, "CANCEL", (ANA,), DTSTAMP)
    with pytest.raises(ValueError, match="METHOD"):
        invite(method="REQUEST", ics=cancel_ics)


def test_header_values_cannot_smuggle_line_breaks():
    message, _ = invite(subject="Hi\r\nBcc: victim@example.com", recipient_name="Ana\nX")
    received = reparsed(message)
    assert received["Bcc"] is None
    assert received["To"].addresses[0].display_name == "Ana X"


def test_readdressing_changes_only_recipient_and_message_id():
    original, ics = invite(attendees=(ANA, BO))
    copy = readdress(original, "bo@example.com", "Bo")
    assert copy["To"].addresses[0].addr_spec == "bo@example.com"
    assert copy["Message-ID"] != original["Message-ID"] and copy["Message-ID"].endswith("@eventhub.test>")
    assert copy["From"] == original["From"] and copy["Subject"] == original["Subject"]
    assert original["To"].addresses[0].addr_spec == "ana@example.com"  # the original is untouched
    received = reparsed(copy)
    assert [part.get_content_type() for part in received.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/calendar", "application/ics"]
    assert received.get_payload()[1].get_payload(decode=True) == ics


def test_a_request_is_not_readdressed_to_someone_the_calendar_does_not_invite():
    original, _ = invite(attendees=(ANA,))
    with pytest.raises(ValueError, match="attendee"):
        readdress(original, "bo@example.com", "Bo")


def _normalized(raw: bytes) -> tuple[list[bytes], bytes]:
    """The headers as a sorted list and the body, with the MIME boundaries and the Message-ID blanked."""
    import re

    raw = re.sub(rb"={15}\d+==", b"BOUNDARY", raw)
    raw = re.sub(rb"<[0-9a-f]{32}@eventhub.test>", b"<ID>", raw)
    head, _, body = raw.partition(b"\r\n\r\n")
    return sorted(re.split(rb"\r\n(?![ \t])", head)), body


@pytest.mark.parametrize(("name", "address", "text"), [
    ("Ana Reyes", "ana@example.com", "Hello Ana,\n\nTrailing space \nü—…Å " + "x" * 200 + "\n"),
    ("", "bo@example.com", "a\r\nb"),
    ('Zoë "Z" Ångström, Jr.', "zoe@example.com", ""),
    ("A" * 90, "long@example.com", "=3D and = signs\tand tabs\t\n"),
])
def test_a_copy_of_the_message_serialized_once_has_the_bytes_of_the_message_built_for_that_recipient(
        name, address, text):
    """Apart from the boundary and the order of the headers, a copy is what send_message sends."""
    import io
    from email.generator import BytesGenerator

    from eventhub.domain.imip import ImipForMany

    ics = build_calendar(EVENT, "REQUEST", (CalendarAttendee(address, name or address),), DTSTAMP) + \
        "DESCRIPTION:long ünïcødé text ".encode() * 40
    date = datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)
    common = dict(subject="Invitation: Q1 Town Hall — 全体会議", sender="ceo@example.com",
                  sender_name="Chief Executive", method="REQUEST", message_id_domain="eventhub.test")
    whole = build_imip_message(**common, recipient=address, recipient_name=name, text=text, html=f"<p>{text}</p>",
                               ics=ics, date=date)
    sent = io.BytesIO()
    BytesGenerator(sent).flatten(whole, linesep="\r\n")  # as smtplib.send_message serializes it
    shared = ImipForMany(**common, sample_ics=ics)
    copy = shared.copy(recipient=address, recipient_name=name, text=text, html=f"<p>{text}</p>", ics=ics, date=date)
    assert _normalized(copy) == _normalized(sent.getvalue())
    received = message_from_bytes(copy, policy=policy.default)
    assert received["To"].addresses[0].addr_spec == address
    assert [part.get_payload(decode=True) for part in received.walk() if "calendar" in part.get_content_type()
            or part.get_content_type() == "application/ics"] == [ics, ics]


def test_a_message_for_many_refuses_a_calendar_of_another_organizer():
    from eventhub.domain.imip import ImipForMany

    with pytest.raises(ValueError):
        ImipForMany(subject="s", sender="someone@example.com", sender_name="S", method="REQUEST",
                    message_id_domain="eventhub.test", sample_ics=build_calendar(EVENT, "REQUEST", (ANA,), DTSTAMP))
