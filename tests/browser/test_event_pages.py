"""An organizer goes from a fair time to a town hall, watches the invites go out, and sends the summary,
all in headless Chromium."""

import re
from urllib.parse import unquote

from icalendar import Calendar
from playwright.sync_api import expect

from eventhub.extensions import jobs


def test_from_a_scheduling_result_to_a_town_hall_with_its_invites_sent(signed_in, live_server):
    page = signed_in
    page.goto(f"{live_server}/schedule")
    page.locator("#from").fill("2030-03-04")
    page.locator("#to").fill("2030-03-08")
    page.get_by_role("button", name="Find fair times").click()
    page.get_by_role("link", name="Create town hall").first.click()

    expect(page).to_have_url(re.compile(r"/events/new\?"))
    expect(page.locator("#occurrences")).to_have_value(re.compile(r"^2030-03-0\dT\d\d:\d\d:00Z$"))
    expect(page.locator("#timezone")).to_have_value("America/New_York")
    expect(page.locator("#groups")).to_have_value(re.compile("Manila, Asia/Manila"))
    page.get_by_label("Title").fill("Q1 Town Hall")
    page.get_by_label("Attendees").fill("ana@example.com, Ana, Manila\nbob@example.com, Bob, New York")
    page.get_by_role("button", name="Create and send invites").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Q1 Town Hall")
    expect(page.locator("[data-count='sent']")).to_have_text("2", timeout=15_000)
    expect(page.locator("#job-status")).to_contain_text("finished")
    expect(page.locator("table.attendees")).to_contain_text("Asia/Manila")
    expect(page.get_by_role("link", name="Add to Google Calendar")).to_have_attribute(
        "href", re.compile(r"^https://calendar\.google\.com/calendar/render\?action=TEMPLATE"))
    expect(page.get_by_role("link", name="Add to Outlook")).to_have_attribute(
        "href", re.compile(r"^https://outlook\.office\.com/"))
    # The organizer holds no question link: their add-to-calendar links carry none (a made-up one led to a 404).
    for name in ("Add to Google Calendar", "Add to Outlook"):
        assert "/ask/" not in unquote(page.get_by_role("link", name=name).get_attribute("href"))
    download = page.request.get(live_server + page.get_by_role("link", name="Download .ics").get_attribute("href"))
    assert Calendar.from_ical(download.body())["METHOD"] == "PUBLISH"


def test_sending_the_summary_moves_the_progress_bar_to_done(signed_in, live_server, client, auth_headers):
    event = client.post("/api/v1/events", headers=auth_headers, json={
        "title": "All hands", "start": "2030-03-05T14:00:00Z",
        "attendees": [{"email": f"p{n}@example.com"} for n in range(40)]}).json
    page = signed_in
    page.goto(f"{live_server}/events/{event['id']}")
    page.get_by_label("Notes").fill("Thank you all.")
    page.get_by_label("Action items, one per line").fill("Publish the plan\nOrder chairs")
    page.get_by_role("button", name="Send to every attendee").click()
    bar = page.locator("#summary-progress")
    expect(page.locator("#summary-status")).to_contain_text("finished (40 of 40)", timeout=20_000)
    assert bar.evaluate("bar => bar.value === bar.max && bar.max === 40")
    page.get_by_role("link", name="read it").click()
    expect(page.locator(".action-items")).to_contain_text("Order chairs")


def test_a_failed_mailing_shows_its_reason_and_send_again_delivers_it(signed_in, live_server, client, auth_headers,
                                                                        mail):
    mail.refuse["bob@example.com"] = "550 5.1.1 No such mailbox"
    event = client.post("/api/v1/events", headers=auth_headers, json={
        "title": "All hands", "start": "2030-03-05T14:00:00Z",
        "attendees": [{"email": "ana@example.com"}, {"email": "bob@example.com"}]}).json
    jobs.wait_local()
    page = signed_in
    page.goto(f"{live_server}/events/{event['id']}")
    alert = page.locator(".mailing-failed")
    expect(alert).to_contain_text("1 attendee(s) could not be reached")
    expect(page.locator("table.attendees")).to_contain_text("550 5.1.1 No such mailbox")
    mail.refuse.clear()  # the mailbox was fixed
    alert.get_by_role("button", name="Send again").click()
    expect(page.locator(".flash").first).to_contain_text("Sending again")
    jobs.wait_local()
    page.reload()
    expect(page.locator("[data-count='sent']")).to_have_text("2", timeout=15_000)
    expect(page.locator(".mailing-failed")).to_have_count(0)
    assert sorted(item["to"][0] for item in mail.messages) == ["ana@example.com", "bob@example.com"]
