"""An organizer uploads a CSV of attendees on the event page and watches the progress bar fill up to the
total without reloading, in headless Chromium."""

import pytest
from playwright.sync_api import expect

from eventhub.extensions import jobs
from tests.processes import SlowSink, mail_server_for

PEOPLE = 450  # past two batches of progress (200 messages each)


@pytest.fixture
def slow_mail(app):
    """A mail server that takes a moment per message, so the mailing lasts long enough to be watched."""
    with mail_server_for(app, SlowSink(delay=0.01)) as sink:
        try:
            yield sink
        finally:
            jobs.wait_local()


def test_a_csv_uploaded_on_the_event_page_fills_the_progress_bar_to_the_total(signed_in, live_server, client,
                                                                             auth_headers, slow_mail):
    event = client.post("/api/v1/events", headers=auth_headers, json={
        "title": "All hands", "start": "2030-03-05T14:00:00Z", "attendees": [{"email": "ana@example.com"}]}).json
    jobs.wait_local()
    slow_mail.messages.clear()  # Ana's invite: the file's people are counted from here
    page = signed_in
    page.goto(f"{live_server}/events/{event['id']}")
    expect(page.locator("#job-status")).to_have_text("finished (1 of 1)")
    rows = "".join(f"p{n:03d}@example.com,Person {n}\r\n" for n in range(PEOPLE))
    page.get_by_label("Add people from a CSV file").set_input_files(files=[{
        "name": "people.csv", "mimeType": "text/csv", "buffer": ("\ufeffemail,name\r\n" + rows).encode()}])
    page.get_by_role("button", name="Add and invite").click()
    expect(page.locator(".flash").first).to_contain_text(f"{PEOPLE} added from the file")

    # From here on the page is never reloaded: the mark stays, and every value the bar takes is recorded.
    page.evaluate("""() => {
        window.uploadMark = true;
        const bar = document.getElementById("job-progress");
        window.barValues = [bar.value];
        new MutationObserver(() => window.barValues.push(bar.value)).observe(bar, {attributes: true});
    }""")
    total = PEOPLE + 1
    expect(page.locator("#job-status")).to_have_text(f"finished ({total} of {total})", timeout=30_000)
    bar = page.locator("#job-progress")
    assert bar.evaluate("bar => [bar.value, bar.max]") == [total, total]
    assert page.evaluate("window.uploadMark") is True
    seen = page.evaluate("window.barValues")
    assert any(0 < value < total for value in seen), seen  # it moved while the invites went out
    assert sorted(item["to"][0] for item in slow_mail.messages) == [f"p{n:03d}@example.com" for n in range(PEOPLE)]
    expect(page.locator("table.attendees")).to_contain_text("Person 7")
