"""Benchmark of anonymous questions: asking and voting through the real app under gunicorn, on SQLite and PostgreSQL.

For each database (a fresh SQLite file in a temporary folder, as the app configures it; and PostgreSQL
`eventhub_bench`, its schema dropped and recreated each run) a town hall of 2,000 attendees is created
through `POST /api/v1/events` (Flask's test client), 100 of them ask one question each, and the app is
served by `gunicorn wsgi:app` with `REDIS_URL` on the bench Redis, so the per-link limits are shared by
every worker. Each server configuration then gets:

1. board reads on a second town hall (100 questions, 500 votes), wrk cycling through its 2,000 links: first
   with no validator (`board`), then each link sending the ETag it got last (`board304`; nothing changes
   meanwhile, so the 304 rate should be 100 %);
2. asking: wrk over 64 connections for 5 s, a Lua script cycling through the 2,000 links so that no link
   passes its 10 questions an hour;
3. voting: the same, each request a (link, question) pair not used before in the run;
4. 64 concurrent voters on one question: 64 threads with a link each, released by a barrier, each voting
   twice; the count on the board and in the database must be exactly 64.

Each server configuration's ratios are against bare Flask (2 sync workers) measured just before and just
after that configuration's runs (their mean): a shared machine's speed drifts over minutes, and a baseline
from the start of the run made the same code read 0.49x one run and 0.79x the next. Votes are also set against
the floor of any vote on that database: bare Flask committing one inserted row per request under the same
2 sync workers (`bench/durable_write_app.py`, measured once per database).

Every response status is counted (a `response` hook in the Lua script); a 5xx is explained from the
server's log (gunicorn's `--capture-output`). Figures only, never part of the test run's pass/fail.
Run alone with `python -m bench.run questions`; `BENCH_POSTGRES_URL` overrides the PostgreSQL database.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from bench import common
from bench.baselines import (
    durable_write_rps,
    flask_rps,
    fmt_rate,
    load,
    load_tool,
    ratio_text,
    redis_url,
    serve_with_gunicorn,
)
from bench.questions_clients import VOTERS, Announcements, ask_one, concurrent_voters, current_etags, server_errors
from bench.wrk_scripts import lua_script, read_statuses, statuses_text

ATTENDEES = 2_000
QUESTIONS = 100  # gcd(ATTENDEES + 1, QUESTIONS) == 1, so the vote sequence repeats no (link, question) pair
CONNECTIONS = 64
SECONDS = 5
POSTGRES_URL = "postgresql+psycopg://eventhub:eventhub@127.0.0.1:5432/eventhub_bench"
SECRET_KEY = "bench-questions-secret"
READ_VOTES = 500  # votes on the read-only board, so a link's own `voted` flags are there to find
# board: reads of a board of QUESTIONS questions with no validator; board304: the same with the ETag each link
# got last (nothing changes meanwhile, so a 304 each); then asking and voting on another town hall
KINDS = ("board", "board304", "ask", "vote")
# (label, gunicorn worker class, workers, threads): the first is the bare-Flask baseline's own configuration
SERVERS = (("2 sync workers", "sync", 2, 1), ("4 gthread workers x 4 threads", "gthread", 4, 4))


# ---------------------------------------------------------------- the town hall


def app_settings(database_url: str, queue_name: str) -> dict:
    return {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "REDIS_URL": redis_url(),
            "RQ_QUEUE": queue_name, "EVENTHUB_BASE_URL": "http://eventhub.bench"}


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def prepare(settings: dict) -> dict:
    """Schema, organizer, a town hall of ATTENDEES through the API, QUESTIONS asked by as many links."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from eventhub import create_app
    from eventhub.extensions import db
    from eventhub.models import Attendee
    from eventhub.services.events import personal_token
    from eventhub.services.organizers import create_organizer

    app = create_app(settings)
    with app.app_context():
        upgrade()
        _, api_token = create_organizer(f"org-{uuid.uuid4().hex[:8]}@example.com", "correct horse battery staple")
    start = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload = {"title": "Bench town hall", "start": start, "duration_minutes": 60, "timezone": "Europe/London",
               "groups": [{"name": "Manila", "timezone": "Asia/Manila"},
                          {"name": "London", "timezone": "Europe/London"}],
               "attendees": [{"email": f"person{n:05d}@example.com", "group": ("Manila", "London")[n % 2]}
                             for n in range(ATTENDEES)]}
    client = app.test_client()

    def town_hall() -> tuple[str, list[str], list[str]]:
        created = client.post("/api/v1/events", json=payload, headers={"Authorization": f"Bearer {api_token}"})
        if created.status_code != 201:
            raise RuntimeError(f"creating the town hall failed: {created.status_code} {created.get_data(as_text=True)}")
        event_id = created.json["id"]
        with app.app_context():
            ids = db.session.scalars(select(Attendee.id).where(Attendee.event_id == event_id).order_by(Attendee.email))
            tokens = [personal_token(attendee_id) for attendee_id in ids]
            db.session.remove()
        questions = []
        for n in range(QUESTIONS):  # asked by the last QUESTIONS links; the voters test uses the first 64
            asked = client.post(f"/api/v1/ask/{tokens[-1 - n]}/questions", json={"text": f"Seeded question {n}?"})
            if asked.status_code != 201:
                raise RuntimeError(f"seeding a question failed: {asked.status_code} {asked.get_data(as_text=True)}")
            questions.append(asked.json["id"])
        return event_id, tokens, questions

    event_id, tokens, questions = town_hall()
    # A second town hall whose board is only read: QUESTIONS questions, READ_VOTES votes spread over them.
    read_event_id, read_tokens, read_questions = town_hall()
    for n in range(READ_VOTES):
        voted = client.post(f"/api/v1/ask/{read_tokens[n]}/questions/{read_questions[n % QUESTIONS]}/vote")
        if voted.status_code != 200:
            raise RuntimeError(f"seeding a vote failed: {voted.status_code} {voted.get_data(as_text=True)}")
    return {"app": app, "event_id": event_id, "tokens": tokens, "questions": questions,
            "read_event_id": read_event_id, "read_tokens": read_tokens}


