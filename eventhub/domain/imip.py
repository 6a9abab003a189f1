"""Invitation emails (iMIP, RFC 6047) built with the standard `email` package.

`build_imip_message` promises this shape, which Gmail, Outlook and Apple Mail all turn into an invitation
with reply buttons:

    multipart/mixed
      multipart/alternative
        text/plain; charset=utf-8
        text/html; charset=utf-8
        text/calendar; method=REQUEST; charset=UTF-8      inline, no file name (Gmail's RSVP buttons need it)
      application/ics; name=invite.ics                    the same bytes as a file, for "open with"

The calendar parts are base64, so the file's CRLF line ends and UTF-8 arrive byte for byte. The sender
must be the calendar's ORGANIZER and `method` its METHOD (RFC 6047 section 3): both are checked.
"""

from __future__ import annotations

import binascii
import re
import uuid
from datetime import datetime
from email import policy, quoprimime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from eventhub.domain.messages import message_id, new_message, one_line

ATTACHMENT_NAME = "invite.ics"
# A name and an address that a To header holds as they are (no quoting, no encoding); anything else goes
# through the email package's header parser, which costs more than the rest of a copy.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9]+(?: [A-Za-z0-9]+)*")
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


def build_imip_message(*, subject: str, sender: str, sender_name: str, recipient: str, recipient_name: str,
                       text: str, html: str, ics: bytes, method: str, message_id_domain: str,
                       date: datetime | None = None) -> EmailMessage:
    """The invitation email for one recipient (see the module docstring for its parts).

    `ics` is a calendar from `calendar.build_calendar` with METHOD `method` and ORGANIZER `sender`.
    The Message-ID is random under `message_id_domain`; `date` (aware), when given, is the Date header,
    else the sending gateway or the first mail server adds one.
    """
    _check_calendar(ics, method, sender)
    message = new_message(subject=subject, sender=sender, sender_name=sender_name, recipient=recipient,
                          recipient_name=recipient_name, text=text, html=html, message_id_domain=message_id_domain,
                          date=date)
    _add_calendar(message, ics, method)
    return message


def _add_calendar(message: EmailMessage, ics: bytes, method: str) -> None:
    """The calendar, as the alternative calendars read and as an attachment for the others."""
    message.add_alternative(ics, maintype="text", subtype="calendar",
                            params={"method": method.upper(), "charset": "UTF-8"})
    message.add_attachment(ics, maintype="application", subtype="ics", filename=ATTACHMENT_NAME,
                           params={"name": ATTACHMENT_NAME})


class ImipForMany:
    """One invitation email for many recipients, serialized once.

    Each copy differs from the others in its To, Message-ID and Date and in its text, HTML and calendar
    (which carry the recipient's own name, link and ATTENDEE line); `copy` gives its bytes as
    `smtplib.send_message` would send the message `build_imip_message` makes for that recipient (CRLF
    line ends), but for the MIME boundary, shared by every copy, and the order of the headers.
    Every copy's calendar must have the METHOD and ORGANIZER of `sample_ics`, which is checked here.
    """

    _MARK = "eventhub-copy-" + uuid.uuid4().hex  # stands for each part's body in the shared serialization

    def __init__(self, *, subject: str, sender: str, sender_name: str, method: str, message_id_domain: str,
                 sample_ics: bytes):
        _check_calendar(sample_ics, method, sender)
        self.message_id_domain = one_line(message_id_domain)
        marks = [f"{self._MARK}-{name}" for name in ("text", "html", "ics")]
        shape = new_message(subject=subject, sender=sender, sender_name=sender_name, text=marks[0], html=marks[1])
        _add_calendar(shape, marks[2].encode(), method)
        serialized = shape.as_bytes(policy=shape.policy.clone(linesep="\r\n"))
        # Each part's encoded body is its mark and a line end; the calendar's is the same in both its parts.
        bodies = [mark.encode() + b"\r\n" for mark in marks[:2]]
        bodies.append(binascii.b2a_base64(marks[2].encode()).replace(b"\n", b"\r\n"))
        self.pieces = _split_at(serialized, [bodies[0], bodies[1], bodies[2], bodies[2]])
        self.policy = shape.policy

    def copy(self, *, recipient: str, recipient_name: str, text: str, html: str, ics: bytes,
             date: datetime) -> bytes:
        """The bytes of the copy for `recipient`, with a Message-ID of its own."""
        if date.tzinfo is None:
            raise ValueError("date must be an aware datetime")
        head = self._to(recipient, one_line(recipient_name))
        head += f"Message-ID: {message_id(self.message_id_domain)}\r\nDate: {format_datetime(date)}\r\n".encode()
        calendar = _base64_body(ics)
        first, after_text, after_html, after_calendar, rest = self.pieces
        return b"".join((head, first, _quoted_printable_body(text), after_text, _quoted_printable_body(html),
                         after_html, calendar, after_calendar, calendar, rest))

    def _to(self, recipient: str, name: str) -> bytes:
        if _PLAIN_ADDRESS.fullmatch(recipient) and (not name or _PLAIN_NAME.fullmatch(name)):
            line = f"To: {name} <{recipient}>\r\n" if name else f"To: {recipient}\r\n"
            if len(line) <= self.policy.max_line_length:
                return line.encode("ascii")
        return self.policy.fold_binary(*self.policy.header_store_parse("To", Address(name, addr_spec=recipient)))


