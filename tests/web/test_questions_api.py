"""Anonymous questions through the API: asking, voting, the window, limits, moderation and merging."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from eventhub.extensions import db
from tests.factories import create_town_hall, instant, links, people


@pytest.fixture
def town_hall(client, auth_headers):
    """A town hall with six attendees in Manila and one in London; returns (event, {email: token})."""
    return _make(client, auth_headers, people(6, prefix="m", group="Manila") + [
        {"email": "solo@example.com", "group": "London"}])


def _make(client, headers, people, **changes):
    event = create_town_hall(client, headers, attendees=people, groups=[
        {"name": "Manila", "timezone": "Asia/Manila"}, {"name": "London", "timezone": "Europe/London"}], **changes)
    return event, links(event["id"])


def _ask(client, token, text="What is the plan for Q2?"):
    return client.post(f"/api/v1/ask/{token}/questions", json={"text": text})


def test_a_question_appears_on_the_board_with_no_votes(client, town_hall):
    _, tokens = town_hall
    response = _ask(client, tokens["m0@example.com"])
    assert response.status_code == 201 and response.json["status"] == "visible"
    board = client.get(f"/api/v1/ask/{tokens['m1@example.com']}").json
    assert board["event"]["title"] == "Town hall"
    assert board["questions"] == [{"id": response.json["id"], "text": "What is the plan for Q2?", "votes": 0,
                                   "status": "visible", "answer": None, "voted": False}]


def test_a_vote_by_the_same_link_counts_once_and_can_be_taken_back(client, town_hall):
    _, tokens = town_hall
    question = _ask(client, tokens["m0@example.com"]).json["id"]
    path = f"/api/v1/ask/{tokens['m1@example.com']}/questions/{question}/vote"
    assert client.post(path).json == {"votes": 1}
    assert client.post(path).json == {"votes": 1}
    assert client.post(f"/api/v1/ask/{tokens['m2@example.com']}/questions/{question}/vote").json == {"votes": 2}
    assert client.get(f"/api/v1/ask/{tokens['m1@example.com']}").json["questions"][0]["voted"] is True
    assert client.delete(path).json == {"votes": 1}
    assert client.get(f"/api/v1/ask/{tokens['m1@example.com']}").json["questions"][0]["voted"] is False


def test_after_questions_close_asking_and_voting_answer_409(client, auth_headers):
    _, tokens = _make(client, auth_headers, [{"email": "a@example.com"}], questions_close=instant(-1))
    token = tokens["a@example.com"]
    assert _ask(client, token).status_code == 409
    assert client.get(f"/api/v1/ask/{token}").json["event"]["open"] is False


def test_the_voter_key_is_destroyed_when_the_window_closes(client, auth_headers, app):
    from eventhub.models import Event, QuestionKey
    from eventhub.services.question_window import close_questions

    event, tokens = _make(client, auth_headers, [{"email": "a@example.com"}, {"email": "b@example.com"}])
    question = _ask(client, tokens["a@example.com"]).json["id"]
    client.post(f"/api/v1/ask/{tokens['b@example.com']}/questions/{question}/vote")
    assert db.session.get(QuestionKey, event["id"]) is not None
    stored = db.session.get(Event, event["id"])
    stored.questions_close = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    close_questions(event["id"])
    assert db.session.get(QuestionKey, event["id"]) is None
    board = client.get(f"/api/v1/ask/{tokens['b@example.com']}").json
    assert board["questions"][0]["votes"] == 1 and board["questions"][0]["voted"] is False


def _in_a_fresh_hour() -> None:
    """Limits count in fixed hours of the clock: a test about to meet the hour's end starts after it."""
    left = 3600 - time.time() % 3600
    if left < 30:
        time.sleep(left + 0.5)


def test_each_link_may_ask_ten_an_hour_and_no_other_link_is_slowed(client, town_hall):
    _, tokens = town_hall
    _in_a_fresh_hour()
    for number in range(10):
        assert _ask(client, tokens["m0@example.com"], f"Question number {number}").status_code == 201
    limited = _ask(client, tokens["m0@example.com"], "One too many")
    assert limited.status_code == 429 and limited.json["error"]["code"] == "rate_limited"
    assert _ask(client, tokens["m1@example.com"], "Another person asks").status_code == 201


@pytest.mark.parametrize(("text", "status"), [
    ("hi", 422), ("   ", 422), ("?!?!", 422), ("x" * 1001, 413), (None, 422), (42, 422), ("ok\x00no", 422)])
def test_question_text_is_checked(client, town_hall, text, status):
    _, tokens = town_hall
    response = _ask(client, tokens["m0@example.com"], text)
    assert response.status_code == status and response.json["error"]["field"] == "text"


