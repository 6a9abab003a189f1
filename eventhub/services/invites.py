"""Invitations and cancellations: who needs which message now, and the iMIP email each one gets."""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from types import SimpleNamespace

from flask import current_app, render_template
from markupsafe import escape
from sqlalchemy import func, select, update

from eventhub.domain import zones
from eventhub.domain.calendar import (
    CalendarAttendee,
    CalendarEvent,
    CalendarForMany,
    build_calendar,
    series_rule,
)
from eventhub.domain.calendar_links import google_calendar_link, outlook_calendar_link
from eventhub.domain.events import daylight_saving_moves, local_times
from eventhub.domain.imip import ImipForMany, build_imip_message
from eventhub.domain.statuses import FINAL_DELIVERY, DeliveryStatus, EventStatus
from eventhub.extensions import db
from eventhub.gateways.mail import PreparedCopy
from eventhub.models import Attendee, Delivery, Event, Organizer, utcnow
from eventhub.services import google_sync
from eventhub.services.calendars import calendar_domain, calendar_event
from eventhub.services.delivery import Recipient, fan_out
from eventhub.services.events import personal_link, personal_token

log = logging.getLogger(__name__)


def deliver_invites(event_id: str, retry_failed: bool = False) -> None:
    """Bring every attendee's calendar up to date: the current REQUEST to each attendee, CANCEL to each
    removed one (or to everyone when the town hall is cancelled). Safe to run again at any time. With
    `retry_failed`, a message of the current version refused for good is tried once more."""
    event = db.session.get(Event, event_id)
    if event is None:
        log.warning("event %s no longer exists; nothing to send", event_id)
        return
    google_sync.sync_event(event)
    version = (event.status, event.sequence)
    writer = InviteWriter(event, event.organizer)
    attendees: dict[str, Attendee] = {}

    def pending() -> tuple[list[Recipient], int]:
        # Read under the mailing's lease: a run for a version that has since changed leaves the sending to
        # the run queued with the change, and attendees added meanwhile are known to `build`.
        if tuple(db.session.execute(select(Event.status, Event.sequence).where(Event.id == event_id)).one()) \
                != version:
            return [], 0
        work = invite_work(event_id, *version, retry_failed=retry_failed)
        # The fan-out commits once per message, and each commit would expire every object in the session
        # (then reload each on its next use): the loaded event and organizer leave it first.
        db.session.expunge_all()
        return work

    def load(batch: list[Recipient]) -> None:
        # One batch's attendees at a time (attendees added meanwhile included), so a mailing of any size
        # holds only a batch of them; they leave the session for the same reason as the event.
        attendees.clear()
        attendees.update({a.id: a for a in db.session.scalars(select(Attendee).where(
            Attendee.event_id == event_id, Attendee.id.in_([r.attendee_id for r in batch])))})
        db.session.expunge_all()

    fan_out(event.id, "invites", pending, lambda r: writer.copy(attendees[r.attendee_id], r), prepare=load)


def invite_work(event_id: str, status: str, sequence: int,
                retry_failed: bool = False) -> tuple[list[Recipient], int]:
    """The messages still to send, and how many of this round were already sent or failed for good.

    Each attendee's copies carry the event's SEQUENCE plus their own offset. A cancellation counts for an
    attendee while it is newer than the last invitation they got; an attendee invited again after one
    gets an invitation that outranks it (their offset is raised and kept, so later updates do too)."""
    latest: dict[tuple[str, str], int] = {}
    final = (DeliveryStatus.SENT,) if retry_failed else FINAL_DELIVERY
    for attendee_id, kind, number in db.session.execute(
            select(Delivery.attendee_id, Delivery.kind, func.max(Delivery.sequence)).where(
                Delivery.event_id == event_id, Delivery.status.in_(final))
            .group_by(Delivery.attendee_id, Delivery.kind)):
        latest[attendee_id, kind] = number
    todo, done, raised = [], 0, {}
    for attendee_id, email, removed, offset in db.session.execute(
            select(Attendee.id, Attendee.email, Attendee.removed, Attendee.sequence_offset)
            .where(Attendee.event_id == event_id).order_by(Attendee.id)):
        last_request = latest.get((attendee_id, "request"), -1)
        last_cancel = latest.get((attendee_id, "cancel"), -1)
        if status == EventStatus.CANCELLED or removed:
            if last_cancel > last_request:
                done += 1  # already cancelled for them
            elif last_request >= 0:  # someone never invited needs no cancellation
                own = sequence + offset + (0 if status == EventStatus.CANCELLED else 1)
                todo.append(Recipient(attendee_id, email, "cancel", max(own, last_request + 1)))
            continue
        own = sequence + offset
        if last_cancel >= own:  # invited again after a cancellation at or above this version
            raised[attendee_id] = last_cancel + 1 - sequence
            own = last_cancel + 1
        if last_request >= own:
            done += 1
        else:
            todo.append(Recipient(attendee_id, email, "request", own))
    if raised:
        # On a connection of its own: committing the session would expire the objects the writer holds.
        with db.engine.begin() as connection:
            for attendee_id, new_offset in raised.items():
                connection.execute(update(Attendee).where(Attendee.id == attendee_id)
                                   .values(sequence_offset=new_offset))
    return todo, done