def sqlite_settings(app) -> str:
    """The journal mode, sync level and busy timeout the app's own connections end up with."""
    from sqlalchemy import text

    from eventhub.extensions import db

    with app.app_context():
        try:
            found = {name: db.session.execute(text(f"PRAGMA {name}")).scalar()
                     for name in ("journal_mode", "synchronous", "busy_timeout")}
        finally:
            db.session.remove()
    return (f"journal_mode={found['journal_mode']}, synchronous={found['synchronous']}, "
            f"busy_timeout={found['busy_timeout']} ms")


def db_vote_count(app, question_id: str) -> int:
    from sqlalchemy import func, select

    from eventhub.extensions import db
    from eventhub.models import Vote

    with app.app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(Vote).where(Vote.question_id == question_id))
        finally:
            db.session.remove()


def cleanup_redis(app, town_halls: list[tuple[str | None, list[str]]], windows: set[int], queue_name: str) -> None:
    """This run's ask counters (by the links' pseudonyms), its boards' snapshots and versions, and its
    queue; nothing else in the bench Redis. Key names are the owning modules' own."""
    from redis import Redis
    from rq import Queue

    from eventhub.domain.questions import rate_key
    from eventhub.extensions import db
    from eventhub.models import QuestionKey
    from eventhub.services.board import VERSION_KEY
    from eventhub.services.questions import RATE_WINDOW_SECONDS
    from eventhub.services.rate_limit import counter_name

    connection = Redis.from_url(redis_url())
    try:
        for event_id, tokens in town_halls:
            if app is None or not event_id:
                continue
            with app.app_context():
                row = db.session.get(QuestionKey, event_id)
                key = row.key if row is not None else None
                db.session.remove()
            board = VERSION_KEY.format(event_id=event_id).rsplit(":", 1)[0]  # its version and snapshots
            names = list(connection.scan_iter(match=f"{board}:*", count=1000))
            if key is not None:
                names += [counter_name(f"ask:{rate_key(key, token, 'ask')}", RATE_WINDOW_SECONDS, window)
                          for token in tokens for window in windows]  # (votes are counted in the database)
            for i in range(0, len(names), 1000):
                connection.delete(*names[i:i + 1000])
        common.cleanup_redis(connection, Queue(queue_name, connection=connection))
    finally:
        connection.close()


# ---------------------------------------------------------------- the benchmark


