"""The follow-up summary: one email per attendee with the questions by votes, answers, notes and action items."""


import pytest

from eventhub.extensions import db, jobs
from tests.factories import create_town_hall, instant, links


@pytest.fixture
def held(client, auth_headers, mail):
    """A town hall with questions, votes and one answer; the invites already sent."""
    event = create_town_hall(client, auth_headers, sent=True, title="Q2 Town Hall", start=instant(48),
                             timezone="America/New_York", groups=[{"name": "Manila", "timezone": "Asia/Manila"}],
                             attendees=[{"email": "ana@example.com", "group": "Manila"}, {"email": "bob@example.com"},
                                        {"email": "cy@example.com"}])
    tokens = list(links(event["id"]).values())
    ask = lambda token, text: client.post(f"/api/v1/ask/{token}/questions", json={"text": text}).json["id"]  # noqa: E731
    popular = ask(tokens[0], "Will there be a <b>raise</b>?")
    answered = ask(tokens[1], "When is the offsite?")
    ask(tokens[2], "Can we get better chairs?")
    for token in tokens:
        client.post(f"/api/v1/ask/{token}/questions/{popular}/vote")
    client.post(f"/api/v1/ask/{tokens[0]}/questions/{answered}/vote")
    client.patch(f"/api/v1/questions/{answered}", json={"answer": "In June, in Lisbon."}, headers=auth_headers)
    mail.messages.clear()
    return event


def test_every_attendee_gets_one_summary_in_order_of_votes(client, auth_headers, held, mail):
    response = client.post(f"/api/v1/events/{held['id']}/summary", headers=auth_headers,
                           json={"notes": "Thanks for coming.", "action_items": ["Publish the hiring plan",
                                                                                  "Order chairs"]})
    assert response.status_code == 202 and response.json["job_id"]
    jobs.wait_local()
    assert sorted(item["to"][0] for item in mail.messages) == ["ana@example.com", "bob@example.com",
                                                               "cy@example.com"]
    ana = next(item["message"] for item in mail.messages if item["to"] == ["ana@example.com"])
    assert ana["Subject"].strip() == "Summary: Q2 Town Hall" and ana["To"] == "ana@example.com"
    assert ana["Date"] and ana["Message-ID"]
    text = ana.get_body(("plain",)).get_content()
    html = ana.get_body(("html",)).get_content()
    order = [text.index(q) for q in ("Will there be a <b>raise</b>?", "When is the offsite?", "better chairs")]
    assert order == sorted(order)
    assert "Answer: In June, in Lisbon." in text
    assert text.count("carried over to the next town hall") == 2
    assert text.index("Thanks for coming.") < text.index("Publish the hiring plan") < text.index("Order chairs")
    assert "Asia/Manila" in text  # Ana reads the date in her own zone
    assert f"http://eventhub.test/events/{held['id']}/summary" in text
    assert "&lt;b&gt;raise&lt;/b&gt;" in html and "<b>raise</b>" not in html
    status = client.get(f"/api/v1/jobs/{response.json['job_id']}", headers=auth_headers).json
    assert status == {"status": "finished", "done": 3, "total": 3, "failed": 0}


def test_a_summary_is_sent_once(client, auth_headers, held, mail):
    client.post(f"/api/v1/events/{held['id']}/summary", headers=auth_headers, json={"notes": "x"})
    jobs.wait_local()
    again = client.post(f"/api/v1/events/{held['id']}/summary", headers=auth_headers, json={"notes": "y"})
    assert again.status_code == 409
    jobs.wait_local()
    assert len(mail.messages) == 3


def test_get_summary_and_the_public_page(client, auth_headers, held):
    assert client.get(f"/events/{held['id']}/summary").status_code == 404  # nothing public before it is sent
    client.post(f"/api/v1/events/{held['id']}/summary", headers=auth_headers,
                json={"notes": "Notes here", "action_items": ["One"]})
    jobs.wait_local()
    summary = client.get(f"/api/v1/events/{held['id']}/summary", headers=auth_headers).json
    assert summary["status"] == "sent" and summary["sent"] == 3 and summary["action_items"] == ["One"]
    assert [q["votes"] for q in summary["questions"]] == [3, 1, 0]
    assert [q["carried_over"] for q in summary["questions"]] == [True, False, True]
    page = client.get(f"/events/{held['id']}/summary").get_data(as_text=True)
    assert "Notes here" in page and "In June, in Lisbon." in page and "&lt;b&gt;raise" in page


@pytest.mark.parametrize(("body", "field"), [
    ({"notes": 5}, "notes"), ({"action_items": "do it"}, "action_items"), ({"action_items": [1]}, "action_items[0]"),
    ({"action_items": ["x" * 501]}, "action_items[0]"), ({"notes": "x" * 20_001}, "notes")])
def test_bad_summary_input_is_422(client, auth_headers, held, body, field):
    response = client.post(f"/api/v1/events/{held['id']}/summary", headers=auth_headers, json=body)
    assert response.status_code == 422 and response.json["error"]["field"] == field


def test_unanswered_questions_carry_over_to_the_next_town_hall(client, auth_headers, held):
    client.post(f"/api/v1/events/{held['id']}/summary", headers=auth_headers, json={})
    jobs.wait_local()
    following = create_town_hall(client, auth_headers, title="Q3 Town Hall", start=instant(30 * 24),
                                 attendees=[{"email": "ana@example.com"}])
    from eventhub.models import Event
    from eventhub.services.summaries import carried_over_suggestions, carry_over

    event = db.session.get(Event, following["id"])
    suggestions = carried_over_suggestions(event)
    assert sorted(s.text for s in suggestions) == ["Can we get better chairs?", "Will there be a <b>raise</b>?"]
    carry_over(event, suggestions[0].id)
    assert len(carried_over_suggestions(event)) == 1
    [token] = links(event.id).values()
    board = client.get(f"/api/v1/ask/{token}").json["questions"]
    assert [q["text"] for q in board] == [suggestions[0].text] and board[0]["votes"] == 0


def test_no_summary_for_a_cancelled_town_hall(client, auth_headers, held):
    client.delete(f"/api/v1/events/{held['id']}", headers=auth_headers)
    response = client.post(f"/api/v1/events/{held['id']}/summary", headers=auth_headers, json={})
    assert response.status_code == 409