def test_a_link_of_one_event_gets_404_on_anothers_questions_and_a_made_up_link_404(client, auth_headers, town_hall):
    _, tokens = town_hall
    question = _ask(client, tokens["m0@example.com"]).json["id"]
    _, other = _make(client, auth_headers, [{"email": "x@example.com"}])
    assert client.post(f"/api/v1/ask/{other['x@example.com']}/questions/{question}/vote").status_code == 404
    assert client.get("/api/v1/ask/made-up-link").status_code == 404
    assert client.post("/api/v1/ask/made-up-link/questions", json={"text": "hello there"}).status_code == 404


def test_with_moderation_questions_wait_for_approval(client, auth_headers):
    event, tokens = _make(client, auth_headers, [{"email": "a@example.com"}], moderation=True)
    asked = _ask(client, tokens["a@example.com"]).json
    assert asked["status"] == "pending"
    assert client.get(f"/api/v1/ask/{tokens['a@example.com']}").json["questions"] == []
    listed = client.get(f"/api/v1/events/{event['id']}/questions", headers=auth_headers).json["questions"]
    assert [(q["id"], q["status"]) for q in listed] == [(asked["id"], "pending")]
    assert {"id", "text", "votes", "status", "answer", "merged_into"} <= listed[0].keys()
    approved = client.patch(f"/api/v1/questions/{asked['id']}", json={"status": "visible"}, headers=auth_headers)
    assert approved.json["status"] == "visible"
    assert len(client.get(f"/api/v1/ask/{tokens['a@example.com']}").json["questions"]) == 1


def test_answering_and_hiding(client, auth_headers, town_hall):
    _, tokens = town_hall
    question = _ask(client, tokens["m0@example.com"]).json["id"]
    answered = client.patch(f"/api/v1/questions/{question}", json={"answer": "Hiring in Manila."},
                            headers=auth_headers).json
    assert answered["status"] == "answered" and answered["answer"] == "Hiring in Manila."
    assert client.get(f"/api/v1/ask/{tokens['m1@example.com']}").json["questions"][0]["answer"] == "Hiring in Manila."
    client.patch(f"/api/v1/questions/{question}", json={"status": "hidden"}, headers=auth_headers)
    assert client.get(f"/api/v1/ask/{tokens['m1@example.com']}").json["questions"] == []
    bad = client.patch(f"/api/v1/questions/{question}", json={"status": "deleted"}, headers=auth_headers)
    assert bad.status_code == 422 and bad.json["error"]["field"] == "status"


def test_merging_unites_the_voters_and_counts_nobody_twice(client, auth_headers, town_hall):
    event, tokens = town_hall
    first = _ask(client, tokens["m0@example.com"], "When do we get new laptops?").json["id"]
    second = _ask(client, tokens["m1@example.com"], "When will we get new laptops?").json["id"]
    for person, question in [("m2", first), ("m3", first), ("m3", second), ("m4", second)]:
        client.post(f"/api/v1/ask/{tokens[person + '@example.com']}/questions/{question}/vote")
    listed = client.get(f"/api/v1/events/{event['id']}/questions", headers=auth_headers).json["questions"]
    assert {q["id"]: q["similar"] for q in listed}[first] == [second]  # suggested for merging
    merged = client.post(f"/api/v1/questions/{second}/merge", json={"into": first}, headers=auth_headers)
    assert merged.status_code == 200 and merged.json["votes"] == 3  # m2, m3, m4: m3 once
    board = client.get(f"/api/v1/ask/{tokens['m4@example.com']}").json["questions"]
    assert [(q["id"], q["votes"], q["voted"]) for q in board] == [(first, 3, True)]
    listed = {q["id"]: q for q in client.get(f"/api/v1/events/{event['id']}/questions",
                                             headers=auth_headers).json["questions"]}
    assert listed[second]["merged_into"] == first
    assert client.post(f"/api/v1/questions/{first}/merge", json={"into": first},
                       headers=auth_headers).status_code == 422


def test_ties_are_listed_in_random_order_not_by_arrival(client, town_hall):
    """Each change of the board shuffles its ties afresh (between changes every link sees one order)."""
    _, tokens = town_hall
    ids = [_ask(client, tokens["m0@example.com"], f"Tied question {n}").json["id"] for n in range(3)]
    other = _ask(client, tokens["m0@example.com"], "The question that takes and loses a vote").json["id"]
    vote = f"/api/v1/ask/{tokens['m2@example.com']}/questions/{other}/vote"
    orders = set()
    for _ in range(30):
        client.post(vote)
        listed = client.get(f"/api/v1/ask/{tokens['m1@example.com']}").json["questions"]
        orders.add(tuple(q["id"] for q in listed if q["id"] != other))
        client.delete(vote)
    assert len(orders) > 1 and all(set(order) == set(ids) for order in orders)


