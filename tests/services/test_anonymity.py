"""Anonymity is a property of what is stored: after a round of asking and voting, nothing in the database,
the logs or the job payloads ties a question or a vote to an attendee."""

import logging
import urllib.request
import zlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect, select

from eventhub.extensions import db, jobs
from eventhub.models import Attendee, Question, Vote
from eventhub.services.events import personal_token
from tests.conftest import database_file_bytes
from tests.factories import create_town_hall, links

QUESTION_TABLES = ("questions", "votes", "question_keys")


def _post(url, body):
    request = urllib.request.Request(url, data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return response.read()


def test_nothing_ties_a_question_or_vote_to_an_attendee(rq_settings, app, client, auth_headers, live_server,
                                                        caplog):
    caplog.set_level(logging.DEBUG)
    start = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    people = [{"email": f"person{n}@example.com", "name": f"Person Number{n}", "group": "Manila"} for n in range(6)]
    event = client.post("/api/v1/events", headers=auth_headers, json={
        "title": "Town hall", "start": start, "attendees": people}).json
    attendees = db.session.scalars(select(Attendee).where(Attendee.event_id == event["id"])).all()
    tokens = [personal_token(a.id) for a in attendees]

    # a round of asking and voting over real HTTP, so the server's access log sees the links
    for index, token in enumerate(tokens[:3]):
        _post(f"{live_server}/api/v1/ask/{token}/questions", f'{{"text": "Question from someone {index}"}}')
    question_ids = db.session.scalars(select(Question.id)).all()
    for token in tokens:
        for question_id in question_ids[:2]:
            _post(f"{live_server}/api/v1/ask/{token}/questions/{question_id}/vote", "")
        urllib.request.urlopen(f"{live_server}/ask/{token}").read()

    identifying = set()
    for attendee, token in zip(attendees, tokens, strict=True):
        identifying |= {attendee.id, attendee.email, attendee.name, attendee.token_hash, token}

    # 1. the question tables hold none of it, and no foreign key leads from them to attendees
    for table_name in QUESTION_TABLES:
        table = db.metadata.tables[table_name]
        assert all(fk.column.table.name != "attendees" for fk in table.foreign_keys)
        assert not {"attendee_id", "email", "name", "ip", "user_agent", "token", "token_hash"} & set(table.c.keys())
        rows = db.session.execute(table.select()).all()
        dump = " ".join(str(value) for row in rows for value in row)
        assert not [value for value in identifying if value in dump], table_name
    assert not inspect(db.engine).get_foreign_keys("votes") or all(
        fk["referred_table"] != "attendees" for fk in inspect(db.engine).get_foreign_keys("votes"))

    # 2. times are rounded to the hour, ids are random
    for question in db.session.scalars(select(Question)):
        assert question.created_hour.minute == question.created_hour.second == 0
        assert len(question.id) == 32 and not question.id.isdigit()
    votes = db.session.scalars(select(Vote)).all()
    assert len(votes) == 12 and all(vote.created_hour.minute == 0 for vote in votes)

    # 3. no log line holds a link token or the IP of an ask request
    logged = caplog.text
    assert "/ask/[link]" in logged
    assert not [token for token in tokens if token in logged]
    assert not [line for line in logged.splitlines() if "/ask/" in line and "127.0.0.1" in line]
    assert not [line for line in logged.splitlines() if "werkzeug" in line and "127.0.0.1" in line]

    # 4. no job payload in Redis holds a token, an email or a question's author
    redis = jobs.connection
    payloads = b""
    for key in redis.scan_iter():
        if redis.type(key) == b"hash":
            for value in redis.hgetall(key).values():
                payloads += value
                try:
                    payloads += zlib.decompress(value)
                except zlib.error:
                    pass
        elif redis.type(key) == b"string":
            payloads += redis.get(key)
    assert not [value for value in identifying if value.encode() in payloads]


def test_the_destroyed_voter_key_leaves_no_bytes_in_the_database_files(app, client, auth_headers):
    """Deleting a row is not enough: SQLite's pages and write-ahead log, PostgreSQL's table file keep it."""
    from pathlib import Path

    from sqlalchemy import text

    from eventhub.models import Event, QuestionKey
    from eventhub.services.question_window import close_questions

    event = create_town_hall(client, auth_headers)
    [token] = links(event["id"]).values()
    client.post(f"/api/v1/ask/{token}/questions", json={"text": "Is the key really gone?"})
    key = db.session.get(QuestionKey, event["id"]).key
    postgres = db.engine.dialect.name == "postgresql"
    file_before = postgres and db.session.execute(text("SELECT pg_relation_filenode('question_keys')")).scalar()
    stored = db.session.get(Event, event["id"])
    stored.questions_close = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    close_questions(event["id"])

    if postgres:  # the table was rewritten into a new file; the old one, with the key, is gone
        db.session.rollback()
        assert db.session.execute(text("SELECT pg_relation_filenode('question_keys')")).scalar() != file_before
    else:
        database = Path(db.engine.url.database)
        for path in (database, Path(f"{database}-wal")):
            if path.exists():
                assert key not in database_file_bytes(path), path.name
