"""Benchmark of the summary fan-out: one town hall, 10,000 attendees, sent by a real `worker.py --burst`.

The town hall has 10,000 attendees in four zones (Manila, New York, London and the event's own zone) and a
handful of questions with votes and answers, all made through the API (Flask's test client). Its invite
job is taken off the queue: only `POST /api/v1/events/<id>/summary` is measured. `python worker.py --burst`
then runs the summary job as a separate process against an aiosmtpd sink that counts messages.

Printed: wall time from worker start to exit (process start, app creation and the job), messages/s and
their ratio to raw smtplib, the worker's peak memory (VmHWM polled from /proc, as in bench_invites), the
Redis memory the job holds (`MEMORY USAGE` of its keys, polled during the run and read once it finished),
and whether the sink and the `deliveries` table both hold exactly 10,000. Run on a fresh SQLite file and,
when BENCH_DATABASE_URL is set, on that database too. Never part of the test run's pass/fail.

Run alone with `python -m bench.run summary`; `python -m bench.bench_summary --profile [N]` instead runs
the job under cProfile in-process (SimpleWorker) for N attendees and prints where the time goes.
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from pathlib import Path

from bench import common
from bench.baselines import fmt_rate, ratio_text, raw_smtp_rate, redis_url, smtp_sink

ATTENDEES = 10_000
GROUPS = (("Manila", "Asia/Manila"), ("New York", "America/New_York"), ("London", "Europe/London"), (None, None))
QUESTIONS = (  # text, how many attendees vote for it, the answer (None: carried over)
    ("Will the new office open before summer?", 40, "Yes, in May."),
    ("Can we get better chairs?", 25, None),
    ("What is the plan for hiring in Manila?", 12, "Ten roles, posted next week."),
    ("Will town halls be recorded?", 6, None),
    ("Is the offsite still in Lisbon?", 0, "It is, in June."),
)
NOTES = "Thanks for coming. The slides are on the intranet; the next town hall is in three months."
ACTION_ITEMS = ("Publish the hiring plan", "Order chairs for the second floor", "Record the next town hall")


# ---------------------------------------------------------------- the town hall


def create_town_hall(app, queue, attendees: int = ATTENDEES) -> dict:
    """The organizer, the town hall (its invites taken off the queue), its questions, votes and answers;
    `common.create_town_hall`'s answer."""
    made = common.create_town_hall(app, common.event_payload(GROUPS, timezone="America/Chicago"),
                                   common.people(attendees, GROUPS))
    for job_id in made["job_ids"]:
        queue.remove(job_id)  # the invites are not what this benchmark measures
    ask_and_answer(app, app.test_client(), made["headers"], made["event"]["id"])
    return made


def ask_and_answer(app, client, headers: dict, event_id: str) -> None:
    """The questions, asked and voted on through attendees' personal links, some answered by the organizer."""
    from sqlalchemy import select

    from eventhub.extensions import db
    from eventhub.models import Attendee
    from eventhub.services.events import personal_token

    most_votes = max(votes for _, votes, _ in QUESTIONS)
    with app.app_context():
        ids = db.session.scalars(select(Attendee.id).where(Attendee.event_id == event_id)
                                 .order_by(Attendee.id).limit(most_votes + len(QUESTIONS))).all()
        tokens = [personal_token(attendee_id) for attendee_id in ids]
        db.session.remove()
    for number, (text, votes, answer) in enumerate(QUESTIONS):
        asked = client.post(f"/api/v1/ask/{tokens[number]}/questions", json={"text": text})
        if asked.status_code != 201:
            raise RuntimeError(f"asking failed: {asked.status_code} {asked.get_data(as_text=True)}")
        question_id = asked.json["id"]
        for token in tokens[len(QUESTIONS):len(QUESTIONS) + votes]:
            voted = client.post(f"/api/v1/ask/{token}/questions/{question_id}/vote")
            if voted.status_code != 200:
                raise RuntimeError(f"voting failed: {voted.status_code} {voted.get_data(as_text=True)}")
        if answer:
            answered = client.patch(f"/api/v1/questions/{question_id}", json={"answer": answer}, headers=headers)
            if answered.status_code != 200:
                raise RuntimeError(f"answering failed: {answered.status_code} {answered.get_data(as_text=True)}")


