"""Benchmark of the invite fan-out: one town hall, 5,000 attendees, sent by a real `worker.py --burst`.

The town hall is a weekly series of 6 occurrences at a fixed UTC time that crosses the United States'
spring clock change (New York's local time moves by an hour, Manila's does not); attendees are split
evenly between a Manila and a New York group. It is created through `POST /api/v1/events` (Flask's test
client), its job goes to a queue of its own on the bench Redis, and `python worker.py --burst` runs it as a
separate process against an aiosmtpd sink that counts messages.

Printed, beside two ceilings measured against the same sink in the same run (raw `smtplib` sending a
small message, and sending one of these invites' own bytes): messages/s from the worker's start to its
exit (process start, app creation, the jobs) and while sending (the sink's first to last message), the
worker's peak memory, and whether the sink and the `deliveries` table both hold exactly 5,000. Never part
of the test run's pass/fail.

Run alone with `python -m bench.run invites`; `python -m bench.bench_invites --profile [N]` instead runs
the job under cProfile in-process (SimpleWorker) for N attendees and prints where the time goes.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path

from bench import common
from bench.baselines import fmt_rate, ratio_text, raw_smtp_rate, redis_url, smtp_sink

ATTENDEES = 5_000
OCCURRENCES = 6
GROUPS = (("Manila", "Asia/Manila"), ("New York", "America/New_York"))


def one_invite(app, event_id: str) -> bytes:
    """The bytes of the first attendee's invite, as the fan-out sends them."""
    from sqlalchemy import select

    from eventhub.extensions import db
    from eventhub.models import Attendee, Event, Organizer
    from eventhub.services.delivery import Recipient
    from eventhub.services.invites import InviteWriter

    with app.app_context():
        event = db.session.get(Event, event_id)
        attendee = db.session.scalars(select(Attendee).where(Attendee.event_id == event_id).limit(1)).one()
        copy = InviteWriter(event, db.session.get(Organizer, event.organizer_id)).copy(
            attendee, Recipient(attendee.id, attendee.email, "request", event.sequence))
        db.session.remove()
        return copy.data if hasattr(copy, "data") else copy.as_bytes()


def run(baselines: dict) -> dict:
    """Create the town hall, run the worker once, print the figures and whether every invite arrived."""
    from redis import Redis
    from rq import Queue

    queue_name = f"bench-invites-{uuid.uuid4().hex[:12]}"
    connection = Redis.from_url(redis_url())
    queue = Queue(queue_name, connection=connection)
    made = None
    with tempfile.TemporaryDirectory(prefix="bench-invites-") as folder, smtp_sink() as (host, port, counter):
        url = common.database_url(Path(folder))
        try:
            settings = common.app_settings(url, queue_name, (host, port))
            app = common.make_app(settings, Path(folder) / "instance")
            made = common.create_town_hall(app, common.event_payload(GROUPS, OCCURRENCES),
                                           common.people(ATTENDEES, GROUPS))
            event_id = made["event"]["id"]
            print(f"town hall: {ATTENDEES:,} attendees in 2 groups (Manila, New York), weekly series of "
                  f"{OCCURRENCES} crossing New York's March DST change; {common.database_label(url)}; "
                  f"queue {queue_name}")
            print(f"create through the API: {made['seconds']:.2f} s ({ATTENDEES / made['seconds']:,.0f} attendees/s)")
            invite = one_invite(app, event_id)
            raw_small = raw_smtp_rate(host, port)
            raw_same = raw_smtp_rate(host, port, raw=invite)
            before = counter.messages
            counter.first_at = None
            worker = common.run_worker(common.worker_env(settings))
            received = counter.messages - before
            sending = (counter.last_at - counter.first_at) if received > 1 else None
            sent_rows = common.delivered(app, event_id)
        finally:
            common.cleanup_redis(connection, queue, made["job_ids"] if made else (),
                                 [made["event"]["id"]] if made else ())
            connection.close()

    rate = ATTENDEES / worker["seconds"]
    sending_rate = (received - 1) / sending if sending else 0.0
    print(f"ceilings, same sink, same run: raw smtplib {fmt_rate(raw_small)} msg/s with a small message "
          f"({baselines.get('smtp_msgs_per_s') and fmt_rate(baselines['smtp_msgs_per_s'])} in the baseline), "
          f"{fmt_rate(raw_same)} msg/s with one of these invites ({len(invite):,} bytes) sent as it is")
    print(f"worker: {worker['seconds']:.2f} s from start to exit (exit {worker['returncode']}); "
          f"{common.memory_text(worker)}")
    problems = []
    if received != ATTENDEES:
        problems.append(f"sink received {received:,} messages, expected {ATTENDEES:,}")
    if sent_rows != ATTENDEES:
        problems.append(f"deliveries has {sent_rows:,} 'sent' rows, expected {ATTENDEES:,}")
    if worker["returncode"] != 0:
        problems.append(f"worker exited {worker['returncode']}:\n{worker['output'][-2000:]}")
    print(f"check: OK (sink received {ATTENDEES:,} messages; deliveries has {ATTENDEES:,} 'sent' rows)"
          if not problems else "check: MISMATCH: " + "; ".join(problems))
    print(f"invites {ATTENDEES:,} attendees: {fmt_rate(rate)} msg/s start to exit "
          f"({ratio_text(rate, raw_small, 'raw smtp')}, {ratio_text(rate, raw_same, 'raw smtp same bytes')}); "
          f"{fmt_rate(sending_rate)} msg/s while sending ({ratio_text(sending_rate, raw_small, 'raw smtp')}, "
          f"{ratio_text(sending_rate, raw_same, 'raw smtp same bytes')})")
    return {
        "invites_msgs_per_s": round(rate, 1),
        "invites_sending_msgs_per_s": round(sending_rate, 1),
        "invites_ratio_raw_smtp": round(rate / raw_small, 3),
        "invites_sending_ratio_raw_smtp": round(sending_rate / raw_small, 3),
        "invites_sending_ratio_raw_same_bytes": round(sending_rate / raw_same, 3),
        "invites_worker_s": round(worker["seconds"], 2),
        "invites_worker_peak_rss_mib": round(worker["peak_mib"], 1),
        "invites_create_s": round(made["seconds"], 3),
        "invites_check_ok": not problems,
    }


