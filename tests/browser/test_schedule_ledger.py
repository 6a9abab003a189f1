"""/schedule in headless Chromium remembers the organizer's town halls: the ledger chart, the words, the switch."""

from playwright.sync_api import expect

MANILA_MIDNIGHT = "2030-03-04T16:00:00Z"  # Monday 11:00 in New York, Tuesday 00:00 in Manila


def _town_hall_at_manilas_midnight(page, live_server, token):
    response = page.request.post(f"{live_server}/api/v1/events", headers={"Authorization": f"Bearer {token}"}, data={
        "title": "Town hall", "start": MANILA_MIDNIGHT, "duration_minutes": 60, "timezone": "America/New_York",
        "groups": [{"name": "New York", "timezone": "America/New_York"}, {"name": "Manila", "timezone": "Asia/Manila"}],
        "attendees": []})
    assert response.status == 201, response.text()


def _ask(page, live_server):
    page.goto(f"{live_server}/schedule")
    for index, (name, zone, start, end) in enumerate([("New York", "America/New_York", "09:00", "17:00"),
                                                      ("Manila", "Asia/Manila", "09:00", "18:00")]):
        page.locator(f"#groups-{index}-name").fill(name)
        page.locator(f"#groups-{index}-timezone").fill(zone)
        page.locator(f"#groups-{index}-work_start").fill(start)
        page.locator(f"#groups-{index}-work_end").fill(end)
        page.locator(f"#groups-{index}-holidays").fill("")
    page.locator("#from").fill("2030-03-11")
    page.locator("#to").fill("2030-03-16")


def test_the_ledger_chart_shows_who_carried_the_bad_hours_and_reads_at_phone_width(signed_in, live_server, organizer):
    page = signed_in
    _town_hall_at_manilas_midnight(page, live_server, organizer["token"])
    _ask(page, live_server)
    expect(page.locator("#history")).to_be_checked()
    page.get_by_role("button", name="Find fair times").click()

    expect(page.locator("#ledger-summary")).to_contain_text("Manila has been carrying the bad hours: 1 town hall")
    expect(page.locator("#ledger-summary")).to_contain_text("New York has had no pain at all")
    chart = page.locator("svg#ledger-chart")
    expect(chart.locator("rect")).to_have_count(2 * 6)  # per group: before, then with each of 5 suggestions
    manila_before = chart.locator("g[data-group='Manila'][data-series='before']")
    assert manila_before.get_attribute("data-value") == "20007.000"
    # the first suggestion spares Manila: its total stays where it was
    assert chart.locator("g[data-group='Manila'][data-series='with #1']").get_attribute("data-value") == "20007.000"
    assert float(chart.locator("g[data-group='New York'][data-series='with #1']").get_attribute("data-value")) > 0

    page.set_viewport_size({"width": 360, "height": 740})
    box = chart.bounding_box()
    assert 300 <= box["width"] <= 360
    for text in chart.locator("text").all():
        inner = text.bounding_box()
        assert inner["x"] >= box["x"] - 0.5 and inner["x"] + inner["width"] <= box["x"] + box["width"] + 0.5
        assert inner["height"] >= 8  # legible, not shrunk to specks
    bars = [rect.bounding_box() for rect in chart.locator("rect").all()]
    assert max(bar["width"] for bar in bars) > 100


def test_switching_history_off_forgets_the_earlier_town_halls(signed_in, live_server, organizer):
    page = signed_in
    _town_hall_at_manilas_midnight(page, live_server, organizer["token"])
    _ask(page, live_server)
    page.locator("#history").uncheck()
    page.get_by_role("button", name="Find fair times").click()
    expect(page.locator("#ledger-summary")).to_contain_text("History is off")
    expect(page.locator("#history")).not_to_be_checked()
    expect(page.locator("svg#ledger-chart g[data-series='before']")).to_have_count(0)
    expect(page.locator("svg#ledger-chart rect")).to_have_count(2 * 5)
