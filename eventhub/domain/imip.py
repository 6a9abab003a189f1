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

import re
import uuid
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

ATTACHMENT_NAME = "invite.ics"
_HEADER_BREAK = re.compile(r"[\r\n]")


def build_imip_message(*, subject: str, sender: str, sender_name: str, recipient: str, recipient_name: str,
                       text: str, html: str, ics: bytes, method: str, message_id_domain: str,
                       date: datetime | None = None) -> EmailMessage:
    """The invitation email for one recipient (see the module docstring for its parts).

    `ics` is a calendar from `calendar.build_calendar` with METHOD `method` and ORGANIZER `sender`.
    The Message-ID is random under `message_id_domain`; `date` (aware), when given, is the Date header,
    else the sending gateway or the first mail server adds one.
    """
    _check_calendar(ics, method, sender)
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = _one_line(subject)
    message["From"] = Address(_one_line(sender_name), addr_spec=sender)
    message["To"] = Address(_one_line(recipient_name), addr_spec=recipient)
    message["Message-ID"] = _message_id(message_id_domain)
    if date is not None:
        if date.tzinfo is None:
            raise ValueError("date must be an aware datetime")
        message["Date"] = format_datetime(date)
    # quoted-printable, not 8bit: a relay without 8BITMIME must not have to re-encode the text.
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    message.add_alternative(ics, maintype="text", subtype="calendar",
                            params={"method": method.upper(), "charset": "UTF-8"})
    message.add_attachment(ics, maintype="application", subtype="ics", filename=ATTACHMENT_NAME,
                           params={"name": ATTACHMENT_NAME})
    return message


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
    copy["To"] = Address(_one_line(recipient_name), addr_spec=recipient)
    copy["Message-ID"] = _message_id(message["Message-ID"].split("@", 1)[1].rstrip(">"))
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


def _message_id(domain: str) -> str:
    # Random rather than email.utils.make_msgid: that one reads the clock and the host name.
    return f"<{uuid.uuid4().hex}@{_one_line(domain)}>"


def _one_line(value: str) -> str:
    return _HEADER_BREAK.sub(" ", value).strip()