def test_another_organizer_cannot_moderate(client, town_hall):
    from eventhub.services.organizers import create_organizer

    event, tokens = town_hall
    question = _ask(client, tokens["m0@example.com"]).json["id"]
    _, token = create_organizer("other@example.com", "another password")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/events/{event['id']}/questions", headers=headers).status_code == 404
    assert client.patch(f"/api/v1/questions/{question}", json={"status": "hidden"}, headers=headers).status_code == 404


@pytest.mark.parametrize("body", [{"text": ["a"]}, {"text": {"a": 1}}, {}, {"text": "x" * 100_000}])
def test_no_hostile_body_gets_a_5xx(client, town_hall, body):
    _, tokens = town_hall
    response = client.post(f"/api/v1/ask/{tokens['m0@example.com']}/questions", json=body)
    assert 400 <= response.status_code < 500


def test_a_closed_window_cannot_be_reopened_so_nobody_votes_twice(client, auth_headers, app):
    from eventhub.models import Event

    event, tokens = _make(client, auth_headers, [{"email": "a@example.com"}])
    stored = db.session.get(Event, event["id"])
    stored.questions_close = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    reopened = client.patch(f"/api/v1/events/{event['id']}", json={"questions_close": instant(24)},
                            headers=auth_headers)
    assert reopened.status_code == 409 and reopened.json["error"]["field"] == "questions_close"
    moved = client.patch(f"/api/v1/events/{event['id']}", json={"start": instant(96)}, headers=auth_headers)
    assert moved.status_code == 200 and moved.json["questions_close"] != moved.json["start"]
    assert client.get(f"/api/v1/ask/{tokens['a@example.com']}").json["event"]["open"] is False


def test_the_rate_limit_counts_under_a_key_that_is_not_the_voter_pseudonym(rq_settings, client, auth_headers):
    from eventhub.extensions import jobs
    from eventhub.models import Vote

    event, tokens = _make(client, auth_headers, [{"email": "a@example.com"}, {"email": "b@example.com"}])
    question = _ask(client, tokens["a@example.com"]).json["id"]
    client.post(f"/api/v1/ask/{tokens['a@example.com']}/questions/{question}/vote")
    voters = {vote.voter for vote in db.session.query(Vote)}
    keys = b" ".join(jobs.connection.keys("eventhub:rate:*"))
    assert keys and not [voter for voter in voters if voter.encode() in keys]


def test_each_link_may_cast_three_hundred_votes_an_hour_and_no_other_link_is_slowed(client, auth_headers):
    event, tokens = _make(client, auth_headers, people(32))
    askers, (voter, other) = list(tokens.values())[:30], list(tokens.values())[30:]
    _in_a_fresh_hour()
    questions = [_ask(client, link, f"Question {n} from {index}").json["id"]
                 for index, link in enumerate(askers) for n in range(10)] + [
        _ask(client, other, "One more question").json["id"]]
    assert len(set(questions)) == 301
    for question in questions[:300]:
        assert client.post(f"/api/v1/ask/{voter}/questions/{question}/vote").status_code == 200
    limited = client.post(f"/api/v1/ask/{voter}/questions/{questions[300]}/vote")
    assert limited.status_code == 429 and limited.json["error"]["code"] == "rate_limited"
    assert client.post(f"/api/v1/ask/{other}/questions/{questions[300]}/vote").json == {"votes": 1}


def test_a_link_used_in_a_browser_signed_in_as_the_organizer_neither_reads_nor_renews_that_sign_in(
        client, auth_headers, signed_in):
    """The attendee API is anonymous: an organizer's sign-in cookie sent with a link's requests is not opened,
    and no answer sets a cookie or varies by one; the sign-in itself still works after."""
    event, tokens = _make(client, auth_headers, people(2))
    token = tokens["p0@example.com"]
    asked = _ask(client, token)
    answers = [asked, client.get(f"/api/v1/ask/{token}"),
               client.post(f"/api/v1/ask/{token}/questions/{asked.json['id']}/vote"),
               client.delete(f"/api/v1/ask/{token}/questions/{asked.json['id']}/vote")]
    assert [answer.status_code for answer in answers] == [201, 200, 200, 200]
    for answer in answers:
        assert "Set-Cookie" not in answer.headers
        assert "cookie" not in answer.headers.get("Vary", "").lower()
    assert client.get(f"/events/{event['id']}").status_code == 200  # still signed in