def start_summary(app, headers: dict, event_id: str) -> str:
    response = app.test_client().post(f"/api/v1/events/{event_id}/summary", headers=headers,
                                      json={"notes": NOTES, "action_items": list(ACTION_ITEMS)})
    if response.status_code != 202:
        raise RuntimeError(f"sending the summary failed: {response.status_code} {response.get_data(as_text=True)}")
    return response.json["job_id"]


def summary_outcome(app, event_id: str) -> tuple[int, str]:
    """How many 'sent' summary deliveries the event has, and the summary's status."""
    from sqlalchemy import func, select

    from eventhub.extensions import db
    from eventhub.models import Delivery, Summary

    with app.app_context():
        sent = db.session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.event_id == event_id, Delivery.kind == "summary", Delivery.status == "sent"))
        status = db.session.scalar(select(Summary.status).where(Summary.event_id == event_id))
        db.session.remove()
        return sent, status


# ---------------------------------------------------------------- Redis: what the job holds


def job_keys(connection, queue, job_id: str, event_id: str) -> list[str]:
    """The keys the summary job occupies: its hash and results, the queue and its registries, the lease."""
    from eventhub.services.delivery import LEASE_PREFIX

    keys = [f"rq:job:{job_id}", f"rq:results:{job_id}", queue.key]
    keys += [key.decode() for key in connection.scan_iter(match=f"{LEASE_PREFIX}{event_id}:summary*", count=1000)]
    return keys + [key.decode() for key in connection.scan_iter(match=f"rq:*:{queue.name}", count=1000)]


def memory_usage(connection, keys: list[str]) -> int:
    """Bytes Redis reports for `keys` (`MEMORY USAGE ... SAMPLES 0`, exact); missing keys count 0."""
    pipeline = connection.pipeline(transaction=False)
    for key in keys:
        pipeline.memory_usage(key, samples=0)
    return sum(size or 0 for size in pipeline.execute())


class RedisPeak(threading.Thread):
    """Polls the job's Redis footprint every 100 ms until stopped; `peak` in bytes."""

    def __init__(self, connection, keys: list[str]):
        super().__init__(daemon=True)
        self.connection, self.keys = connection, keys
        self.peak = 0
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            self.peak = max(self.peak, memory_usage(self.connection, self.keys))
            self.done.wait(0.1)


# ---------------------------------------------------------------- one run


