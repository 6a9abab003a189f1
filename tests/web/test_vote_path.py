"""The hot path of a town hall: a vote is counted and stored in one step on the database, the votes of a busy
board share one version bump, and a quiet board's refresh reads the link's own votes no more than once per
version of the board, in this process and, through Redis, in another."""

from __future__ import annotations

import threading
import time

from redis import Redis

from eventhub.extensions import db
from eventhub.services import questions
from eventhub.services.board import VERSION_KEY
from eventhub.services.board_versions import BUMP_DELAY_SECONDS
from eventhub.services.prepared import DriverStatements
from tests.conftest import app_of
from tests.factories import create_town_hall, links, people
from tests.processes import wait_for
from tests.web.conftest import BOTH_STORES, ON_REDIS


def _town_hall(client, auth_headers, size: int) -> tuple[str, list[str], str]:
    event = create_town_hall(client, auth_headers, attendees=people(size))
    tokens = list(links(event["id"]).values())
    question = client.post(f"/api/v1/ask/{tokens[0]}/questions", json={"text": "Hybrid Fridays?"}).json["id"]
    return event["id"], tokens, question


def _board(client, token: str) -> dict[str, tuple[int, bool]]:
    return {q["id"]: (q["votes"], q["voted"]) for q in client.get(f"/api/v1/ask/{token}").json["questions"]}


@ON_REDIS
def test_a_burst_of_votes_shares_its_bumps_and_the_voting_process_reads_every_vote_at_once(
        app, client, settings, tmp_path, auth_headers, redis_url):
    event_id, tokens, question = _town_hall(client, auth_headers, 12)
    version = Redis.from_url(redis_url)
    key = VERSION_KEY.format(event_id=event_id)
    other = app_of(settings, tmp_path).test_client()  # a second web process on the same database and Redis
    try:
        assert _board(other, tokens[1]) == {question: (0, False)}
        before, started = int(version.get(key) or 0), time.monotonic()
        for n, token in enumerate(tokens):
            assert client.post(f"/api/v1/ask/{token}/questions/{question}/vote").json == {"votes": n + 1}
        took = time.monotonic() - started
        assert _board(client, tokens[0]) == {question: (len(tokens), True)}  # this process: at once
        bumps = int(version.get(key)) - before
        assert 1 <= bumps <= took / BUMP_DELAY_SECONDS + 2, (bumps, took)  # not one a vote
        wait_for(lambda: _board(other, tokens[1]) == {question: (len(tokens), True)}, 2,
                 "the other process to read every vote")
    finally:
        other.application.extensions["eventhub_jobs"].close()
        other.application.extensions["eventhub_boards"].close()


@BOTH_STORES
def test_a_quiet_boards_refresh_reads_the_links_votes_once_per_version(app, client, auth_headers, monkeypatch):
    _, tokens, question = _town_hall(client, auth_headers, 3)
    reads = []
    rows = DriverStatements.rows

    def counted(self, statement, **values):
        if statement is questions._VOTES_OF_VOTER:
            reads.append(values["voter"])
        return rows(self, statement, **values)

    monkeypatch.setattr(DriverStatements, "rows", counted)
    assert client.post(f"/api/v1/ask/{tokens[1]}/questions/{question}/vote").status_code == 200
    for _ in range(3):
        assert _board(client, tokens[1]) == {question: (1, True)}
    assert len(reads) == 1  # the board did not move: the link's votes are what they were
    assert client.post(f"/api/v1/ask/{tokens[2]}/questions/{question}/vote").status_code == 200
    assert _board(client, tokens[1]) == {question: (2, True)}  # moved: read again
    assert _board(client, tokens[2]) == {question: (2, True)}
    assert client.delete(f"/api/v1/ask/{tokens[1]}/questions/{question}/vote").json == {"votes": 1}
    assert _board(client, tokens[1]) == {question: (1, False)}  # its own vote taken back, shown at once
    assert len(reads) == 4


@ON_REDIS
def test_a_vote_in_another_process_shows_in_the_links_flags_once_the_board_moves(
        app, client, settings, tmp_path, auth_headers):
    """What a process keeps of a link's votes goes with the version it was read at: a vote the same link casts
    through another process reaches this one with the board's new version."""
    _, tokens, question = _town_hall(client, auth_headers, 2)
    other = app_of(settings, tmp_path).test_client()
    try:
        assert _board(client, tokens[1]) == {question: (0, False)}  # kept here at this version
        assert other.post(f"/api/v1/ask/{tokens[1]}/questions/{question}/vote").status_code == 200
        wait_for(lambda: _board(client, tokens[1]) == {question: (1, True)}, 2, "this process to see the vote")
    finally:
        other.application.extensions["eventhub_jobs"].close()
        other.application.extensions["eventhub_boards"].close()


@BOTH_STORES
def test_votes_cast_at_once_are_each_counted_once_and_answered_with_a_count_that_includes_them(
        app, client, auth_headers):
    """Sixteen links vote on one question at the same moment, from threads of their own: every vote is kept,
    each answer counts its own vote, and on SQLite (where each statement writes alone) the answers are 1 to 16."""
    _, tokens, question = _town_hall(client, auth_headers, 17)
    voters = tokens[1:]
    start = threading.Barrier(len(voters))
    answers = []

    def vote(token):
        own = app.test_client()
        start.wait()
        answers.append(own.post(f"/api/v1/ask/{token}/questions/{question}/vote").json["votes"])

    threads = [threading.Thread(target=vote, args=(token,)) for token in voters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == len(voters) and all(1 <= n <= len(voters) for n in answers)
    if db.engine.dialect.name == "sqlite":
        assert sorted(answers) == list(range(1, len(voters) + 1))
    assert _board(client, tokens[0]) == {question: (len(voters), False)}
