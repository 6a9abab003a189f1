"""`SMTP_CONNECTIONS`: one worker sends a mailing over several connections at once, each attendee once."""

from collections import Counter

import pytest

from eventhub.extensions import db, jobs
from eventhub.models import Delivery
from tests.factories import create_town_hall, people, retry_now
from tests.processes import SlowSink, mail_server_for, start_sink


@pytest.fixture
def slow_relay(app):
    with mail_server_for(app, SlowSink(delay=0.05)) as relay:
        yield relay


def _use(app, relay, connections: int) -> None:
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=relay.port, SMTP_CONNECTIONS=connections)


def test_four_connections_carry_one_mailing_at_once_and_serve_each_attendee_once(app, client, auth_headers,
                                                                               slow_relay):
    _use(app, slow_relay, 4)
    attendees = people(40)
    created = create_town_hall(client, auth_headers, title="All hands", attendees=attendees)
    jobs.wait_local(60)
    assert slow_relay.recipients("Invitation:") == Counter({a["email"]: 1 for a in attendees})
    assert slow_relay.most_at_once == 4  # the relay was receiving four messages at one moment
    assert client.get(f"/api/v1/events/{created['id']}", headers=auth_headers).json["invites"] == {
        "sent": 40, "failed": 0, "pending": 0}


def test_one_connection_is_the_default_and_sends_one_message_at_a_time(app, client, auth_headers, slow_relay):
    _use(app, slow_relay, app.config["SMTP_CONNECTIONS"])
    assert app.config["SMTP_CONNECTIONS"] == 1
    create_town_hall(client, auth_headers, title="All hands", attendees=people(6))
    jobs.wait_local(60)
    assert len(slow_relay.recipients("Invitation:")) == 6 and slow_relay.most_at_once == 1


def test_a_refusal_on_one_connection_is_recorded_and_the_others_go_on(app, client, auth_headers, slow_relay):
    _use(app, slow_relay, 3)
    attendees = people(12)
    slow_relay.refuse = {attendees[5]["email"]: "550 5.1.1 No such user"}  # refused for good
    created = create_town_hall(client, auth_headers, title="All hands", attendees=attendees)
    jobs.wait_local(60)
    delivered = slow_relay.recipients("Invitation:")
    assert set(delivered) == {a["email"] for a in attendees} - {attendees[5]["email"]}
    assert max(delivered.values()) == 1
    statuses = Counter(d.status for d in db.session.query(Delivery).filter_by(event_id=created["id"]))
    assert statuses == {"sent": 11, "failed": 1}


def test_a_connection_lost_mid_batch_keeps_every_accepted_record_and_the_retry_sends_the_rest_once(
        app, client, auth_headers, monkeypatch):
    """With several connections, what the server accepted before one was lost is recorded 'sent'; the retry
    sends only the others, so nobody gets two."""
    import threading

    from sqlalchemy import func, select

    from eventhub.gateways.mail import MailError, SmtpSender

    relay, controller = start_sink(delay=0.005)
    _use(app, relay, 3)
    app.config["INVITE_RETRY_INTERVALS"] = (600, 600)  # the retry comes only when the test makes it due
    accepted, lock, lost = [], threading.Lock(), threading.Event()
    send_prepared = SmtpSender.send_prepared

    def one_connection_lost(self, copy, recipient):
        with lock:
            if len(accepted) >= 7 and not lost.is_set():
                lost.set()
                raise MailError("the mail server closed the connection", permanent=False)
        send_prepared(self, copy, recipient)
        with lock:
            accepted.append(recipient)

    monkeypatch.setattr(SmtpSender, "send_prepared", one_connection_lost)
    attendees = people(30)
    created = create_town_hall(client, auth_headers, title="All hands", attendees=attendees)
    try:
        jobs.wait_local(timeout=30)  # the first attempt; its retry is ten minutes away
        sent = db.session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.event_id == created["id"], Delivery.status == "sent"))
        db.session.remove()
        assert lost.is_set() and sent == len(accepted) < 30  # every accepted message is recorded, only those

        retry_now(created["id"])
        jobs.wait_local(timeout=30)  # the retry, now due
        assert relay.recipients("Invitation:") == Counter({a["email"]: 1 for a in attendees})
    finally:
        controller.stop()
