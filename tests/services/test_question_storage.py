"""What the stored rows and files say, read directly: not the order questions and votes arrived in, no
voter pseudonym once the window closed, and rate-limit counters that neither match each other nor date
a link's last action."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from eventhub.extensions import db, jobs
from eventhub.models import Event, OutboxTask, Question, TaskKind, TaskStatus, Vote
from eventhub.services.question_window import close_questions
from eventhub.services.storage_order import reorder_question_storage
from tests.conftest import database_file_bytes
from tests.factories import create_town_hall, links
from tests.factories import people as attendees


def _town_hall(client, headers, people: int) -> tuple[str, list[str]]:
    event = create_town_hall(client, headers, attendees=attendees(people))
    return event["id"], list(links(event["id"]).values())


def _ask_in_order(client, link: str, count: int) -> list[tuple[str, str]]:
    """(id, text) of `count` questions, in the order they were asked."""
    asked = []
    for n in range(count):
        body = f"Arrival marker {n:02d} zq{n:02d}xw, what is the plan?"
        asked.append((client.post(f"/api/v1/ask/{link}/questions", json={"text": body}).json["id"], body))
    return asked


def _close_now(event_id: str) -> None:
    """The questions close as the close job closes them; the test's session then reads afresh."""
    event = db.session.get(Event, event_id)
    event.questions_close = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    close_questions(event_id)
    db.session.rollback()


def _stored_order(table: str) -> list[str]:
    """Ids in the order the database keeps the rows: PostgreSQL's heap (ctid), SQLite's table b-tree."""
    db.session.rollback()
    order = "ORDER BY ctid" if db.engine.dialect.name == "postgresql" else ""  # SQLite: a scan of the table
    return [row.id for row in db.session.execute(text(f"SELECT * FROM {table} {order}"))]


def test_no_hidden_row_number_counts_arrivals(app, client, auth_headers):
    """SQLite keeps no rowid (rows live in the order of their random keys); PostgreSQL has no such column
    either, and its tables are marked to be rewritten in key order (CLUSTER on the primary key)."""
    event_id, links = _town_hall(client, auth_headers, 2)
    asked = _ask_in_order(client, links[0], 8)
    for question_id, _ in asked:
        client.post(f"/api/v1/ask/{links[1]}/questions/{question_id}/vote")
    for table in ("questions", "votes"):
        with pytest.raises(Exception, match="rowid"):
            db.session.execute(text(f"SELECT rowid FROM {table}"))
        db.session.rollback()
        if db.engine.dialect.name == "sqlite":
            assert _stored_order(table) == sorted(_stored_order(table))  # the random key's order, not arrival
        else:
            clustered = db.session.scalar(text(
                "SELECT indisclustered FROM pg_index WHERE indexrelid = :name ::regclass"), {"name": f"{table}_pkey"})
            assert clustered is True
    if db.engine.dialect.name != "sqlite":
        return
    assert _stored_order("questions") != [question_id for question_id, _ in asked] or len(asked) < 2


def test_the_hourly_rewrite_lays_rows_out_in_key_order_in_the_files(app, client, auth_headers):
    if db.engine.dialect.name == "postgresql":  # no free space left by earlier tests: new rows go in arrival order
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM FULL questions")
    event_id, links = _town_hall(client, auth_headers, 1)
    asked = _ask_in_order(client, links[0], 10)
    by_key = [question_id for question_id, _ in sorted(asked)]
    if db.engine.dialect.name == "postgresql":
        assert _stored_order("questions") == [question_id for question_id, _ in asked]  # the heap: arrival
    jobs.wait_local()  # the invites' job writes its records meanwhile: done before the files are looked at
    db.session.rollback()  # the job runs with no transaction of ours holding the table
    reorder_question_storage()
    assert _stored_order("questions") == by_key
    if db.engine.dialect.name == "sqlite":  # even the bytes in the file follow the key, and the log is empty
        database = Path(db.engine.url.database)
        content = database_file_bytes(database)
        offsets = [content.index(body.encode()) for _, body in sorted(asked)]
        assert offsets == sorted(offsets) or offsets == sorted(offsets, reverse=True)
        wal = Path(f"{database}-wal")
        assert not wal.exists() or wal.stat().st_size == 0


def test_asking_arms_the_rewrite_for_the_next_hour_once_dated_to_the_hour(app, client, auth_headers):
    event_id, links = _town_hall(client, auth_headers, 1)
    _ask_in_order(client, links[0], 3)
    this_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    armed = db.session.scalars(select(OutboxTask).where(OutboxTask.kind == TaskKind.REORDER_STORAGE)).all()
    assert [(task.due_at, task.created_at, task.status) for task in armed] == [
        (this_hour + timedelta(hours=1, minutes=1), this_hour, TaskStatus.PENDING)]


