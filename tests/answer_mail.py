"""Attendees' answers as the mail programs send them, byte for byte in their shapes (RFC 6047 iMIP):

- Gmail: multipart/mixed > multipart/alternative (text, html, text/calendar; method=REPLY, 7bit) plus
  the same calendar as an application/ics attachment (base64); times in UTC; ORGANIZER present.
- Outlook: multipart/alternative, text/calendar base64 with charset utf-8, no ORGANIZER, times in a
  Windows zone name ("Eastern Standard Time") defined by its own VTIMEZONE, MAILTO in capitals.
- Apple Mail: multipart/alternative with a quoted-printable text/calendar that has a file name, the
  ATTENDEE carrying EMAIL=, TZID=America/New_York with a VTIMEZONE, lines folded at 75 octets.
"""

from __future__ import annotations

import base64
import quopri
import uuid
from datetime import UTC, datetime

import pytz


def _fold(line: str) -> str:
    out, data = [], line.encode()
    while len(data) > 75:
        cut = 75 if not out else 74
        while cut > 0 and (data[cut] & 0xC0) == 0x80:
            cut -= 1
        out.append(data[:cut])
        data = data[cut:]
    out.append(data)
    return "\r\n ".join(part.decode() for part in out)


def _ics(lines: list[str]) -> bytes:
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode()


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local(instant: datetime, zone: str) -> str:
    return instant.astimezone(pytz.timezone(zone)).strftime("%Y%m%dT%H%M%S")


NEW_YORK_VTIMEZONE = [
    "BEGIN:VTIMEZONE", "TZID:{tzid}",
    "BEGIN:STANDARD", "DTSTART:16010101T020000", "TZOFFSETFROM:-0400", "TZOFFSETTO:-0500",
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11", "END:STANDARD",
    "BEGIN:DAYLIGHT", "DTSTART:16010101T020000", "TZOFFSETFROM:-0500", "TZOFFSETTO:-0400",
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3", "END:DAYLIGHT",
    "END:VTIMEZONE",
]


def _message_id() -> str:
    return f"<{uuid.uuid4().hex}@mail.example>"


def gmail_reply(*, uid: str, attendee: str, name: str, partstat: str, sequence: int, organizer: str,
                start: datetime, end: datetime, recurrence_id: datetime | None = None,
                sender: str | None = None, message_id: str | None = None) -> bytes:
    lines = ["BEGIN:VCALENDAR", "PRODID:-//Google Inc//Google Calendar 70.9054//EN", "VERSION:2.0",
             "CALSCALE:GREGORIAN", "METHOD:REPLY", "BEGIN:VEVENT",
             f"DTSTART:{_utc(start)}", f"DTEND:{_utc(end)}", "DTSTAMP:20300301T101500Z",
             f"ORGANIZER;CN=EventHub:mailto:{organizer}", f"UID:{uid}"]
    if recurrence_id is not None:
        lines.append(f"RECURRENCE-ID;TZID=America/New_York:{_local(recurrence_id, 'America/New_York')}")
    lines += [f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};CN={name};X-NUM-GUESTS=0:"
              f"mailto:{attendee}",
              "CREATED:20300301T100000Z", "DESCRIPTION:", "LAST-MODIFIED:20300301T101500Z", "LOCATION:",
              f"SEQUENCE:{sequence}", "STATUS:CONFIRMED", "SUMMARY:Q1 Town Hall", "TRANSP:OPAQUE",
              "END:VEVENT", "END:VCALENDAR"]
    ics = _ics(lines)
    word = {"ACCEPTED": "Accepted", "DECLINED": "Declined", "TENTATIVE": "Tentatively Accepted"}[partstat]
    outer, inner = "000000000000a1b2c3d4e5f6a7b8", "000000000000a1b2c3d4e5f6a7b9"
    body = (
        f"MIME-Version: 1.0\r\nDate: Fri, 1 Mar 2030 10:15:00 +0000\r\n"
        f"Message-ID: {message_id or _message_id()}\r\n"
        f"Subject: {word}: Q1 Town Hall @ Tue Mar 5, 2030 9am - 10am (EST) ({attendee})\r\n"
        f"From: {name} <{sender or attendee}>\r\nTo: {organizer}\r\n"
        f"Content-Type: multipart/mixed; boundary=\"{outer}\"\r\n\r\n"
        f"--{outer}\r\nContent-Type: multipart/alternative; boundary=\"{inner}\"\r\n\r\n"
        f"--{inner}\r\nContent-Type: text/plain; charset=\"UTF-8\"; format=flowed; delsp=yes\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n"
        f"{base64.encodebytes(f'{name} has {word.lower()} this invitation.'.encode()).decode()}\r\n"
        f"--{inner}\r\nContent-Type: text/html; charset=\"UTF-8\"\r\n"
        f"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        f"<span>{name} has {word.lower()} this invitation.</span>\r\n"
        f"--{inner}\r\nContent-Type: text/calendar; charset=\"UTF-8\"; method=REPLY\r\n"
        f"Content-Transfer-Encoding: 7bit\r\n\r\n"
    ).encode() + ics + (
        f"--{inner}--\r\n"
        f"--{outer}\r\nContent-Type: application/ics; name=\"invite.ics\"\r\n"
        f"Content-Disposition: attachment; filename=\"invite.ics\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{base64.encodebytes(ics).decode()}\r\n--{outer}--\r\n"
    ).encode()
    return body


