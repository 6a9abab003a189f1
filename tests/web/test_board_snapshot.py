"""The attendee board's shared snapshot and its ETag, on both stores: in this process and in a real Redis.

Every change kind (ask, vote, unvote, moderation, merge, an edit of the event) bumps the event's version;
304 answers only while nothing a link can see changed; nothing per link is ever kept in the store.
"""


import pytest
from redis import Redis

from eventhub.domain.questions import voter_pseudonym
from eventhub.extensions import db
from eventhub.models import Attendee, QuestionKey
from eventhub.services import board as shared_board
from tests.factories import create_town_hall, links, people


@pytest.fixture(params=["in-process", "redis"])
def settings(settings, request):
    """Each test here runs once with the in-process store and once with snapshots in a real Redis."""
    if request.param == "redis":
        settings.update(REDIS_URL=request.getfixturevalue("redis_url"), RQ_QUEUE="eventhub-test")
    return settings


@pytest.fixture
def town_hall(client, auth_headers):
    event = create_town_hall(client, auth_headers, attendees=people(4))
    return event, list(links(event["id"]).values())


def _board(client, token, etag=None):
    return client.get(f"/api/v1/ask/{token}", headers={"If-None-Match": etag} if etag else {})


def _ask(client, token, text="What about the office move?"):
    return client.post(f"/api/v1/ask/{token}/questions", json={"text": text}).json["id"]


def _version(event_id):
    return shared_board.boards().version(event_id)


def test_an_unchanged_board_answers_304_to_its_own_etag(app, client, town_hall):
    _, tokens = town_hall
    _ask(client, tokens[0])
    first = _board(client, tokens[1])
    assert first.status_code == 200 and first.headers["ETag"] and "private" in first.headers["Cache-Control"]
    again = _board(client, tokens[1], first.headers["ETag"])
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == first.headers["ETag"]
    assert _board(client, tokens[1], '"something-else"').status_code == 200


def test_the_json_body_keeps_the_contract_shape(app, client, town_hall):
    _, tokens = town_hall
    question = _ask(client, tokens[0], "Ünïcode and \"quotes\"?")
    client.post(f"/api/v1/ask/{tokens[1]}/questions/{question}/vote")
    board = _board(client, tokens[1]).json
    assert list(board["event"]) == ["title", "start", "questions_close", "open", "moderation"]
    assert board["questions"] == [{"id": question, "text": "Ünïcode and \"quotes\"?", "votes": 1,
                                   "status": "visible", "answer": None, "voted": True}]
    assert _board(client, tokens[2]).json["questions"][0]["voted"] is False


def test_a_vote_by_this_link_changes_its_etag_and_its_voted_flag(app, client, town_hall):
    _, tokens = town_hall
    question = _ask(client, tokens[0])
    before = _board(client, tokens[1]).headers["ETag"]
    client.post(f"/api/v1/ask/{tokens[1]}/questions/{question}/vote")
    after = _board(client, tokens[1], before)
    assert after.status_code == 200 and after.headers["ETag"] != before
    assert after.json["questions"][0]["voted"] is True
    client.delete(f"/api/v1/ask/{tokens[1]}/questions/{question}/vote")
    back = _board(client, tokens[1], after.headers["ETag"])
    assert back.status_code == 200 and back.json["questions"][0] == {**after.json["questions"][0], "votes": 0,
                                                                      "voted": False}


def test_another_links_vote_bumps_the_shared_version_and_every_links_etag(app, client, town_hall):
    event, tokens = town_hall
    question = _ask(client, tokens[0])
    version = _version(event["id"])
    tag = _board(client, tokens[1]).headers["ETag"]
    client.post(f"/api/v1/ask/{tokens[2]}/questions/{question}/vote")
    assert _version(event["id"]) == version + 1
    changed = _board(client, tokens[1], tag)
    assert changed.status_code == 200 and changed.json["questions"][0]["votes"] == 1
    assert changed.json["questions"][0]["voted"] is False
    client.post(f"/api/v1/ask/{tokens[2]}/questions/{question}/vote")  # a second vote counts once: no change
    assert _board(client, tokens[1], changed.headers["ETag"]).status_code == 304