# ---------------------------------------------------------------- profiling the fan-out in-process


def profile(attendees: int = 1000, top: int = 30) -> None:
    """Run the job under cProfile in this process (SimpleWorker) and print where the time goes per message."""
    import pstats

    from redis import Redis
    from rq import Queue

    queue_name = f"bench-invites-profile-{uuid.uuid4().hex[:12]}"
    connection = Redis.from_url(redis_url())
    queue = Queue(queue_name, connection=connection)
    made = None
    with tempfile.TemporaryDirectory(prefix="bench-invites-") as folder, smtp_sink() as (host, port, counter):
        try:
            app = common.make_app(common.app_settings(f"sqlite:///{Path(folder) / 'bench.db'}", queue_name,
                                                      (host, port)), Path(folder) / "instance")
            made = common.create_town_hall(app, common.event_payload(GROUPS, OCCURRENCES),
                                           common.people(attendees, GROUPS))
            profiler, seconds = common.profiled_burst(app, queue, connection)
        finally:
            common.cleanup_redis(connection, queue, made["job_ids"] if made else (),
                                 [made["event"]["id"]] if made else ())
            connection.close()
    print(f"{attendees:,} attendees, {counter.messages:,} messages in {seconds:.2f} s under cProfile "
          f"({seconds / attendees * 1000:.2f} ms/message)")
    steps = {  # label: the profiled functions (file name ending, function name) whose cumulative times add up
        "fan_out (all of the job's sending)": [("delivery.py", "fan_out")],
        "  building each copy (InviteWriter.copy)": [("invites.py", "copy")],
        "    shared parts, once per kind (_share)": [("invites.py", "_share")],
        "    the attendee's calendar": [("calendar.py", "for_attendee")],
        "    the copy's bytes (ImipForMany.copy)": [("imip.py", "copy")],
        "  a message built whole (fallback)": [("imip.py", "build_imip_message")],
        "  smtplib sendmail (SMTP round trips)": [("smtplib.py", "sendmail")],
        "  records: the batch as 'sending'": [("delivery.py", "_mark_sending")],
        "  records: each outcome (_record)": [("delivery.py", "_record")],
        "  lease renewals": [("delivery.py", "keep")],
    }
    common.print_profile_steps(pstats.Stats(profiler), steps, attendees, seconds, top)


if __name__ == "__main__":
    if "--profile" in sys.argv:
        numbers = [int(arg) for arg in sys.argv[1:] if arg.isdigit()]
        profile(*numbers[:1])
    else:
        run({})