def build_invite_message(event: Event, organizer: Organizer, attendee: Attendee, recipient: Recipient) -> EmailMessage:
    return InviteWriter(event, organizer).message(attendee, recipient)


class InviteWriter:
    """Each attendee's invitation (or cancellation) for one town hall. What is the same for every attendee,
    the series rule and each zone's local times, is worked out once rather than once per message."""

    # Stands for each attendee's question link in the calendar built once for everyone.
    LINK_MARKER = "https://personal-link.invalid/ask/marker"
    # Stand for the token of each attendee's link and for their name in the text and HTML rendered once for
    # everyone: letters and digits only, so no escaping or quoting (HTML, URL, quoted-printable) changes them.
    _TOKEN = "ehtoken" + secrets.token_hex(18)
    _NAME = "ehname" + secrets.token_hex(18)

    def __init__(self, event: Event, organizer: Organizer):
        self.event = event
        self.organizer = organizer
        self.template = calendar_event(event, organizer, link=self.LINK_MARKER)
        self.rule = series_rule(self.template)
        self.dtstamp = utcnow()
        self._zones: dict[str, dict] = {}
        self._calendars: dict[tuple[str, int], CalendarForMany] = {}
        self._shared: dict[tuple, tuple | None] = {}

    def calendar(self, attendee: Attendee, method: str, sequence: int) -> bytes:
        """The attendee's own calendar, from the one built for everyone under this method and sequence."""
        if (method, sequence) not in self._calendars:
            self._calendars[method, sequence] = CalendarForMany(
                replace(self.template, sequence=sequence), method, self.dtstamp, self.LINK_MARKER)
        invited = CalendarAttendee(attendee.email, attendee.name)
        try:
            return self._calendars[method, sequence].for_attendee(invited, personal_link(attendee.id))
        except ValueError:  # a base URL with a comma or semicolon: build this one in full
            own = replace(calendar_event(self.event, self.organizer, attendee), sequence=sequence)
            return build_calendar(own, method, (invited,), self.dtstamp)

    def message(self, attendee: Attendee, recipient: Recipient) -> EmailMessage:
        """The attendee's message, built whole."""
        method = "CANCEL" if recipient.kind == "cancel" else "REQUEST"
        ics = self.calendar(attendee, method, recipient.sequence)
        subject, text, html = self._texts(attendee, method, personal_link(attendee.id))
        return build_imip_message(
            subject=subject,
            sender=current_app.config["MAIL_FROM"],
            sender_name=self.template.organizer_name,
            recipient=attendee.email,
            recipient_name=attendee.name,
            text=text,
            html=html,
            ics=ics,
            method=method,
            message_id_domain=calendar_domain(),
            date=utcnow(),
        )

    def copy(self, attendee: Attendee, recipient: Recipient) -> PreparedCopy | EmailMessage:
        """The same message as `message`, its bytes made from those shared by everyone of the attendee's zone
        (and kind and sequence): their name and question link put into the text, HTML and calendar."""
        method = "CANCEL" if recipient.kind == "cancel" else "REQUEST"
        key = (method, recipient.sequence, attendee.timezone, bool(attendee.name))
        if key not in self._shared:
            self._shared[key] = self._share(attendee, recipient, method)
        shared = self._shared[key]
        if shared is None:
            return self.message(attendee, recipient)
        token = personal_token(attendee.id)
        try:
            ics = self.calendar(attendee, method, recipient.sequence)
        except ValueError:
            return self.message(attendee, recipient)
        imip, text, html = shared
        name = attendee.name or ""
        data = imip.copy(recipient=attendee.email, recipient_name=name,
                         text=text.replace(self._TOKEN, token).replace(self._NAME, name),
                         html=html.replace(self._TOKEN, token).replace(self._NAME, str(escape(name))),
                         ics=ics, date=utcnow())
        return PreparedCopy(current_app.config["MAIL_FROM"], data, lambda: self.message(attendee, recipient))

    def _share(self, attendee: Attendee, recipient: Recipient, method: str) -> tuple | None:
        """What every copy of this variant shares: its email serialized once and its text and HTML rendered
        with stand-ins for the name and the link's token. None when the stand-ins do not give exactly what the
        full rendering gives `attendee` (a template that transforms the name, say): then each is built whole."""
        stand_in = SimpleNamespace(name=self._NAME if attendee.name else "", timezone=attendee.timezone)
        link = f"{current_app.config['EVENTHUB_BASE_URL']}/ask/{self._TOKEN}"
        subject, text, html = self._texts(stand_in, method, link)
        _, own_text, own_html = self._texts(attendee, method, personal_link(attendee.id))
        token, name = personal_token(attendee.id), attendee.name or ""
        if (text.replace(self._TOKEN, token).replace(self._NAME, name) != own_text
                or html.replace(self._TOKEN, token).replace(self._NAME, str(escape(name))) != own_html):
            log.warning("event %s: invites of this kind are built one by one (the shared text differs)",
                        self.event.id)
            return None
        try:
            sample = self.calendar(attendee, method, recipient.sequence)
        except ValueError:
            return None
        imip = ImipForMany(subject=subject, sender=current_app.config["MAIL_FROM"],
                           sender_name=self.template.organizer_name, method=method,
                           message_id_domain=calendar_domain(), sample_ics=sample)
        return imip, text, html

    def _texts(self, attendee, method: str, link: str) -> tuple[str, str, str]:
        """The subject, text and HTML of the attendee's message, their question link being `link`."""
        event = self.event
        if attendee.timezone not in self._zones:
            self._zones[attendee.timezone] = zone_context(event, attendee.timezone)
        context = ({"attendee": attendee} | _calendar_links(event, self.rule, link)
                   | self._zones[attendee.timezone])
        context["cancelled"] = method == "CANCEL"
        context["updated"] = event.sequence > 0 and method == "REQUEST"
        return (_subject(event, context), render_template("email/invite.txt", **context),
                render_template("email/invite.html", **context))


