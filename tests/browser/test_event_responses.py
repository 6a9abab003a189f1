"""The organizer sees who is coming, per group with the share who answered, and moves the town hall to a
time an attendee proposed in one click, in headless Chromium."""

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from eventhub.extensions import jobs
from eventhub.services import rsvp
from tests.answer_mail import apple_reply, gmail_reply, outlook_answer

START = datetime(2030, 3, 5, 14, tzinfo=UTC)
END = START + timedelta(hours=1)
ORGANIZER = "townhall@eventhub.test"


def test_answers_per_group_and_moving_to_a_proposed_time(signed_in, live_server, client, auth_headers):
    event = client.post("/api/v1/events", headers=auth_headers, json={
        "title": "Q1 Town Hall", "start": "2030-03-05T14:00:00Z", "timezone": "America/New_York",
        "attendees": [{"email": "ana@example.com", "name": "Ana", "group": "Manila"},
                      {"email": "ben@example.com", "name": "Ben", "group": "Manila"},
                      {"email": "mia@example.com", "name": "Mia", "group": "Manila"},
                      {"email": "bob@example.com", "name": "Bob", "group": "New York"},
                      {"email": "cy@example.com", "name": "Cy", "group": "New York"}]}).json
    jobs.wait_local()
    uid = f"{event['id']}@eventhub.test"
    proposed = START + timedelta(days=1, hours=2)
    for raw in (
        gmail_reply(uid=uid, attendee="ana@example.com", name="Ana", partstat="ACCEPTED", sequence=0,
                    organizer=ORGANIZER, start=START, end=END),
        apple_reply(uid=uid, attendee="ben@example.com", name="Ben", partstat="DECLINED", sequence=0,
                    organizer=ORGANIZER, start=START, end=END),
        outlook_answer(uid=uid, attendee="bob@example.com", name="Bob", sequence=0, organizer=ORGANIZER,
                       start=proposed, end=proposed + timedelta(minutes=30), method="COUNTER", partstat="TENTATIVE"),
    ):
        assert rsvp.handle_message(raw) == "applied"

    page = signed_in
    page.goto(f"{live_server}/events/{event['id']}")
    responses = page.locator("#responses")
    expect(responses.locator("[data-response='accepted']")).to_have_text("1")
    expect(responses.locator("[data-response='needs_action']")).to_have_text("2")
    manila = responses.locator("tr[data-group='Manila']")
    expect(manila.locator("[data-col='accepted']")).to_have_text("1")
    expect(manila.locator("[data-col='declined']")).to_have_text("1")
    expect(manila.locator("[data-col='answered']")).to_have_text("2 of 3 (67%)")
    expect(responses.locator("tr[data-group='New York'] [data-col='answered']")).to_have_text("1 of 2 (50%)")
    expect(page.locator("table.attendees")).to_contain_text("tentative")
    proposal = responses.locator("li.proposal")
    expect(proposal).to_contain_text("Bob proposes Wed 6 Mar 2030, 11:00–11:30 (America/New_York)")

    proposal.get_by_role("button", name="Move to this time").click()

    expect(page.locator(".flash-info")).to_contain_text("is moved")
    expect(page.locator("#responses li.proposal")).to_have_count(0)
    expect(page.locator("tr[data-group='Manila'] [data-col='answered']")).to_have_text("0 of 3 (0%)")
    moved = client.get(f"/api/v1/events/{event['id']}", headers=auth_headers).json
    assert (moved["start"], moved["end"], moved["sequence"]) == ("2030-03-06T16:00:00Z", "2030-03-06T16:30:00Z", 1)
    assert moved["responses"] == {"accepted": 0, "declined": 0, "tentative": 0, "needs_action": 5}