def test_moderation_and_merge_invalidate_the_board(app, client, town_hall, auth_headers):
    event, tokens = town_hall
    first, second = _ask(client, tokens[0], "Will the canteen reopen?"), _ask(client, tokens[0], "Canteen reopen?")
    client.post(f"/api/v1/ask/{tokens[1]}/questions/{second}/vote")
    tag = _board(client, tokens[2]).headers["ETag"]

    version = _version(event["id"])
    client.patch(f"/api/v1/questions/{first}", json={"answer": "In May."}, headers=auth_headers)
    assert _version(event["id"]) > version
    answered = _board(client, tokens[2], tag)
    assert answered.status_code == 200
    assert {q["id"]: q["answer"] for q in answered.json["questions"]}[first] == "In May."

    version = _version(event["id"])
    client.post(f"/api/v1/questions/{second}/merge", json={"into": first}, headers=auth_headers)
    assert _version(event["id"]) > version
    merged = _board(client, tokens[2], answered.headers["ETag"])
    assert merged.status_code == 200
    assert [(q["id"], q["votes"]) for q in merged.json["questions"]] == [(first, 1)]

    client.patch(f"/api/v1/questions/{first}", json={"status": "hidden"}, headers=auth_headers)
    assert _board(client, tokens[2], merged.headers["ETag"]).json["questions"] == []


def test_an_edit_of_the_event_invalidates_the_board(app, client, town_hall, auth_headers):
    event, tokens = town_hall
    tag = _board(client, tokens[0]).headers["ETag"]
    client.patch(f"/api/v1/events/{event['id']}", json={"title": "Town hall, moved"}, headers=auth_headers)
    renamed = _board(client, tokens[0], tag)
    assert renamed.status_code == 200 and renamed.json["event"]["title"] == "Town hall, moved"


def test_a_question_held_for_moderation_bumps_the_version_but_no_links_etag(app, client, auth_headers):
    event = create_town_hall(client, auth_headers, title="Moderated", moderation=True)
    [token] = links(event["id"]).values()
    tag = _board(client, token).headers["ETag"]
    version = _version(event["id"])
    question = _ask(client, token)
    assert _version(event["id"]) == version + 1
    assert _board(client, token, tag).status_code == 304  # the board shows nothing new
    assert client.patch(f"/api/v1/questions/{question}", json={"status": "visible"},
                        headers=auth_headers).status_code == 200
    assert _board(client, token, tag).json["questions"][0]["id"] == question


def test_the_store_holds_no_link_token_pseudonym_or_vote_set(app, client, town_hall):
    """Redis is readable by the operator: nothing in it may tie a vote to a link."""
    event, tokens = town_hall
    question = _ask(client, tokens[0])
    for token in tokens[1:]:
        client.post(f"/api/v1/ask/{token}/questions/{question}/vote")
        _board(client, token)
    key = db.session.get(QuestionKey, event["id"]).key
    secrets = set(tokens) | {voter_pseudonym(key, token) for token in tokens}
    secrets |= {a.id for a in db.session.query(Attendee).filter_by(event_id=event["id"])}
    if app.config["REDIS_URL"]:
        redis = Redis.from_url(app.config["REDIS_URL"])
        stored = [name for name in redis.scan_iter("eventhub:board:*")]
        assert stored, "the snapshot lives in Redis"
        text = b" ".join(stored + [redis.get(name) or b"" for name in stored]).decode()
    else:
        store = shared_board.boards()
        text = repr(store._snapshots) + repr(store._versions)
    assert not [secret for secret in secrets if secret in text]
    tags = {_board(client, token).headers["ETag"] for token in tokens}
    assert not [secret for secret in secrets if any(secret in tag for tag in tags)]