class BareFlaskAround:
    """Bare Flask measured just before a server configuration's runs and again just after (`after()` gives
    their mean): on a shared machine the speed drifts over minutes, so each ratio is against the baseline
    of its own minutes rather than the run's first one. Falls back to the run's baseline if one fails."""

    def __init__(self, baselines: dict):
        self.baselines = baselines
        self.before = self._measure()

    def _measure(self) -> float | None:
        try:
            return flask_rps(CONNECTIONS, SECONDS)["flask_rps"]
        except Exception as error:  # the run's own baseline stands in
            print(f"  bare flask not measured again ({type(error).__name__}: {error})")
            return None

    def after(self) -> float | None:
        measured = [rps for rps in (self.before, self._measure()) if rps]
        return sum(measured) / len(measured) if measured else self.baselines.get("flask_rps")


def bench_database(name: str, database_url: str, folder: Path, baselines: dict, figures: dict) -> None:
    queue_name = f"bench-questions-{uuid.uuid4().hex[:12]}"
    settings = app_settings(database_url, queue_name)
    windows = {int(time.time()) // 3600}
    state: dict = {"app": None, "event_id": None, "tokens": []}
    try:
        state = prepare(settings)
        app, tokens, questions = state["app"], state["tokens"], state["questions"]
        if name == "sqlite":
            print(f"sqlite: fresh file; the app's connections have {sqlite_settings(app)}; gunicorn's worker "
                  f"timeout is its default (30 s)")
        commit_us = figures[f"questions_{name}_commit_us"] = round(common.commit_cost_us(app), 1)
        print(f"{name}: a committed one-row insert (a vote commits one) takes {commit_us:,.0f} us here")
        floor = durable_write_rps(database_url, CONNECTIONS, SECONDS)  # what no vote can beat on this machine
        floor_rps = figures[f"questions_{name}_durable_write_rps"] = round(floor["durable_write_rps"], 1)
        read_tokens = state["read_tokens"]
        offsets = {"ask": 0, "vote": 0, "board": 0, "board304": 0}
        for label, worker_class, workers, threads in SERVERS:
            log_path = folder / f"gunicorn-{name}-{worker_class}.log"
            env = {key: str(value) for key, value in settings.items()}
            env["GUNICORN_CMD_ARGS"] = f"--threads {threads} --error-logfile {log_path} --capture-output"
            line, results = [], {}
            around = BareFlaskAround(baselines)  # bare Flask measured again next to this configuration
            with serve_with_gunicorn("wsgi:app", env=env, workers=workers, worker_class=worker_class,
                                     ready_path="/api/v1/ask/none") as base_url:
                etags = current_etags(base_url, read_tokens)
                for kind in KINDS:
                    statuses_file = folder / f"statuses-{kind}.txt"
                    reading = kind.startswith("board")
                    script = lua_script(kind, read_tokens if reading else tokens, questions, offsets[kind],
                                        str(statuses_file), etags if kind == "board304" else None)
                    heard = Announcements(redis_url()) if kind == "vote" else None
                    results[kind] = load(f"{base_url}/", CONNECTIONS, SECONDS, method="GET" if reading else "POST",
                                         headers={} if reading else {"Content-Type": "application/json"},
                                         lua_script=script)
                    if heard is not None:
                        results[kind]["announcements"] = heard.close()
                    results[kind]["statuses"] = read_statuses(statuses_file)
                    offsets[kind] += (results[kind]["requests"] or 0) + 1000
                target = ask_one(base_url, tokens[VOTERS + 1], f"One question for {VOTERS} voters ({label})?")
                voter_statuses, board_votes = concurrent_voters(base_url, tokens, target)
            bare_rps = around.after()
            stored_votes = db_vote_count(app, target)
            windows.add(int(time.time()) // 3600)

            key = f"questions_{name}_{worker_class}{workers}"
            figures[f"{key}_bare_flask_rps"] = round(bare_rps or 0, 1)
            for kind in KINDS:
                result = results[kind]
                non_2xx = sum(c for s, c in result["statuses"].items() if not 200 <= s < 300 and s != 304)
                ratio = ratio_text(result["rps"], bare_rps, "bare flask")
                if kind == "vote":
                    ratio += ", " + ratio_text(result["rps"], floor_rps, "durable write")
                line.append(f"{kind} {fmt_rate(result['rps'])} req/s ({ratio}), p99 {result['p99_ms']:.0f} ms")
                print(f"  {name} {label}, {kind}: {result['requests']:,} requests over {CONNECTIONS} connections, "
                      f"statuses {statuses_text(result['statuses'])}; non-2xx {non_2xx:,}; wrk socket errors and "
                      f"timeouts {max(result['errors'] - non_2xx, 0):,} (wrk counts a response slower than 2 s "
                      f"as a timeout, and still counts it when it arrives)")
                figures[f"{key}_{kind}_rps"] = round(result["rps"], 1)
                figures[f"{key}_{kind}_p99_ms"] = round(result["p99_ms"], 1)
                figures[f"{key}_{kind}_non_2xx"] = non_2xx
                if "announcements" in result:  # what every web process's relay had to read for these votes
                    figures[f"{key}_{kind}_announcements"] = result["announcements"]
                    line.append(f"{result['announcements']:,} board announcements on Redis for "
                                f"{result['requests']:,} votes")
                if kind == "board304":
                    answered = sum(result["statuses"].values()) or 1
                    rate = result["statuses"].get(304, 0) / answered
                    figures[f"{key}_board_304_rate"] = round(rate, 3)
                    line.append(f"304 rate {rate:.1%}")
            exact = board_votes == VOTERS and stored_votes == VOTERS
            print(f"  {name} {label}, {VOTERS} concurrent voters x 2 votes each: statuses "
                  f"{statuses_text(voter_statuses)}; board {board_votes}, database {stored_votes}")
            mismatch = f"MISMATCH: board {board_votes}/{VOTERS}, database {stored_votes}/{VOTERS}"
            print(f"  exact vote count: {f'{VOTERS}/{VOTERS} OK' if exact else mismatch}")
            errors = server_errors(log_path)
            for what, count in errors.most_common():
                print(f"  server error ({name}, {label}): {count:,}x {what}")
            figures[f"{key}_voters_exact"] = exact
            figures[f"{key}_server_errors"] = sum(errors.values())
            line.append(f"{VOTERS} concurrent voters: " + (f"{VOTERS}/{VOTERS} OK" if exact else
                                                           f"{board_votes}/{VOTERS} board, {stored_votes} db"))
            print(f"questions {name} ({label}, against bare flask {fmt_rate(bare_rps or 0)} req/s measured just "
                  f"before and after it): " + "; ".join(line))
    finally:
        cleanup_redis(state.get("app"), [(state.get("event_id"), state.get("tokens", [])),
                                         (state.get("read_event_id"), state.get("read_tokens", []))],
                      windows, queue_name)
        if state.get("app") is not None:
            from eventhub.extensions import db

            with state["app"].app_context():
                db.engine.dispose()


def run(baselines: dict) -> dict:
    """Ask and vote under load on SQLite and PostgreSQL; print figures, ratios and the exact-count check."""
    if load_tool() != "wrk":
        raise RuntimeError("bench_questions needs wrk (its Lua script varies the links); none found")
    print(f"town hall of {ATTENDEES:,} attendees, {QUESTIONS} seeded questions; wrk, {CONNECTIONS} connections, "
          f"{SECONDS} s each; rate limits on {redis_url()}; bare flask is 2 sync workers "
          f"({fmt_rate(baselines['flask_rps']) + ' req/s' if baselines.get('flask_rps') else 'not measured'})")
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-questions-") as folder:
        sqlite_dir = Path(folder, "sqlite")
        sqlite_dir.mkdir()
        bench_database("sqlite", f"sqlite:///{sqlite_dir / 'bench.db'}", Path(folder), baselines, figures)
        postgres_url = os.environ.get("BENCH_POSTGRES_URL") or POSTGRES_URL
        try:
            reset_postgres(postgres_url)
        except Exception as error:  # no PostgreSQL here: say so, keep the SQLite figures
            print(f"postgresql: skipped, cannot reset {urlsplit(postgres_url).path.lstrip('/')}: "
                  f"{type(error).__name__}: {str(error).splitlines()[0]}")
        else:
            print(f"postgresql: database {urlsplit(postgres_url).path.lstrip('/')}, schema dropped and recreated")
            bench_database("postgresql", postgres_url, Path(folder), baselines, figures)
    return figures


if __name__ == "__main__":
    run({})
