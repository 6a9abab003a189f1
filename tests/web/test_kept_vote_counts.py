"""Each question's votes are tallied by the database's triggers on `votes`: a vote reads the tally instead of
counting the question's rows (which grows with the votes), every way a vote changes keeps it equal to the rows,
and on PostgreSQL a take-back waits for a merge in progress instead of locking against it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from eventhub.extensions import db
from eventhub.models import Event, Question, Vote, VoteTally
from eventhub.services.question_window import close_questions
from tests.factories import create_town_hall, links, people


def _kept_and_rows(question_id: str) -> tuple[int, int]:
    db.session.remove()  # read anew
    kept = db.session.scalar(select(func.coalesce(func.sum(VoteTally.votes), 0)).where(
        VoteTally.question_id == question_id))
    rows = db.session.scalar(select(func.count()).select_from(Vote).where(Vote.question_id == question_id))
    return kept, rows


def _board_votes(client, token: str) -> dict[str, int]:
    return {q["id"]: q["votes"] for q in client.get(f"/api/v1/ask/{token}").json["questions"]}


def test_votes_take_backs_a_merge_and_the_close_keep_the_count_equal_to_the_rows(client, auth_headers):
    event = create_town_hall(client, auth_headers, attendees=people(6))
    tokens = list(links(event["id"]).values())
    first = client.post(f"/api/v1/ask/{tokens[0]}/questions", json={"text": "Hybrid Fridays?"}).json["id"]
    second = client.post(f"/api/v1/ask/{tokens[1]}/questions", json={"text": "Remote Fridays?"}).json["id"]

    def vote(n: int, question: str, method: str = "POST") -> int:
        answer = client.open(f"/api/v1/ask/{tokens[n]}/questions/{question}/vote", method=method)
        assert answer.status_code == 200, answer.json
        return answer.json["votes"]

    assert [vote(n, first) for n in range(4)] == [1, 2, 3, 4]
    assert [vote(n, second) for n in range(2, 6)] == [1, 2, 3, 4]
    assert vote(0, first) == 4  # a second vote by the same link is not stored, nor counted
    assert vote(1, first, "DELETE") == 3
    assert vote(1, first, "DELETE") == 3  # nothing left to take back
    assert _kept_and_rows(first) == (3, 3) and _kept_and_rows(second) == (4, 4)

    merged = client.post(f"/api/v1/questions/{second}/merge", json={"into": first}, headers=auth_headers)
    assert merged.status_code == 200 and merged.json["votes"] == 5  # links 0, 2, 3 and 4, 5: 2 and 3 once
    assert _kept_and_rows(first) == (5, 5) and _kept_and_rows(second) == (0, 0)
    assert _board_votes(client, tokens[5]) == {first: 5}

    stored = db.session.get(Event, event["id"])
    stored.questions_close = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    close_questions(event["id"])
    assert _kept_and_rows(first) == (0, 0)  # the rows are gone with the key; the question kept its count at close
    assert db.session.get(Question, first).votes_at_close == 5
    assert _board_votes(client, tokens[5]) == {first: 5}


def test_a_vote_reads_the_tally_rather_than_counting_the_rows(client, auth_headers):
    event = create_town_hall(client, auth_headers, attendees=people(3))
    tokens = list(links(event["id"]).values())
    question = client.post(f"/api/v1/ask/{tokens[0]}/questions", json={"text": "Hybrid Fridays?"}).json["id"]
    assert client.post(f"/api/v1/ask/{tokens[1]}/questions/{question}/vote").json == {"votes": 1}
    # As if 10,000 links had voted already: the next vote costs no more, and adds one to what is kept.
    db.session.execute(update(VoteTally).where(VoteTally.question_id == question).values(votes=10_000))
    db.session.commit()
    assert client.post(f"/api/v1/ask/{tokens[2]}/questions/{question}/vote").json == {"votes": 10_001}
    assert client.post(f"/api/v1/ask/{tokens[2]}/questions/{question}/vote").json == {"votes": 10_001}
    assert client.delete(f"/api/v1/ask/{tokens[2]}/questions/{question}/vote").json == {"votes": 10_000}


class InFlight:
    """Another transaction in progress on a raw connection, holding `lock_sql`'s locks (on SQLite, one writer at a
    time: the whole file)."""

    def __init__(self, lock_sql: str, params: tuple):
        self.postgres = db.engine.dialect.name == "postgresql"
        self.marker = "%s" if self.postgres else "?"
        self.connection = db.engine.raw_connection()
        self.cursor = self.connection.cursor()
        if self.postgres:
            self.cursor.execute("SET lock_timeout = '5s'")  # a wait on the other side raises rather than hangs
            self.cursor.execute(lock_sql, params)
        else:
            self.connection.driver_connection.isolation_level = None
            self.cursor.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.connection.commit() if self.postgres else self.cursor.execute("COMMIT")

    def close(self) -> None:
        self.connection.close()


@pytest.mark.parametrize("action", ["take back", "vote"])
def test_a_vote_or_take_back_during_a_merge_waits_for_it_and_neither_locks_out_the_other(
        app, client, auth_headers, action):
    """A merge locks its two questions, then moves their vote rows. A vote or take-back arriving meanwhile locks its
    question first, so it waits holding nothing; taken in the other order (its vote row, then the question, as the
    foreign key checks do), the two would each wait for the other until the database killed one (a 503)."""
    event = create_town_hall(client, auth_headers, attendees=people(3))
    tokens = list(links(event["id"]).values())
    first = client.post(f"/api/v1/ask/{tokens[0]}/questions", json={"text": "Hybrid Fridays?"}).json["id"]
    second = client.post(f"/api/v1/ask/{tokens[1]}/questions", json={"text": "Remote Fridays?"}).json["id"]
    assert client.post(f"/api/v1/ask/{tokens[2]}/questions/{first}/vote").json == {"votes": 1}
    db.session.remove()

    # A merge in progress: its questions locked, its vote rows next.
    merge = InFlight("SELECT id FROM questions WHERE id IN (%s, %s) ORDER BY id FOR UPDATE", (first, second))
    answers = []
    # The link whose vote the merge moves takes it back from the first question, or votes on the second.
    method, question = ("DELETE", first) if action == "take back" else ("POST", second)
    attendee = threading.Thread(target=lambda: answers.append(
        app.test_client().open(f"/api/v1/ask/{tokens[2]}/questions/{question}/vote", method=method)))
    attendee.start()
    try:
        time.sleep(0.5)
        assert attendee.is_alive()  # waiting for the merge
        merge.cursor.execute(f"UPDATE votes SET question_id = {merge.marker} WHERE question_id = {merge.marker}",
                             (second, first))
        assert merge.cursor.rowcount == 1  # not held up by the attendee (on PostgreSQL, lock_timeout would raise)
        merge.commit()
    finally:
        merge.close()
        attendee.join(10)
    # Its vote had moved to the second question: nothing to take back from the first, and no second vote there. A
    # vote's count on PostgreSQL is the question's as its statement found it when it began (before the merge).
    expected = 0 if action == "take back" or merge.postgres else 1
    assert answers[0].status_code == 200 and answers[0].json == {"votes": expected}
    assert _kept_and_rows(first) == (0, 0) and _kept_and_rows(second) == (1, 1)


def test_the_close_waits_for_a_vote_in_flight_holding_nothing_it_needs(app, client, auth_headers):
    """A vote holds its question (shared), then wants its link's counter; the close locks the questions before
    deleting any counter, so it waits for the vote instead of each waiting for the other."""
    event = create_town_hall(client, auth_headers, attendees=people(2))
    tokens = list(links(event["id"]).values())
    question = client.post(f"/api/v1/ask/{tokens[0]}/questions", json={"text": "Hybrid Fridays?"}).json["id"]
    assert client.post(f"/api/v1/ask/{tokens[1]}/questions/{question}/vote").json == {"votes": 1}
    stored = db.session.get(Event, event["id"])
    stored.questions_close = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    db.session.remove()
    vote = InFlight("SELECT id FROM questions WHERE id = %s FOR KEY SHARE", (question,))
    closing = threading.Thread(target=lambda: (app.app_context().push(), close_questions(event["id"])))
    closing.start()
    try:
        time.sleep(0.5)
        assert closing.is_alive()  # waiting for the vote
        vote.cursor.execute("UPDATE vote_counters SET uses = uses + 1")  # the counter the close would delete
        assert vote.cursor.rowcount == 1  # not held up by the close (on PostgreSQL, lock_timeout would raise)
        vote.commit()
    finally:
        vote.close()
        closing.join(10)
    assert not closing.is_alive()
    assert db.session.get(Question, question).votes_at_close == 1
    assert db.session.scalar(select(func.count()).select_from(VoteTally)) == 0  # gone with the votes


def test_a_merge_that_waited_for_another_sees_it_and_refuses(app, client, auth_headers):
    """Merging B into A while A is being merged into B: the second merge waits for the first, reads the questions
    again as the first left them, and refuses (A is merged now), so no question ends merged into itself."""
    event = create_town_hall(client, auth_headers, attendees=people(2))
    tokens = list(links(event["id"]).values())
    first = client.post(f"/api/v1/ask/{tokens[0]}/questions", json={"text": "Hybrid Fridays?"}).json["id"]
    second = client.post(f"/api/v1/ask/{tokens[1]}/questions", json={"text": "Remote Fridays?"}).json["id"]
    db.session.remove()
    merging = InFlight("SELECT id FROM questions WHERE id IN (%s, %s) ORDER BY id FOR UPDATE", (first, second))
    answers = []
    other = threading.Thread(target=lambda: answers.append(app.test_client().post(
        f"/api/v1/questions/{second}/merge", json={"into": first}, headers=auth_headers)))
    other.start()
    try:
        time.sleep(0.5)
        assert other.is_alive()  # waiting for the first merge
        merging.cursor.execute(f"UPDATE questions SET merged_into = {merging.marker}, status = 'hidden' "
                               f"WHERE id = {merging.marker}", (second, first))
        merging.commit()
    finally:
        merging.close()
        other.join(10)
    assert answers[0].status_code == 422 and answers[0].json["error"]["field"] == "into"
    db.session.remove()
    assert db.session.get(Question, second).merged_into is None
    assert db.session.get(Question, first).merged_into == second
