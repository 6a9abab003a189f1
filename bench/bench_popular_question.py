"""Benchmark: what a vote costs as its question gathers votes, on SQLite and PostgreSQL.

A town hall's top question can gather thousands of votes. A vote answers with the question's new count, read
from the question's tally (`models.VoteTally`, kept by the database's triggers), so its cost should not grow
with the votes already there. For each database (a fresh SQLite file; PostgreSQL `eventhub_bench`, its schema
dropped and recreated) one question is seeded with 0, 1,000, 10,000 and 50,000 votes (rows inserted directly,
the triggers tallying them), and at each size 1,000 votes by new links are cast through `services.votes.add_vote`
in this process: wall time per vote (the database's own work included), against the same at 0 votes. Next to
it, in the same run, what each vote used to run instead: a count of the question's vote rows.
Run alone with `python -m bench.run popular_question`; `BENCH_POSTGRES_URL` overrides the PostgreSQL database.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.bench_questions import POSTGRES_URL, reset_postgres

SIZES = (0, 1_000, 10_000, 50_000)
VOTES = 1_000  # timed at each size
SEED_BATCH = 5_000


def _question(settings: dict) -> tuple:
    """The app on a fresh schema, and one question (with its event id) on a town hall's board."""
    from flask_migrate import upgrade

    from eventhub import create_app
    from eventhub.extensions import db
    from eventhub.models import Attendee
    from eventhub.services.events import personal_token
    from eventhub.services.organizers import create_organizer

    app = create_app(settings)
    with app.app_context():
        upgrade()
        _, api_token = create_organizer(f"org-{uuid.uuid4().hex[:8]}@example.com", "correct horse battery staple")
    client = app.test_client()
    start = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    created = client.post("/api/v1/events", headers={"Authorization": f"Bearer {api_token}"}, json={
        "title": "Popular question", "start": start, "duration_minutes": 60, "timezone": "Europe/London",
        "groups": [{"name": "London", "timezone": "Europe/London"}],
        "attendees": [{"email": "asker@example.com", "group": "London"}]})
    event_id = created.json["id"]
    with app.app_context():
        token = personal_token(db.session.scalar(db.select(Attendee.id).where(Attendee.event_id == event_id)))
        db.session.remove()
    question_id = client.post(f"/api/v1/ask/{token}/questions", json={"text": "Four-day weeks?"}).json["id"]
    return app, event_id, question_id


def _seed(app, question_id: str, count: int) -> None:
    """`count` more votes on the question, inserted as rows (the triggers tally them), in batches."""
    from sqlalchemy import insert

    from eventhub.extensions import db
    from eventhub.models import Vote

    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with app.app_context():
        for first in range(0, count, SEED_BATCH):
            db.session.execute(insert(Vote), [
                {"id": secrets.token_hex(16), "question_id": question_id, "voter": secrets.token_hex(32),
                 "created_hour": hour} for _ in range(min(SEED_BATCH, count - first))])
            db.session.commit()
        db.session.remove()


def _per_vote_us(app, event_id: str, question_id: str) -> tuple[float, float]:
    """Microseconds per vote through `add_vote` (each by a new link), and per count of the question's rows."""
    from sqlalchemy import func, select

    from eventhub.extensions import db
    from eventhub.models import Vote
    from eventhub.services import votes

    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with app.app_context():
        started = time.perf_counter()
        for _ in range(VOTES):
            outcome = votes.add_vote(question_id=question_id, event_id=event_id, voter=secrets.token_hex(32),
                                     limit_key=secrets.token_hex(32), hour=hour, limit=300)
            if not outcome.within_limit:
                raise RuntimeError("a vote by a new link was refused")
        vote_us = (time.perf_counter() - started) / VOTES * 1e6
        count = select(func.count()).select_from(Vote).where(Vote.question_id == question_id)
        started = time.perf_counter()
        for _ in range(100):
            db.session.scalar(count)
        count_us = (time.perf_counter() - started) / 100 * 1e6
        db.session.remove()
    return vote_us, count_us


def _close_seconds(app, event_id: str) -> float:
    from eventhub.extensions import db
    from eventhub.models import Event
    from eventhub.services.questions import close_window

    with app.app_context():
        started = time.perf_counter()
        close_window(db.session.get(Event, event_id))
        took = time.perf_counter() - started
        db.session.remove()
    return took


def bench_database(name: str, database_url: str, figures: dict) -> None:
    app, event_id, question_id = _question({"DATABASE_URL": database_url, "SECRET_KEY": "bench-popular",
                                            "RQ_QUEUE": f"bench-popular-{uuid.uuid4().hex[:8]}"})
    try:
        on_question, first = 0, None  # the question's votes so far: seeded, and the timed ones, which stay
        for size in SIZES:
            _seed(app, question_id, max(size - on_question, 0))
            on_question = max(size, on_question)
            vote_us, count_us = _per_vote_us(app, event_id, question_id)
            on_question += VOTES
            first = first or vote_us
            figures[f"popular_{name}_{size}_vote_us"] = round(vote_us, 1)
            figures[f"popular_{name}_{size}_row_count_us"] = round(count_us, 1)
            print(f"{name}: a vote on a question with {size:,} votes: {vote_us:,.0f} us ({vote_us / first:.2f}x the "
                  f"vote at 0 votes); counting its rows instead, as each vote used to: {count_us:,.0f} us")
        close_s = _close_seconds(app, event_id)
        figures[f"popular_{name}_close_s"] = round(close_s, 2)
        print(f"{name}: closing the questions with {on_question:,} votes on one (the key destroyed, every vote row "
              f"and tally deleted, in one transaction): {close_s:.2f} s, as long as {close_s * 1e6 / first:,.0f} "
              f"votes at 0 votes")
    finally:  # the app's in-process jobs stop before its database goes
        from eventhub.extensions import db

        app.extensions["eventhub_jobs"].close()
        app.extensions["eventhub_boards"].close()
        with app.app_context():
            db.engine.dispose()


def run(baselines: dict) -> dict:
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-popular-") as folder:
        bench_database("sqlite", f"sqlite:///{Path(folder) / 'popular.db'}", figures)
    postgres_url = os.environ.get("BENCH_POSTGRES_URL") or POSTGRES_URL
    reset_postgres(postgres_url)
    bench_database("postgresql", postgres_url, figures)
    return figures


if __name__ == "__main__":
    run({})
