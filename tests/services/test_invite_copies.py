"""Each invite is made from bytes shared by its zone's attendees, and is exactly the message built whole."""

from email import message_from_bytes, policy

from sqlalchemy import select

from eventhub.extensions import db
from eventhub.gateways.mail import PreparedCopy
from eventhub.models import Attendee, Event, Organizer
from eventhub.services.delivery import Recipient
from eventhub.services.invites import InviteWriter

PEOPLE = [
    {"email": "ana@example.com", "name": "Ana Reyes", "group": "Manila"},
    {"email": "bo@example.com", "name": "", "group": "Manila"},
    {"email": "zoe@example.com", "name": 'Zoë "Z" Ångström, Jr. <&>', "group": "New York"},
    {"email": "first.last+tag@example.com", "name": "A very long name that goes on " * 4, "group": "New York"},
    {"email": "plain@example.com", "name": "Plain"},
]


def _parts(message) -> dict:
    parts = {part.get_content_type(): part.get_payload(decode=True) for part in message.walk()
             if not part.is_multipart()}
    return {"subject": str(message["Subject"]), "from": str(message["From"]), "to": str(message["To"]), **parts}


def test_every_copy_made_from_shared_bytes_is_the_message_built_whole_for_that_attendee(app, client, auth_headers,
                                                                                        mail):
    created = client.post("/api/v1/events", headers=auth_headers, json={
        "title": "Q1 — Town Hall", "description": "Plans, & questions.", "timezone": "America/New_York",
        "occurrences": ["2030-03-05T14:00:00Z", "2030-03-12T14:00:00Z", "2030-03-19T14:00:00Z"], "every": "week",
        "groups": [{"name": "Manila", "timezone": "Asia/Manila"}, {"name": "New York", "timezone": "America/New_York"}],
        "attendees": PEOPLE}).json
    with app.app_context():
        event = db.session.get(Event, created["id"])
        writer = InviteWriter(event, db.session.get(Organizer, event.organizer_id))
        attendees = db.session.scalars(select(Attendee).where(Attendee.event_id == event.id)).all()
        for kind in ("request", "cancel"):
            for attendee in attendees:
                recipient = Recipient(attendee.id, attendee.email, kind, 1)
                copy = writer.copy(attendee, recipient)
                assert isinstance(copy, PreparedCopy)
                received = message_from_bytes(copy.data, policy=policy.SMTP)
                whole = message_from_bytes(writer.message(attendee, recipient).as_bytes(), policy=policy.SMTP)
                assert _parts(received) == _parts(whole)
                assert received["Message-ID"] and received["Date"]


def test_a_template_the_stand_ins_cannot_stand_for_is_built_whole(app, client, auth_headers, mail, monkeypatch):
    """A text that transforms the name (here: upper case) cannot be made by putting the name in: each is whole."""
    from eventhub.services import invites

    created = client.post("/api/v1/events", headers=auth_headers, json={
        "title": "All hands", "start": "2030-03-05T14:00:00Z", "attendees": PEOPLE[:1]}).json
    texts = invites.InviteWriter._texts

    def shouting(self, attendee, method, link):
        subject, text, html = texts(self, attendee, method, link)
        return subject, text.replace(attendee.name, attendee.name.upper()) if attendee.name else text, html

    monkeypatch.setattr(invites.InviteWriter, "_texts", shouting)
    with app.app_context():
        event = db.session.get(Event, created["id"])
        writer = InviteWriter(event, db.session.get(Organizer, event.organizer_id))
        attendee = db.session.scalars(select(Attendee).where(Attendee.event_id == event.id)).one()
        message = writer.copy(attendee, Recipient(attendee.id, attendee.email, "request", 0))
        assert not isinstance(message, PreparedCopy) and "ANA REYES" in message.get_body(("plain",)).get_content()
