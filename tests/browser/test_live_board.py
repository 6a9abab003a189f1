"""The attendee's board and the organizer's moderation section in headless Chromium follow changes live (within
about a second, long before the 5 s poll), without a reload; refused a stream, the board still polls."""


import pytest
from playwright.sync_api import expect

from eventhub.web.board_stream import StreamSlots
from tests.factories import create_town_hall, links, people


@pytest.fixture
def board(client, auth_headers):
    event = create_town_hall(client, auth_headers, title="Live town hall", attendees=people(3))
    tokens = list(links(event["id"]).values())
    question = client.post(f"/api/v1/ask/{tokens[0]}/questions", json={"text": "Is the bonus changing?"}).json["id"]
    return event, tokens, question


def _wait_for_stream(page, section="#board"):
    expect(page.locator(f"{section}[data-live='true']")).to_be_attached()


def test_the_board_shows_other_links_votes_and_questions_within_a_second(page, live_server, board, client):
    _, tokens, question = board
    page.goto(f"{live_server}/ask/{tokens[0]}")
    page.evaluate("window.notReloaded = true")
    _wait_for_stream(page)
    page.wait_for_timeout(300)  # the stream's first message has arrived
    counter = page.locator(f"[data-votes='{question}']")
    client.post(f"/api/v1/ask/{tokens[1]}/questions/{question}/vote")
    expect(counter).to_have_text("1", timeout=2_000)
    client.post(f"/api/v1/ask/{tokens[2]}/questions", json={"text": "Will the office move?"})
    expect(page.locator(".question-text", has_text="Will the office move?")).to_be_visible(timeout=2_000)
    page.locator(".question", has_text="Will the office move?").get_by_role("button", name="Vote").click()
    expect(page.locator(".question", has_text="Will the office move?").locator(".votes")).to_have_text("1")
    assert page.evaluate("window.notReloaded === undefined")  # the vote form posts and redirects: a real reload


def test_the_board_updates_live_and_the_page_is_not_reloaded(page, live_server, board, client):
    _, tokens, question = board
    page.goto(f"{live_server}/ask/{tokens[0]}")
    page.evaluate("window.notReloaded = true")
    _wait_for_stream(page)
    page.wait_for_timeout(300)
    client.post(f"/api/v1/ask/{tokens[1]}/questions/{question}/vote")
    client.post(f"/api/v1/ask/{tokens[2]}/questions/{question}/vote")
    expect(page.locator(f"[data-votes='{question}']")).to_have_text("2", timeout=2_000)
    assert page.evaluate("window.notReloaded") is True


def test_refused_a_stream_the_board_still_refreshes_by_polling(app, page, live_server, board, client):
    _, tokens, question = board
    app.extensions["eventhub_board_streams"] = StreamSlots(0)
    page.goto(f"{live_server}/ask/{tokens[0]}")
    client.post(f"/api/v1/ask/{tokens[1]}/questions/{question}/vote")
    expect(page.locator(f"[data-votes='{question}']")).to_have_text("1", timeout=8_000)


def test_the_moderation_section_shows_new_questions_without_a_reload(signed_in, live_server, board, client):
    event, tokens, _ = board
    page = signed_in
    page.goto(f"{live_server}/events/{event['id']}")
    page.evaluate("window.notReloaded = true")
    _wait_for_stream(page, "#questions")
    page.wait_for_timeout(300)
    client.post(f"/api/v1/ask/{tokens[1]}/questions", json={"text": "What about remote Fridays?"})
    section = page.locator("#questions")
    expect(section.locator(".question-text", has_text="What about remote Fridays?")).to_be_visible(timeout=2_000)
    assert page.evaluate("window.notReloaded") is True
