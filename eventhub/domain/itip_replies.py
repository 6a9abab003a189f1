"""Reading attendees' answers (iTIP REPLY, COUNTER, REFRESH; RFC 5546) out of an email (iMIP, RFC 6047).

`read_answers(raw)` promises, for any bytes at all, either a `MailAnswers` or an `Unreadable` with the
reason; it never raises. It reads every `text/calendar` part (and an `application/ics` attachment of
the same calendar), whatever its transfer encoding (Outlook sends base64) and whether or not the calendar
names an ORGANIZER (Outlook's replies do not). The calendar's own METHOD decides, not the part's
`method` parameter. Times come back as aware UTC; a time in a zone the calendar does not define is
refused rather than guessed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import Message
from email.utils import getaddresses

from icalendar import Calendar

ANSWER_METHODS = ("REPLY", "COUNTER", "REFRESH")
# Our names for iCalendar's PARTSTAT values; someone who delegated is not coming themselves.
PARTSTATS = {
    "ACCEPTED": "accepted",
    "DECLINED": "declined",
    "TENTATIVE": "tentative",
    "NEEDS-ACTION": "needs-action",
    "DELEGATED": "declined",
}
RESPONSES = ("accepted", "declined", "tentative", "needs-action")
_CALENDAR_TYPES = ("text/calendar", "application/ics")
MAX_MESSAGE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Answer:
    """One attendee's answer about one event (or one occurrence of a series)."""

    method: str  # REPLY | COUNTER | REFRESH
    uid: str
    sequence: int  # 0 when the answer names none (RFC 5545's default)
    attendee: str  # lower-case address of the ATTENDEE who answers
    response: str | None  # one of RESPONSES; None when the answer carries no PARTSTAT (a REFRESH)
    recurrence_id: datetime | None = None  # aware UTC; None: the whole event or series
    proposed_start: datetime | None = None  # COUNTER only, aware UTC
    proposed_end: datetime | None = None


@dataclass(frozen=True)
class MailAnswers:
    message_key: str  # the Message-ID, or a digest of the bytes for mail without one
    sender: str  # lower-case From address
    answers: tuple[Answer, ...]


@dataclass(frozen=True)
class Unreadable:
    message_key: str
    reason: str
    not_an_answer: bool = False  # True: readable mail that holds no answer (an invitation, a newsletter)


def message_key(raw: bytes) -> str:
    """What identifies a message across folders and polls: its Message-ID, else a digest of its bytes."""
    try:
        header = message_from_bytes(raw[:64 * 1024], policy=policy.compat32).get("Message-ID")
    except Exception:  # noqa: BLE001 - any bytes at all may arrive
        header = None
    value = " ".join(str(header).split()) if header else ""
    return value[:500] if value else "sha256:" + hashlib.sha256(raw).hexdigest()


def read_answers(raw: bytes) -> MailAnswers | Unreadable:
    """The answers an email holds (see the module docstring)."""
    key = message_key(raw)
    if len(raw) > MAX_MESSAGE_BYTES:
        return Unreadable(key, f"larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        # compat32: headers stay plain strings; the modern policy's header objects cost more than the rest.
        message = message_from_bytes(raw, policy=policy.compat32)
        sender = _sender(message)
        calendars = [part for part in message.walk() if part.get_content_type() in _CALENDAR_TYPES]
    except Exception as error:  # noqa: BLE001 - the email package raises many kinds on broken mail
        return Unreadable(key, f"not a readable email: {type(error).__name__}")
    if not calendars:
        return Unreadable(key, "holds no calendar", not_an_answer=True)
    answers: list[Answer] = []
    methods: set[str] = set()
    seen: set[bytes] = set()
    for part in calendars:
        try:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload in seen:
                continue  # Gmail's .ics attachment repeats the inline calendar byte for byte
            seen.add(payload if isinstance(payload, bytes) else b"")
            found, method = _answers_in(part, payload)
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeError) as error:
            return Unreadable(key, f"a calendar part cannot be read: {str(error)[:200] or type(error).__name__}")
        methods.add(method)
        answers += [answer for answer in found if answer not in answers]  # the .ics copy repeats the inline part
    if not answers:
        if methods - set(ANSWER_METHODS):
            return Unreadable(key, f"a calendar of method {', '.join(sorted(methods))}, not an answer",
                              not_an_answer=True)
        return Unreadable(key, "an answer that names no event or attendee")
    if not sender:
        return Unreadable(key, "no sender address")
    return MailAnswers(key, sender, tuple(answers))


def _sender(message: Message) -> str:
    addresses = [address for _, address in getaddresses([str(message.get("From", ""))]) if "@" in address]
    return addresses[0].strip().lower() if len(addresses) == 1 else ""


def _answers_in(part: Message, payload) -> tuple[list[Answer], str]:
    if not payload or not isinstance(payload, bytes):
        raise ValueError("empty calendar part")
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset)
    except (LookupError, UnicodeDecodeError):
        text = payload.decode("utf-8", errors="strict")
    calendar = Calendar.from_ical(text)
    method = str(calendar.get("METHOD", "")).strip().upper()
    if method not in ANSWER_METHODS:
        return [], method or "none"
    answers = []
    for vevent in calendar.walk("VEVENT"):
        answers += _answers_of_event(vevent, method)
    return answers, method


def _answers_of_event(vevent, method: str) -> list[Answer]:
    uid = str(vevent.get("UID", "")).strip()
    if not uid:
        return []
    sequence = int(str(vevent.get("SEQUENCE", 0)).strip() or 0)
    if sequence < 0:
        raise ValueError("SEQUENCE is negative")
    recurrence_id = _utc(vevent.decoded("RECURRENCE-ID"), "RECURRENCE-ID") if "RECURRENCE-ID" in vevent else None
    proposed_start = proposed_end = None
    if method == "COUNTER":
        proposed_start = _utc(vevent.decoded("DTSTART"), "DTSTART")
        if "DTEND" in vevent:
            proposed_end = _utc(vevent.decoded("DTEND"), "DTEND")
        elif "DURATION" in vevent:
            proposed_end = proposed_start + vevent.decoded("DURATION")
        if proposed_end is not None and proposed_end <= proposed_start:
            raise ValueError("the proposed end is not after its start")
    attendees = vevent.get("ATTENDEE", [])
    if not isinstance(attendees, list):
        attendees = [attendees]
    answers = []
    for attendee in attendees:
        params = getattr(attendee, "params", {})
        address = str(attendee).strip()
        if address[:7].lower() == "mailto:":
            address = address[7:]
        elif params.get("EMAIL"):  # Apple's urn:uuid: addresses carry the mail address in EMAIL (RFC 7986)
            address = str(params["EMAIL"]).strip()
        if "@" not in address:
            continue
        partstat = str(params.get("PARTSTAT", "")).upper()
        response = PARTSTATS.get(partstat)
        if method == "REPLY" and response is None:
            raise ValueError(f"a REPLY with PARTSTAT {partstat or 'missing'}")
        answers.append(Answer(method, uid, sequence, address.lower(), response if method != "REFRESH" else None,
                              recurrence_id, proposed_start, proposed_end))
    return answers


def _utc(value, name: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} is in a time zone the calendar does not define")
        return value.astimezone(UTC)
    if isinstance(value, date):
        raise ValueError(f"{name} is a date, not a time")
    raise ValueError(f"{name} is not a time")
