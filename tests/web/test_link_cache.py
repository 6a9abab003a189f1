"""What a web process keeps of personal links (`services/links.py`) is forgotten the moment it changes.

Every process keeps which town hall a link belongs to, and the town hall's window and voter key. A link
whose attendee was taken off, a window moved or closed, must act at once in this process and, through Redis,
in every other one. A vote is counted against its link's limit in the database, with the vote itself.
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from eventhub.extensions import db
from eventhub.models import Event, Vote
from eventhub.services import board as shared_board
from eventhub.services import links as kept_links
from eventhub.services import questions
from tests.conftest import app_of
from tests.factories import create_town_hall, links, people
from tests.processes import PrivateRedis, wait_for
from tests.web.conftest import BOTH_STORES


@pytest.fixture
def private_redis(settings, tmp_path):
    """A redis-server of this test's own, which the app is configured with (request it before `app`)."""
    redis = PrivateRedis(tmp_path)
    redis.start()
    settings.update(REDIS_URL=redis.url, RQ_QUEUE="eventhub-test")
    yield redis
    redis.stop()


@pytest.fixture
def town_hall(client, auth_headers):
    event = create_town_hall(client, auth_headers, attendees=people(3))
    return event, links(event["id"])


def _ask(client, token, text="Is the office moving?"):
    asked = client.post(f"/api/v1/ask/{token}/questions", json={"text": text})
    assert asked.status_code == 201
    return asked.json["id"]


def _votes(question_id: str) -> int:
    db.session.rollback()  # a fresh read, not this test's own transaction
    return db.session.scalar(select(func.count()).select_from(Vote).where(Vote.question_id == question_id))


@BOTH_STORES
def test_a_link_whose_attendee_was_taken_off_stops_at_once(app, client, town_hall, auth_headers):
    event, tokens = town_hall
    gone = tokens["p2@example.com"]
    question = _ask(client, tokens["p0@example.com"])
    assert client.get(f"/api/v1/ask/{gone}").status_code == 200  # now kept by this process
    kept = [{"email": email} for email in tokens if email != "p2@example.com"]
    assert client.patch(f"/api/v1/events/{event['id']}", json={"attendees": kept},
                        headers=auth_headers).status_code == 200
    assert client.get(f"/api/v1/ask/{gone}").status_code == 404
    assert client.post(f"/api/v1/ask/{gone}/questions/{question}/vote").status_code == 404
    assert _votes(question) == 0


@BOTH_STORES
def test_a_window_moved_into_the_past_closes_votes_at_once(app, client, town_hall):
    event, tokens = town_hall
    question = _ask(client, tokens["p0@example.com"])
    assert client.post(f"/api/v1/ask/{tokens['p1@example.com']}/questions/{question}/vote").status_code == 200
    stored = db.session.get(Event, event["id"])
    stored.questions_close = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    closed = client.post(f"/api/v1/ask/{tokens['p2@example.com']}/questions/{question}/vote")
    assert closed.status_code == 409 and _votes(question) == 0  # the first request after the close took the key


@pytest.mark.parametrize("settings", ["redis"], indirect=True)
def test_another_process_forgets_a_removed_link_through_redis(app, client, settings, town_hall, auth_headers,
                                                              tmp_path):
    event, tokens = town_hall
    gone = tokens["p2@example.com"]
    other = app_of(settings, tmp_path).test_client()  # a second web process on the same database and Redis
    try:
        assert other.get(f"/api/v1/ask/{gone}").status_code == 200
        kept = [{"email": email} for email in tokens if email != "p2@example.com"]
        assert client.patch(f"/api/v1/events/{event['id']}", json={"attendees": kept},
                            headers=auth_headers).status_code == 200
        wait_for(lambda: other.get(f"/api/v1/ask/{gone}").status_code == 404, 2, "the other process to forget it")
    finally:
        other.application.extensions["eventhub_jobs"].close()
        other.application.extensions["eventhub_boards"].close()


@BOTH_STORES
def test_a_vote_past_the_limit_is_taken_back_and_never_shows(app, client, town_hall, monkeypatch):
    _, tokens = town_hall
    monkeypatch.setattr(questions, "VOTES_PER_HOUR", 2)
    asked = [_ask(client, tokens["p0@example.com"], f"Question {n}?") for n in range(3)]
    voter = tokens["p1@example.com"]
    assert [client.post(f"/api/v1/ask/{voter}/questions/{q}/vote").status_code for q in asked] == [200, 200, 429]
    assert _votes(asked[2]) == 0
    board = client.get(f"/api/v1/ask/{voter}").json["questions"]
    assert {q["id"]: (q["votes"], q["voted"]) for q in board} == {asked[0]: (1, True), asked[1]: (1, True),
                                                                  asked[2]: (0, False)}


@BOTH_STORES
def test_a_second_vote_past_the_limit_keeps_the_first(app, client, town_hall, monkeypatch):
    """Taking back a refused vote removes only what that request added."""
    _, tokens = town_hall
    question = _ask(client, tokens["p0@example.com"])
    voter = tokens["p1@example.com"]
    assert client.post(f"/api/v1/ask/{voter}/questions/{question}/vote").status_code == 200
    monkeypatch.setattr(questions, "VOTES_PER_HOUR", 1)
    assert client.post(f"/api/v1/ask/{voter}/questions/{question}/vote").status_code == 429
    assert _votes(question) == 1


def test_a_vote_while_redis_is_away_is_counted_kept_and_shown(private_redis, app, client, town_hall):
    """The vote and its link's limit are the database's alone: with Redis away a vote is still taken, and the
    board (read from the database meanwhile) shows it; once Redis is back the next vote is announced as ever."""
    _, tokens = town_hall
    questions_asked = [_ask(client, tokens["p0@example.com"], f"Question {n}?") for n in range(2)]
    voter = tokens["p1@example.com"]
    private_redis.stop()
    assert client.post(f"/api/v1/ask/{voter}/questions/{questions_asked[0]}/vote").json == {"votes": 1}
    assert _votes(questions_asked[0]) == 1
    board = client.get(f"/api/v1/ask/{voter}").json["questions"]
    assert {q["id"]: (q["votes"], q["voted"]) for q in board}[questions_asked[0]] == (1, True)
    private_redis.start()
    assert client.post(f"/api/v1/ask/{voter}/questions/{questions_asked[1]}/vote").status_code == 200
    board = client.get(f"/api/v1/ask/{tokens['p2@example.com']}").json["questions"]
    assert sorted(q["votes"] for q in board) == [1, 1]


@BOTH_STORES
def test_a_link_read_while_its_event_is_forgotten_is_not_kept(app, client, town_hall, monkeypatch):
    """A read that began before a commit changed the link may hold the old answer: it is not kept."""
    event, tokens = town_hall
    token = tokens["p0@example.com"]
    cache = shared_board.boards().links
    real = kept_links.driver_statements

    def forgotten_meanwhile():
        cache.forget({event["id"]})  # a commit elsewhere, while this read is under way
        return real()

    monkeypatch.setattr(kept_links, "driver_statements", forgotten_meanwhile)
    assert cache.link(token) is not None
    monkeypatch.setattr(kept_links, "driver_statements", real)
    reads = []
    monkeypatch.setattr(kept_links, "driver_statements", lambda: reads.append(1) or real())
    cache.link(token)
    assert reads == [1]  # not kept: read from the database again
    cache.link(token)
    assert reads == [1]  # this one, begun after the forgetting, was kept
