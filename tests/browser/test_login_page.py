"""An organizer signs in through the real page in headless Chromium."""

from playwright.sync_api import expect


def test_an_organizer_signs_in_and_sees_their_town_halls(page, live_server, organizer):
    page.goto(f"{live_server}/")
    expect(page).to_have_url(f"{live_server}/login?next=%2F")
    page.get_by_label("Email").fill(organizer["email"])
    page.get_by_label("Password").fill(organizer["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_role("heading", name="Your town halls")).to_be_visible()
    expect(page.get_by_text("No town halls yet.")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server}/login")


def test_a_wrong_password_keeps_the_organizer_out(page, live_server, organizer):
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(organizer["email"])
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    page.set_viewport_size({"width": 375, "height": 700})  # a phone
    expect(page.get_by_role("button", name="Sign in")).to_be_in_viewport()