def test_closing_the_window_keeps_the_counts_and_deletes_every_pseudonym(app, client, auth_headers):
    event_id, links = _town_hall(client, auth_headers, 4)
    asked = _ask_in_order(client, links[0], 2)
    for link in links:
        client.post(f"/api/v1/ask/{link}/questions/{asked[0][0]}/vote")
    client.post(f"/api/v1/ask/{links[1]}/questions/{asked[1][0]}/vote")
    pseudonyms = {vote.voter for vote in db.session.query(Vote)}
    assert len(pseudonyms) == 4
    postgres = db.engine.dialect.name == "postgresql"
    file_before = postgres and db.session.execute(text("SELECT pg_relation_filenode('votes')")).scalar()

    _close_now(event_id)
    assert db.session.execute(text("SELECT count(*) FROM votes")).scalar() == 0
    kept = dict(db.session.execute(text("SELECT id, votes_at_close FROM questions")).all())
    assert kept == {asked[0][0]: 4, asked[1][0]: 1}
    board = client.get(f"/api/v1/ask/{links[2]}").json["questions"]
    assert {q["id"]: q["votes"] for q in board} == kept
    listed = client.get(f"/api/v1/events/{event_id}/questions", headers=auth_headers).json["questions"]
    assert {q["id"]: q["votes"] for q in listed} == kept
    merged = client.post(f"/api/v1/questions/{asked[1][0]}/merge", json={"into": asked[0][0]}, headers=auth_headers)
    assert merged.status_code == 409  # nobody could be kept from counting twice any more
    if postgres:  # the vote table was rewritten: the deleted rows' dead tuples went with the old file
        assert db.session.execute(text("SELECT pg_relation_filenode('votes')")).scalar() != file_before
    else:
        database = Path(db.engine.url.database)
        for path in (database, Path(f"{database}-wal")):
            if path.exists():
                content = database_file_bytes(path)
                assert not [p for p in pseudonyms if p.encode() in content], path.name


def test_rate_limits_for_asking_and_voting_count_under_unrelated_keys_in_fixed_windows(
        rq_settings, app, client, auth_headers):
    """Asking counts in Redis, voting in the database beside the votes: each under a pseudonym of its own (not
    the voter's), per hour of the clock, and nothing in either dates a link's last action."""
    event_id, links = _town_hall(client, auth_headers, 1)
    redis = jobs.connection
    if 3600 - time.time() % 3600 < 30:  # counters start again at the hour: begin after it
        time.sleep(3600 - time.time() % 3600 + 0.5)
    question = _ask_in_order(client, links[0], 1)[0][0]
    client.post(f"/api/v1/ask/{links[0]}/questions/{question}/vote")
    keys = {key.decode(): redis.expiretime(key) for key in redis.scan_iter("eventhub:rate:*")}
    assert [k for k in keys if not k.startswith("eventhub:rate:ask:")] == []  # no vote counts in Redis
    [ask_key] = keys
    [counter] = db.session.execute(text("SELECT * FROM vote_counters")).mappings().all()
    voter = db.session.query(Vote).one().voter
    assert len({ask_key.split(":")[3], counter["key"], voter}) == 3
    assert set(counter) == {"key", "hour", "event_id", "uses"} and counter["event_id"] == event_id
    assert str(counter["hour"])[:19] == datetime.now(UTC).replace(minute=0, second=0, microsecond=0,
                                                                  tzinfo=None).isoformat(" ")
    window_end = (int(time.time()) // 3600 + 1) * 3600
    assert set(keys.values()) == {window_end}  # the ask counter expires at the end of the hour

    time.sleep(1.1)  # a later action does not move the expiry, so it cannot be read off the counter
    assert client.post(f"/api/v1/ask/{links[0]}/questions", json={"text": "Another question, later"}).status_code == 201
    client.delete(f"/api/v1/ask/{links[0]}/questions/{question}/vote")  # taking a vote back counts nothing
    client.post(f"/api/v1/ask/{links[0]}/questions/{question}/vote")
    assert {redis.expiretime(key) for key in redis.scan_iter("eventhub:rate:*")} == {window_end}
    db.session.rollback()
    assert int(redis.get(ask_key)) == 2
    assert db.session.execute(text("SELECT key, uses FROM vote_counters")).all() == [(counter["key"], 2)]


def test_vote_counters_go_when_their_hour_is_over_and_with_the_key_at_the_close(app, client, auth_headers):
    event_id, links = _town_hall(client, auth_headers, 2)
    question = _ask_in_order(client, links[0], 1)[0][0]
    for link in links:
        assert client.post(f"/api/v1/ask/{link}/questions/{question}/vote").status_code == 200
    db.session.execute(text("UPDATE vote_counters SET hour = :hour WHERE key = (SELECT min(key) FROM vote_counters)"),
                       {"hour": datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)})
    db.session.commit()
    reorder_question_storage()  # the hourly job
    db.session.rollback()
    assert db.session.execute(text("SELECT count(*) FROM vote_counters")).scalar() == 1  # this hour's only

    _close_now(event_id)
    assert db.session.execute(text("SELECT count(*) FROM vote_counters")).scalar() == 0


def test_questions_and_votes_rows_hold_nothing_but_the_hour(app, client, auth_headers):
    event_id, links = _town_hall(client, auth_headers, 2)
    question = _ask_in_order(client, links[0], 1)[0][0]
    client.post(f"/api/v1/ask/{links[1]}/questions/{question}/vote")
    row = db.session.execute(text("SELECT * FROM votes")).mappings().one()
    assert set(row.keys()) == {"id", "question_id", "voter", "created_hour"}
    stored = db.session.get(Question, question)
    assert stored.created_hour.minute == 0 and stored.votes_at_close is None
