"""The attendee's board and the organizer's moderation view in headless Chromium: asking, voting, live counts,
and hostile text shown inert everywhere."""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from tests.factories import create_town_hall, links, people

PAYLOADS = [
    "<script>window.pwned = 1</script> is this safe?",
    "<img src=x onerror=\"window.pwned=1\"> look here",
    "javascript:window.pwned=1 click me",
    'https://x/"onmouseover="window.pwned=1" autofocus onfocus="window.pwned=1',
    '=HYPERLINK("http://evil.example","salary data")',
]


@pytest.fixture
def board(client, auth_headers):
    event = create_town_hall(client, auth_headers, title="Q3 <b>Town</b> Hall", attendees=people(3))
    return event, list(links(event["id"]).values())


def test_an_attendee_asks_votes_and_takes_the_vote_back(page, live_server, board):
    event, tokens = board
    page.goto(f"{live_server}/ask/{tokens[0]}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Q3 <b>Town</b> Hall")
    page.get_by_label("Your question").fill("Will the Manila office get a night-shift allowance?")
    page.get_by_role("button", name="Ask anonymously").click()
    expect(page.get_by_role("status")).to_contain_text("your question is on the board")
    question = page.locator(".question").first
    expect(question.locator(".votes")).to_have_text("0")
    question.get_by_role("button", name="Vote").click()
    expect(page.locator(".question .votes").first).to_have_text("1")
    page.locator(".question").first.get_by_role("button", name="Take my vote back").click()
    expect(page.locator(".question .votes").first).to_have_text("0")
    page.set_viewport_size({"width": 375, "height": 740})  # a phone: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_role("button", name="Vote").scroll_into_view_if_needed()
    expect(page.get_by_role("button", name="Vote")).to_be_in_viewport()


def test_vote_counts_refresh_without_a_reload(page, live_server, board, client):
    _, tokens = board
    question = client.post(f"/api/v1/ask/{tokens[0]}/questions", json={"text": "Is the bonus changing?"}).json["id"]
    page.goto(f"{live_server}/ask/{tokens[0]}")
    counter = page.locator(f"[data-votes='{question}']")
    expect(counter).to_have_text("0")
    client.post(f"/api/v1/ask/{tokens[1]}/questions/{question}/vote")
    client.post(f"/api/v1/ask/{tokens[2]}/questions/{question}/vote")
    expect(counter).to_have_text("2", timeout=12_000)


def test_hostile_text_is_inert_on_the_board_and_in_moderation(page, live_server, board, client, organizer):
    event, tokens = board
    for text in PAYLOADS:
        assert client.post(f"/api/v1/ask/{tokens[0]}/questions", json={"text": text}).status_code == 201
    client.post(f"/api/v1/ask/{tokens[1]}/questions", json={"text": "Will the <i>laptop</i> budget grow?"})
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"{live_server}/ask/{tokens[1]}")
    texts = page.locator(".question-text").all_inner_texts()
    assert set(PAYLOADS) <= set(texts)
    _assert_inert(page)
    page.locator(".question-text").first.hover()

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(organizer["email"])
    page.get_by_label("Password").fill(organizer["password"])
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/events/{event['id']}")
    moderation = page.locator("#questions .question-text").all_inner_texts()
    assert set(PAYLOADS) <= set(moderation)
    _assert_inert(page)
    assert dialogs == []

    exported = page.request.get(f"{live_server}/events/{event['id']}/questions.csv").text()
    cells = [row[2] for row in csv.reader(io.StringIO(exported))][1:]
    assert "'=HYPERLINK(\"http://evil.example\",\"salary data\")" in cells
    assert not [cell for cell in cells if cell[:1] in "=+-@"]


def _assert_inert(page):
    assert page.evaluate("window.pwned") is None
    assert page.locator(".question img, .question script, [onmouseover], [onerror], [onfocus]").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0


def test_the_organizer_answers_and_merges_on_the_event_page(page, live_server, board, client, organizer):
    event, tokens = board
    first = client.post(f"/api/v1/ask/{tokens[0]}/questions", json={"text": "When do we get new laptops?"}).json
    client.post(f"/api/v1/ask/{tokens[1]}/questions", json={"text": "When will we get new laptops?"})
    client.post(f"/api/v1/ask/{tokens[2]}/questions/{first['id']}/vote")
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(organizer["email"])
    page.get_by_label("Password").fill(organizer["password"])
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/events/{event['id']}")
    second = page.locator(".moderation .question").filter(
        has=page.locator(".question-text", has_text=re.compile(r"^When will we get new laptops\?$")))
    expect(second.get_by_text("Looks like")).to_be_visible()
    second.get_by_role("button", name="Merge").click()
    expect(page.locator(".moderation .question")).to_have_count(1)
    remaining = page.locator(".moderation .question").first
    remaining.get_by_label("Answer").fill("In March, for everyone.")
    remaining.get_by_role("button", name="Save answer").click()
    expect(page.locator(".moderation .status-badge").first).to_have_text("answered")
    page.goto(f"{live_server}/ask/{tokens[1]}")
    expect(page.locator(".answer")).to_contain_text("In March, for everyone.")
    expect(page.locator(".votes").first).to_have_text("1")  # the one vote, on the question merged into
