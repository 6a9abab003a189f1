"""No mailing stays stuck: a summary left `sending` by a failed job and an invitation round that failed for
good can both be sent again, and a second run of a mailing that another run holds waits its turn."""

import asyncio
import threading
from collections import Counter

import pytest

from eventhub.extensions import jobs
from eventhub.jobs.outbox import run_task
from tests.conftest import MailSink, free_port
from tests.factories import create_town_hall, people
from tests.processes import mail_server_for, wait_for


@pytest.fixture
def mail_server(app, mail):
    """Switches the app's mail server off (`mail_server(up=False)`: a port nobody listens on) and on again."""
    working, dead = app.config["SMTP_PORT"], free_port()
    return lambda up: app.config.update(SMTP_PORT=working if up else dead)


def _recipients(mail) -> Counter:
    return Counter(item["to"][0] for item in mail.messages)


def test_a_summary_left_sending_by_a_failed_job_is_sent_again_to_everyone_once(app, client, auth_headers, mail,
                                                                                 mail_server):
    event = create_town_hall(client, auth_headers, sent=True, attendees=people(3))
    mail.messages.clear()
    app.config["SUMMARY_RETRY_INTERVALS"] = (0,)
    mail_server(up=False)  # for the whole retry schedule
    first = client.post(f"/api/v1/events/{event['id']}/summary", headers=auth_headers, json={"notes": "N"})
    jobs.wait_local()
    assert client.get(f"/api/v1/jobs/{first.json['job_id']}", headers=auth_headers).json["status"] == "failed"
    assert client.get(f"/api/v1/events/{event['id']}/summary", headers=auth_headers).json["status"] == "sending"

    mail_server(up=True)
    again = client.post(f"/api/v1/events/{event['id']}/summary", headers=auth_headers, json={})
    assert again.status_code == 202
    jobs.wait_local()
    assert _recipients(mail) == {f"p{n}@example.com": 1 for n in range(3)}
    assert client.get(f"/api/v1/events/{event['id']}/summary", headers=auth_headers).json["status"] == "sent"
    assert client.post(f"/api/v1/events/{event['id']}/summary", headers=auth_headers, json={}).status_code == 409


def test_invitations_failed_for_good_while_the_mail_server_was_down_are_sent_again(app, client, auth_headers,
                                                                                  mail, mail_server):
    app.config["INVITE_RETRY_INTERVALS"] = (0,)
    mail_server(up=False)
    event = create_town_hall(client, auth_headers, sent=True, attendees=people(2))
    failed = client.get(f"/api/v1/jobs/{event['job_id']}", headers=auth_headers).json
    assert failed["status"] == "failed" and "mail server" in failed["error"]
    mail_server(up=True)
    again = client.post(f"/api/v1/events/{event['id']}/invites/resend", headers=auth_headers)
    assert again.status_code == 202
    jobs.wait_local()
    assert _recipients(mail) == {"p0@example.com": 1, "p1@example.com": 1}
    assert client.get(f"/api/v1/jobs/{again.json['job_id']}", headers=auth_headers).json["status"] == "finished"
    assert client.get(f"/api/v1/events/{event['id']}", headers=auth_headers).json["invites"] == {
        "sent": 2, "failed": 0, "pending": 0}


class HeldSink(MailSink):
    """Accepts messages, but holds the first one until `release` is set (without blocking its server)."""

    def __init__(self):
        super().__init__()
        self.first_arrived, self.release = threading.Event(), threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if not self.first_arrived.is_set():
            self.first_arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 20)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def held_mail(app):
    with mail_server_for(app, HeldSink()) as sink:
        try:
            yield sink
        finally:
            sink.release.set()


def test_a_second_run_of_a_mailing_another_run_holds_is_postponed_and_sends_nothing(rq_settings, app, client,
                                                                                   auth_headers, held_mail):
    app.config["MAILING_SHARDS"] = 1  # one lease for the whole mailing
    event = create_town_hall(client, auth_headers, attendees=people(2))

    def first_run():
        with app.app_context():
            run_task(event["job_id"])

    holder = threading.Thread(target=first_run)
    holder.start()
    try:
        assert held_mail.first_arrived.wait(20), "the first run never reached the mail server"
        second = client.post(f"/api/v1/events/{event['id']}/invites/resend", headers=auth_headers).json["job_id"]
        run_task(second)  # meets the held lease (FanOutBusy): postponed, not failed, nothing sent
        status = client.get(f"/api/v1/jobs/{second}", headers=auth_headers).json
        assert status["status"] == "queued" and "error" not in status
        assert held_mail.messages == []
    finally:
        held_mail.release.set()
        holder.join(timeout=30)
    assert _recipients(held_mail) == {"p0@example.com": 1, "p1@example.com": 1}

    def later_run_finished() -> bool:  # the postponed run falls due a moment later
        run_task(second)
        return client.get(f"/api/v1/jobs/{second}", headers=auth_headers).json["status"] == "finished"

    wait_for(later_run_finished, 15, "the postponed run to fall due and finish", interval=0.2)
    assert _recipients(held_mail) == {"p0@example.com": 1, "p1@example.com": 1}  # the later run found nobody left