def _split_at(serialized: bytes, bodies: list[bytes]) -> list[bytes]:
    pieces, rest = [], serialized
    for body in bodies:
        before, found, rest = rest.partition(body)
        if not found:
            raise ValueError("a part's body is not where the shared serialization should hold it")
        pieces.append(before)
    return [*pieces, rest]


def _quoted_printable_body(text: str) -> bytes:
    """`text` as `set_content(..., charset="utf-8", cte="quoted-printable")` encodes it, with CRLF line ends."""
    lines = text.encode("utf-8").splitlines()
    encoded = quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), policy.SMTP.max_line_length)
    return encoded.replace("\n", "\r\n").encode("ascii")


def _base64_body(data: bytes) -> bytes:
    """`data` as the email package encodes a bytes part: base64 in lines of at most 78 characters, CRLF."""
    step = policy.SMTP.max_line_length // 4 * 3
    return b"".join(binascii.b2a_base64(data[start:start + step]) for start in range(0, len(data), step)) \
        .replace(b"\n", b"\r\n")


def readdress(message: EmailMessage, recipient: str, recipient_name: str) -> EmailMessage:
    """The same message for another recipient, sharing its (already encoded) parts; only To and
    Message-ID change. For messages with nothing personal in them (a cancellation, a calendar that
    lists every attendee): a REQUEST whose calendar does not list `recipient` as ATTENDEE is refused,
    since a calendar program would not let that person reply."""
    calendar = _calendar_part(message)
    if calendar.get_param("method", "").upper() == "REQUEST" and not _lists_attendee(
            calendar.get_payload(decode=True), recipient):
        raise ValueError(f"the calendar does not list {recipient} as an attendee")
    copy = EmailMessage(policy=message.policy)
    for name, value in message.raw_items():
        if name.lower() not in ("to", "message-id"):
            copy.set_raw(name, value)
    copy["To"] = Address(one_line(recipient_name), addr_spec=recipient)
    copy["Message-ID"] = message_id(message["Message-ID"].split("@", 1)[1].rstrip(">"))
    copy.set_payload(message.get_payload())
    return copy


def _check_calendar(ics: bytes, method: str, sender: str) -> None:
    lines = _unfold(ics).splitlines()
    methods = [line.split(":", 1)[1] for line in lines if line.upper().startswith("METHOD:")]
    if methods != [method.upper()]:
        raise ValueError(f"the calendar's METHOD is {methods}, the message says {method!r}")
    organizers = {line.rsplit(":", 1)[1].lower() for line in lines if line.upper().startswith("ORGANIZER")}
    if organizers != {sender.lower()}:
        raise ValueError(f"the sender {sender} must be the calendar's ORGANIZER ({sorted(organizers)})")


def _lists_attendee(ics: bytes, email: str) -> bool:
    return any(line.upper().startswith("ATTENDEE") and line.rsplit(":", 1)[1].lower() == email.lower()
               for line in _unfold(ics).splitlines())


def _unfold(ics: bytes) -> str:
    return ics.decode("utf-8").replace("\r\n ", "").replace("\r\n\t", "")


def _calendar_part(message: EmailMessage) -> EmailMessage:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return part
    raise ValueError("the message holds no text/calendar part")