def run_once(baselines: dict, database_url: str | None, database: str) -> dict:
    """Create the town hall on `database_url` (None: a fresh SQLite file), run the worker once, print figures."""
    from redis import Redis
    from rq import Queue

    queue_name = f"bench-summary-{uuid.uuid4().hex[:12]}"
    connection = Redis.from_url(redis_url())
    queue = Queue(queue_name, connection=connection)
    job_ids: list[str] = []
    event_id = None
    rate_keys = common.rate_keys(connection)
    with tempfile.TemporaryDirectory(prefix="bench-summary-") as folder, smtp_sink() as (host, port, counter):
        try:
            raw_rate, raw_source = raw_smtp_rate(host, port), "measured here, same sink"
            settings = common.app_settings(database_url or f"sqlite:///{Path(folder) / 'bench.db'}", queue_name,
                                           (host, port))
            app = common.make_app(settings, Path(folder) / "instance")
            made = create_town_hall(app, queue)
            event, headers, create_seconds = made["event"], made["headers"], made["seconds"]
            event_id = event["id"]
            job_ids += made["job_ids"]
            print(f"town hall: {ATTENDEES:,} attendees in {len(GROUPS)} zones, {len(QUESTIONS)} questions with "
                  f"votes and answers; {database}; queue {queue_name}")
            print(f"create through the API: {create_seconds:.2f} s ({ATTENDEES / create_seconds:,.0f} attendees/s, "
                  f"Flask test client, {len(made['pages'])} request(s))")

            redis_before = connection.info("memory")["used_memory"]
            job_id = start_summary(app, headers, event_id)
            job_ids.append(job_id)
            keys = job_keys(connection, queue, job_id, event_id)
            queued_bytes = memory_usage(connection, keys)

            before = (counter.messages, counter.recipients)
            counter.first_at = None
            redis_peak = RedisPeak(connection, keys)
            redis_peak.start()
            try:
                worker = common.run_worker(common.worker_env(settings))
            finally:
                redis_peak.done.set()
                redis_peak.join()
            received, recipients = counter.messages - before[0], counter.recipients - before[1]
            sending = (counter.last_at - counter.first_at) if received > 1 else None
            finished_bytes = memory_usage(connection, job_keys(connection, queue, job_id, event_id))
            redis_delta = connection.info("memory")["used_memory"] - redis_before
            sent_rows, summary_status = summary_outcome(app, event_id)
            job = queue.fetch_job(job_id)
            job_status = getattr(job.get_status(), "value", "?") if job is not None else "missing"
            job_seconds = ((job.ended_at - job.started_at).total_seconds()
                           if job is not None and job.ended_at and job.started_at else None)
        finally:
            common.cleanup_redis(connection, queue, job_ids, [event_id] if event_id else (), rate_keys)
            connection.close()

    rate = ATTENDEES / worker["seconds"]
    sending_rate = (received - 1) / sending if sending else 0.0
    peak = worker["peak_mib"]
    job_clock = f", job {job_seconds:.2f} s by RQ's own clock" if job_seconds is not None else ""
    print(f"worker: {worker['seconds']:.2f} s from start to exit (exit {worker['returncode']}){job_clock}, "
          f"job {job_status}")
    print(f"worker {common.memory_text(worker)}")
    print(f"redis: the job's keys (job hash, results, queue and its registries, lease) hold "
          f"{queued_bytes / 1024:.1f} KiB queued, {redis_peak.peak / 1024:.1f} KiB at most while running "
          f"(MEMORY USAGE polled every 100 ms), {finished_bytes / 1024:.1f} KiB finished; INFO used_memory "
          f"moved {redis_delta / 1024:+,.0f} KiB over the job (the whole server, so others' keys count too)")
    problems = []
    if received != ATTENDEES or recipients != ATTENDEES:
        problems.append(f"sink received {received:,} messages for {recipients:,} recipients, expected {ATTENDEES:,}")
    if sent_rows != ATTENDEES:
        problems.append(f"deliveries has {sent_rows:,} 'sent' summary rows, expected {ATTENDEES:,}")
    if summary_status != "sent":
        problems.append(f"the summary is {summary_status!r}, not 'sent'")
    if job_status != "finished":
        problems.append(f"the job is {job_status}, not finished")
    if worker["returncode"] != 0:
        problems.append(f"worker exited {worker['returncode']}:\n{worker['output'][-2000:]}")
    print(f"check: OK (sink received {ATTENDEES:,} messages; deliveries has {ATTENDEES:,} 'sent' rows)"
          if not problems else "check: MISMATCH: " + "; ".join(problems))
    print(f"summary {ATTENDEES:,} attendees: {fmt_rate(rate)} msg/s start to exit "
          f"({ratio_text(rate, raw_rate, 'raw smtp')}), {fmt_rate(sending_rate)} msg/s while sending "
          f"({ratio_text(sending_rate, raw_rate, 'raw smtp')}; raw smtp {fmt_rate(raw_rate)} msg/s {raw_source}), "
          f"worker peak RSS {peak:.0f} MiB, job's Redis keys at most {redis_peak.peak / 1024:.1f} KiB")
    figures = {
        "msgs_per_s": round(rate, 1),
        "sending_msgs_per_s": round(sending_rate, 1),
        "ratio_raw_smtp": round(rate / raw_rate, 3) if raw_rate else None,
        "sending_ratio_raw_smtp": round(sending_rate / raw_rate, 3) if raw_rate else None,
        "worker_s": round(worker["seconds"], 2),
        "worker_peak_rss_mib": round(peak, 1),
        "redis_job_peak_kib": round(redis_peak.peak / 1024, 1),
        "create_s": round(create_seconds, 3),
        "check_ok": not problems,
    }
    if job_seconds is not None:
        figures["job_s"] = round(job_seconds, 2)
    return figures


