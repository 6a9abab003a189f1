"""An organizer fills in /schedule in headless Chromium and reads the time-zone grid."""

from playwright.sync_api import expect


def _fill_group(page, index, name, zone, start, end, holidays):
    page.locator(f"#groups-{index}-name").fill(name)
    page.locator(f"#groups-{index}-timezone").fill(zone)
    page.locator(f"#groups-{index}-work_start").fill(start)
    page.locator(f"#groups-{index}-work_end").fill(end)
    page.locator(f"#groups-{index}-holidays").fill(holidays)


def test_a_single_town_hall_shows_the_grid_with_the_chosen_slot(signed_in, live_server):
    page = signed_in
    page.goto(f"{live_server}/schedule")
    _fill_group(page, 0, "New York", "America/New_York", "09:00", "17:00", "US")
    _fill_group(page, 1, "Manila", "Asia/Manila", "21:00", "06:00", "PH")
    page.get_by_role("button", name="Add a group").click()
    _fill_group(page, 2, "London", "Europe/London", "09:00", "17:30", "GB")
    page.locator("#from").fill("2027-03-01")
    page.locator("#to").fill("2027-03-12")
    page.get_by_role("button", name="Find fair times").click()

    expect(page.get_by_role("heading", name="Best times")).to_be_visible()
    grid = page.locator("#planner-grid")
    expect(grid.locator("tbody tr")).to_have_count(3)
    row_names = grid.locator("tbody th[scope=row]").all_inner_texts()
    assert [name.splitlines()[0] for name in row_names] == ["New York", "Manila", "London"]
    assert "Asia/Manila" in row_names[1]
    chosen = grid.locator("tbody tr").nth(1).locator("td.chosen").first
    expect(chosen).to_have_class(__import__("re").compile("pain-level-0"))
    # each cell reads as a local time, and a new local day shows its date
    times = grid.locator("tbody tr").nth(0).locator(".time").all_inner_texts()
    assert len(times) == 24 and all(len(text) == 5 and text[2] == ":" for text in times)
    assert grid.locator("tbody tr").nth(1).locator(".date").count() >= 1


def test_a_series_shows_the_burden_chart_and_fairness(signed_in, live_server):
    page = signed_in
    page.goto(f"{live_server}/schedule")
    page.get_by_label("A recurring series").check()
    expect(page.locator("#count")).to_be_visible()
    expect(page.locator("#to")).to_be_hidden()
    _fill_group(page, 0, "New York", "America/New_York", "09:00", "17:00", "US")
    _fill_group(page, 1, "Manila", "Asia/Manila", "09:00", "18:00", "PH")
    page.locator("#from").fill("2027-03-01")
    page.locator("#count").fill("6")
    page.get_by_role("button", name="Find fair times").click()
    expect(page.get_by_role("heading", name="Burden over the series")).to_be_visible()
    expect(page.locator(".suggestions tbody tr")).to_have_count(6)
    # a row per group, each with the past (history on by default) and the total after the series
    expect(page.locator("svg.burden-chart rect")).to_have_count(4)
    assert 0 <= float(page.locator("#jain").inner_text()) <= 1
    expect(page.locator(".dst-shifts")).to_contain_text("New York")


def test_an_unknown_zone_is_named_next_to_the_form(signed_in, live_server):
    page = signed_in
    page.goto(f"{live_server}/schedule")
    page.locator("#groups-1-timezone").fill("Mars/Olympus")
    page.get_by_role("button", name="Find fair times").click()
    expect(page.get_by_role("alert")).to_contain_text("groups[1].timezone")
    expect(page.locator("#groups-1-timezone")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#groups-1-timezone")).to_have_value("Mars/Olympus")