def invite_context(event: Event, attendee: Attendee, calendar: CalendarEvent) -> dict:
    """What the invite's text and HTML show an attendee, in their own zone."""
    return ({"attendee": attendee} | _calendar_links(event, series_rule(calendar), personal_link(attendee.id))
            | zone_context(event, attendee.timezone))


def preview_context(event: Event, calendar: CalendarEvent) -> dict:
    """The invite as the organizer's page shows it: in the event's zone, with add-to-calendar links that carry
    no question link (the organizer has none: a link is an attendee's own)."""
    return _calendar_links(event, series_rule(calendar), None) | zone_context(event, event.timezone)


def zone_context(event: Event, zone: str) -> dict:
    """The part of an invite's context that is the same for everyone in `zone`."""
    occurrences = tuple(o.start for o in event.occurrences)
    return {
        "zone": zone,
        "times": local_times(occurrences, event.duration_minutes, zone),
        "moves": daylight_saving_moves(occurrences, zone, event.timezone),
        "questions_close": zones.to_local(event.questions_close, zones.get_zone(zone)),
    }


def _calendar_links(event: Event, rule: str | None, ask_link: str | None) -> dict:
    first = event.occurrences[0].start
    end = first + timedelta(minutes=event.duration_minutes)
    details = event.description
    if ask_link is not None:
        details = f"{details}\n\nAsk your questions anonymously: {ask_link}".strip()
    return {
        "event": event,
        "ask_link": ask_link,
        "meet_url": event.meet_url,
        "google_link": google_calendar_link(event.title, first, end, details, event.meet_url,
                                            f"RRULE:{rule}" if rule else None, event.timezone),
        "outlook_link": outlook_calendar_link(event.title, first, end, details, event.meet_url),
    }


def _subject(event: Event, context: dict) -> str:
    if context["cancelled"]:
        return f"Cancelled: {event.title}"
    start = context["times"][0][0]
    when = f"{start:%a %-d %b %Y %H:%M} ({context['zone']})"
    prefix = "Updated invitation" if context["updated"] else "Invitation"
    return f"{prefix}: {event.title} @ {when}"
