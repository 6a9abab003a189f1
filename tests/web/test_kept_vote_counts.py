"""Each question keeps its own vote count, kept by the database's triggers on `votes`: a vote reads it instead of
counting the question's rows (which grows with the votes), and every way a vote changes keeps it equal to the rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from eventhub.extensions import db
from eventhub.models import Event, Question, Vote
from eventhub.services.question_window import close_questions
from tests.factories import create_town_hall, links, people


def _kept_and_rows(question_id: str) -> tuple[int, int]:
    db.session.remove()  # read anew
    kept = db.session.scalar(select(Question.vote_count).where(Question.id == question_id))
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


def test_a_vote_reads_the_kept_count_rather_than_counting_the_rows(client, auth_headers):
    event = create_town_hall(client, auth_headers, attendees=people(3))
    tokens = list(links(event["id"]).values())
    question = client.post(f"/api/v1/ask/{tokens[0]}/questions", json={"text": "Hybrid Fridays?"}).json["id"]
    assert client.post(f"/api/v1/ask/{tokens[1]}/questions/{question}/vote").json == {"votes": 1}
    # As if 10,000 links had voted already: the next vote costs no more, and adds one to what is kept.
    db.session.execute(update(Question).where(Question.id == question).values(vote_count=10_000))
    db.session.commit()
    assert client.post(f"/api/v1/ask/{tokens[2]}/questions/{question}/vote").json == {"votes": 10_001}
    assert client.post(f"/api/v1/ask/{tokens[2]}/questions/{question}/vote").json == {"votes": 10_001}
    assert client.delete(f"/api/v1/ask/{tokens[2]}/questions/{question}/vote").json == {"votes": 10_000}