def run(baselines: dict) -> dict:
    """The fresh SQLite run, then the BENCH_DATABASE_URL run when that is set."""
    figures = {f"summary_sqlite_{key}": value for key, value in run_once(baselines, None, "fresh SQLite file").items()}
    if os.environ.get("BENCH_DATABASE_URL"):
        print()
        other = run_once(baselines, os.environ["BENCH_DATABASE_URL"], "BENCH_DATABASE_URL")
        figures |= {f"summary_bench_db_{key}": value for key, value in other.items()}
    return figures


# ---------------------------------------------------------------- profiling the fan-out in-process


def profile(attendees: int = 2000, top: int = 30) -> None:
    """Run the job under cProfile in this process (SimpleWorker) and print where the time goes per message."""
    import pstats

    from redis import Redis
    from rq import Queue

    queue_name = f"bench-summary-profile-{uuid.uuid4().hex[:12]}"
    connection = Redis.from_url(redis_url())
    queue = Queue(queue_name, connection=connection)
    job_ids, event_id = [], None
    rate_keys = common.rate_keys(connection)
    with tempfile.TemporaryDirectory(prefix="bench-summary-") as folder, smtp_sink() as (host, port, counter):
        try:
            app = common.make_app(common.app_settings(f"sqlite:///{Path(folder) / 'bench.db'}", queue_name,
                                                      (host, port)), Path(folder) / "instance")
            made = create_town_hall(app, queue, attendees)
            event_id = made["event"]["id"]
            job_ids += [*made["job_ids"], start_summary(app, made["headers"], event_id)]
            profiler, seconds = common.profiled_burst(app, queue, connection)
        finally:
            common.cleanup_redis(connection, queue, job_ids, [event_id] if event_id else (), rate_keys)
            connection.close()
    print(f"{attendees:,} attendees, {counter.messages:,} messages in {seconds:.2f} s under cProfile "
          f"({seconds / attendees * 1000:.3f} ms/message)")
    stats = pstats.Stats(profiler)
    steps = {  # label: the profiled functions (file name ending, function name) whose cumulative times add up
        "fan_out (all of the job's sending)": [("delivery.py", "fan_out")],
        "  building (summary_message, per zone)": [("summaries.py", "summary_message")],
        "  send (serialization + SMTP)": [("mail.py", "send"), ("mail.py", "send_copy")],
        "  records: the batch as 'sending'": [("delivery.py", "_mark_sending")],
        "    as_bytes / generator (serialization)": [("generator.py", "flatten")],
        "    per-copy headers (copy_for)": [("mail.py", "copy_for")],
        "    smtplib sendmail (SMTP round trips)": [("smtplib.py", "sendmail")],
        "  _record (delivery row + commit)": [("delivery.py", "_record")],
        "    session commit": [("scoping.py", "commit")],
        "  report_progress (job meta to Redis)": [("queue.py", "report_progress")],
        "  lease renewals": [("delivery.py", "keep")],
    }
    common.print_profile_steps(stats, steps, attendees, seconds, top)


if __name__ == "__main__":
    import sys

    if "--profile" in sys.argv:
        numbers = [int(arg) for arg in sys.argv[1:] if arg.isdigit()]
        profile(*numbers[:1])
    else:
        run({})
