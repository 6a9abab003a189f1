"""Invites through real RQ: a worker on Redis runs the fan-out and reports progress."""

from rq import SimpleWorker

from eventhub.extensions import jobs
from tests.factories import create_town_hall, people, retry_now


def test_a_real_worker_sends_every_invite_and_the_job_reports_done(rq_settings, app, client, auth_headers, mail):
    attendees = people(25)
    created = create_town_hall(client, auth_headers, title="All hands", attendees=attendees)
    job_id = created["job_id"]
    assert client.get(f"/api/v1/jobs/{job_id}", headers=auth_headers).json["status"] == "queued"
    SimpleWorker([jobs.queue], connection=jobs.connection).work(burst=True)
    assert sorted(item["to"][0] for item in mail.messages) == sorted(a["email"] for a in attendees)
    assert client.get(f"/api/v1/jobs/{job_id}", headers=auth_headers).json == {
        "status": "finished", "done": 25, "total": 25, "failed": 0}
    assert client.get(f"/api/v1/events/{created['id']}", headers=auth_headers).json["invites"] == {
        "sent": 25, "failed": 0, "pending": 0}


def test_a_mail_server_that_is_down_leaves_the_job_queued_for_a_retry_not_done(rq_settings, app, client,
                                                                               auth_headers):
    from tests.conftest import free_port

    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())
    created = create_town_hall(client, auth_headers, title="All hands")
    SimpleWorker([jobs.queue], connection=jobs.connection).work(burst=True)
    status = client.get(f"/api/v1/jobs/{created['job_id']}", headers=auth_headers).json
    assert status["status"] == "queued" and status["done"] == 0  # scheduled for its retry, never shown done


def test_two_runs_of_the_same_mailing_at_once_send_nobody_twice(rq_settings, app, client, auth_headers, mail):
    """A doubled enqueue, or two workers requeueing a crashed job, must not send from the same stale list."""
    import threading

    from eventhub.services.delivery import FanOutBusy
    from eventhub.services.invites import deliver_invites

    attendees = people(120, width=3)
    created = create_town_hall(client, auth_headers, title="All hands", attendees=attendees)

    def run():
        with app.app_context():
            try:
                deliver_invites(created["id"])
            except FanOutBusy:
                pass  # the other run holds the mailing: this one is postponed, as the task runner does

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=60)
    received = [item["to"][0] for item in mail.messages]
    assert sorted(received) == sorted(a["email"] for a in attendees)


def test_a_connection_lost_mid_batch_leaves_the_unsent_as_sending_and_the_retry_sends_only_them(
        app, client, auth_headers, mail, monkeypatch):
    """The batch is recorded as 'sending' before it goes; what was accepted is 'sent', the rest is sent by
    the job's retry, once each."""
    from sqlalchemy import func, select

    from eventhub.extensions import db, jobs
    from eventhub.gateways.mail import MailError, SmtpSender
    from eventhub.models import Delivery

    app.config["INVITE_RETRY_INTERVALS"] = (600, 600)  # the retry comes only when the test makes it due
    accepted = []
    send_prepared = SmtpSender.send_prepared

    def lost_after_seven(self, copy, recipient):
        if len(accepted) == 7:
            raise MailError("the mail server closed the connection", permanent=False)
        send_prepared(self, copy, recipient)
        accepted.append(recipient)

    monkeypatch.setattr(SmtpSender, "send_prepared", lost_after_seven)
    attendees = [{"email": f"p{n:02d}@example.com"} for n in range(30)]
    created = client.post("/api/v1/events", headers=auth_headers, json={
        "title": "All hands", "start": "2030-03-05T14:00:00Z", "attendees": attendees}).json
    jobs.wait_local(timeout=30)  # the first attempt; its retry is ten minutes away
    with app.app_context():
        statuses = dict(db.session.execute(select(Delivery.status, func.count()).where(
            Delivery.event_id == created["id"]).group_by(Delivery.status)).all())
        db.session.remove()
    assert statuses == {"sent": 7, "sending": 23}
    assert client.get(f"/api/v1/events/{created['id']}", headers=auth_headers).json["invites"] == {
        "sent": 7, "failed": 0, "pending": 23}

    monkeypatch.setattr(SmtpSender, "send_prepared", send_prepared)
    with app.app_context():
        retry_now(created["id"])
        db.session.remove()
    jobs.wait_local(timeout=30)  # the retry, now due
    received = sorted(item["to"][0] for item in mail.messages)
    assert received == sorted(a["email"] for a in attendees)  # the first seven once, the rest once
