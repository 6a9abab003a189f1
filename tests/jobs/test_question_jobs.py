"""The question window through real RQ: the reminder a day before close, scheduled and sent once."""

from datetime import UTC, datetime, timedelta

from rq import SimpleWorker
from rq.registry import ScheduledJobRegistry

from eventhub.extensions import jobs
from eventhub.jobs.questions import send_question_reminder


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_creating_a_town_hall_schedules_the_reminder_a_day_before_questions_close(rq_settings, app, client,
                                                                                   auth_headers):
    close = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    client.post("/api/v1/events", headers=auth_headers, json={
        "title": "Town hall", "start": _iso(close + timedelta(hours=1)), "questions_close": _iso(close),
        "attendees": [{"email": "a@example.com"}]})
    registry = ScheduledJobRegistry(queue=jobs.queue)
    when = {jobs.queue.fetch_job(job_id).func_name: registry.get_scheduled_time(job_id)
            for job_id in registry.get_job_ids()}
    assert when["eventhub.jobs.questions.send_question_reminder"] == close - timedelta(days=1)
    assert when["eventhub.jobs.questions.close_questions"] == close


def test_a_real_worker_sends_each_attendee_one_reminder(rq_settings, app, client, auth_headers, mail):
    close = datetime.now(UTC) + timedelta(hours=23)
    event = client.post("/api/v1/events", headers=auth_headers, json={
        "title": "Town hall", "start": _iso(close + timedelta(hours=1)), "questions_close": _iso(close),
        "attendees": [{"email": "a@example.com", "name": "Ana"}, {"email": "b@example.com"}]}).json
    worker = SimpleWorker([jobs.queue], connection=jobs.connection)
    worker.work(burst=True)  # the invites
    mail.messages.clear()
    for _ in range(2):  # a retried or doubled reminder sends nobody a second one
        jobs.enqueue(send_question_reminder, event["id"])
        worker.work(burst=True)
    reminders = {item["to"][0]: item["message"] for item in mail.messages}
    assert len(mail.messages) == 2 and set(reminders) == {"a@example.com", "b@example.com"}
    text = reminders["a@example.com"].get_body(("plain",)).get_content()
    assert reminders["a@example.com"]["Subject"].strip() == "Questions close soon: Town hall"
    assert "Hello Ana" in text and "http://eventhub.test/ask/" in text