def outlook_answer(*, uid: str, attendee: str, name: str, sequence: int, organizer: str, start: datetime,
                   end: datetime, method: str = "REPLY", partstat: str = "ACCEPTED",
                   sender: str | None = None, message_id: str | None = None) -> bytes:
    """A reply (or, with method COUNTER and the proposed start/end, a proposal of a new time) from Outlook."""
    zone = "Eastern Standard Time"
    lines = ["BEGIN:VCALENDAR", f"METHOD:{method}", "PRODID:Microsoft Exchange Server 2010", "VERSION:2.0",
             *[line.format(tzid=zone) for line in NEW_YORK_VTIMEZONE],
             "BEGIN:VEVENT", f"ATTENDEE;PARTSTAT={partstat};CN={name}:MAILTO:{attendee.upper()}",
             "COMMENT;LANGUAGE=en-US:\\n", f"UID:{uid}", "SUMMARY;LANGUAGE=en-US:Accepted: Q1 Town Hall",
             f"DTSTART;TZID={zone}:{_local(start, 'America/New_York')}",
             f"DTEND;TZID={zone}:{_local(end, 'America/New_York')}",
             "CLASS:PUBLIC", "PRIORITY:5", "DTSTAMP:20300301T101500Z", "TRANSP:OPAQUE", "STATUS:CONFIRMED",
             f"SEQUENCE:{sequence}", "LOCATION;LANGUAGE=en-US:", "X-MICROSOFT-CDO-APPT-SEQUENCE:0",
             "X-MICROSOFT-CDO-OWNERAPPTID:0", "X-MICROSOFT-CDO-REPLYTIME:20300301T101500Z",
             "X-MICROSOFT-DISALLOW-COUNTER:FALSE", "END:VEVENT", "END:VCALENDAR"]
    ics = _ics(lines)
    subject = "New Time Proposed: Q1 Town Hall" if method == "COUNTER" else "Accepted: Q1 Town Hall"
    boundary = "_000_DM6PR11MB1234567890ABCDEFnamprd11prodoutlook_"
    return (
        f"From: {name} <{sender or attendee}>\r\nTo: EventHub <{organizer}>\r\n"
        f"Subject: {subject}\r\nThread-Topic: Q1 Town Hall\r\nDate: Fri, 1 Mar 2030 10:15:00 +0000\r\n"
        f"Message-ID: {message_id or _message_id()}\r\nContent-Language: en-US\r\n"
        f"X-MS-Has-Attach:\r\nX-MS-TNEF-Correlator:\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n"
        f"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        f"\r\n--{boundary}\r\nContent-Type: text/html; charset=\"us-ascii\"\r\n"
        f"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        f"<html><body></body></html>\r\n"
        f"--{boundary}\r\nContent-Type: text/calendar; charset=\"utf-8\"; method={method}\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{base64.encodebytes(ics).decode()}\r\n--{boundary}--\r\n"
    ).encode()


def apple_reply(*, uid: str, attendee: str, name: str, partstat: str, sequence: int, organizer: str,
                start: datetime, end: datetime, sender: str | None = None) -> bytes:
    lines = ["BEGIN:VCALENDAR", "METHOD:REPLY", "VERSION:2.0", "PRODID:-//Apple Inc.//macOS 14.4//EN",
             "CALSCALE:GREGORIAN",
             *[line.format(tzid="America/New_York") for line in NEW_YORK_VTIMEZONE],
             "BEGIN:VEVENT", "CREATED:20300301T100000Z", "DTEND;TZID=America/New_York:"
             + _local(end, "America/New_York"), "DTSTAMP:20300301T101500Z",
             f"DTSTART;TZID=America/New_York:{_local(start, 'America/New_York')}",
             "LAST-MODIFIED:20300301T101500Z", f"SEQUENCE:{sequence}", "SUMMARY:Q1 Town Hall",
             f"UID:{uid}", "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC",
             f"ORGANIZER;CN=\"EventHub for org@example.com\":mailto:{organizer}",
             f"ATTENDEE;CN=\"{name}\";CUTYPE=INDIVIDUAL;EMAIL=\"{attendee}\";PARTSTAT={partstat};"
             f"ROLE=REQ-PARTICIPANT:mailto:{attendee}",
             "END:VEVENT", "END:VCALENDAR"]
    ics = _ics(lines)
    boundary = "Apple-Mail=_5B0F1C2E-7A3D-4E5F-9A8B-1C2D3E4F5A6B"
    return (
        f"From: {name} <{sender or attendee}>\r\nContent-Type: multipart/alternative; boundary=\"{boundary}\"\r\n"
        f"Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.500.171.1.1\\))\r\nSubject: Q1 Town Hall\r\n"
        f"Message-Id: {_message_id()}\r\nDate: Fri, 1 Mar 2030 18:15:00 +0800\r\nTo: {organizer}\r\n\r\n"
        f"--{boundary}\r\nContent-Transfer-Encoding: 7bit\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"{name} has accepted.\r\n\r\n"
        f"--{boundary}\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Type: text/calendar;\r\n"
        f"\tcharset=utf-8;\r\n\tmethod=REPLY;\r\n\tname=iCal-20300301-101500.ics\r\n\r\n"
    ).encode() + quopri.encodestring(ics) + f"\r\n--{boundary}--\r\n".encode()


def refresh_request(*, uid: str, attendee: str, organizer: str) -> bytes:
    lines = ["BEGIN:VCALENDAR", "PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN", "VERSION:2.0",
             "METHOD:REFRESH", "BEGIN:VEVENT", "DTSTAMP:20300301T101500Z", f"UID:{uid}",
             f"ORGANIZER:mailto:{organizer}", f"ATTENDEE:mailto:{attendee}", "END:VEVENT", "END:VCALENDAR"]
    ics = _ics(lines)
    return (
        f"From: <{attendee}>\r\nTo: <{organizer}>\r\nSubject: Refresh: Q1 Town Hall\r\n"
        f"Message-ID: {_message_id()}\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/calendar; charset=UTF-8; method=REFRESH\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + ics
