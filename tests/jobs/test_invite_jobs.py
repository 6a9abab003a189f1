"""Invites through real RQ: a worker on Redis runs the fan-out and reports progress."""

from rq import SimpleWorker

from eventhub.extensions import jobs
from tests.factories import create_town_hall, people


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
