"""Sign-in against an attacker, over real HTTP with cookie jars (`requests`) against a live server: failed
passwords throttled per client and per account without locking the owner out, an unknown address as slow
as a wrong password, sign-out that ends every copy of the session cookie, and CSRF tokens that expire."""

import re
import statistics
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from eventhub.services.sign_in import WINDOW_SECONDS
from tests.conftest import app_of


@pytest.fixture
def settings(settings):
    settings["PROXY_HOPS"] = 1  # the test plays many clients through one trusted proxy hop
    return settings


@pytest.fixture
def fresh_window():
    """Failures are counted in fixed 15-minute windows of the clock: a test that meets a window's end
    would see its counts start again, so it begins in a new window if the current one ends too soon."""
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < 60:
        time.sleep(left + 0.5)


def _browser(address: str) -> requests.Session:
    session = requests.Session()
    session.headers["X-Forwarded-For"] = address
    return session


def _sign_in(browser: requests.Session, base: str, email: str, password: str) -> requests.Response:
    page = browser.get(f"{base}/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return browser.post(f"{base}/login", data={"email": email, "password": password, "csrf_token": token},
                        allow_redirects=False)


def _signed_in(browser: requests.Session, base: str) -> bool:
    return browser.get(f"{base}/", allow_redirects=False).status_code == 200


@pytest.mark.usefixtures("fresh_window")
def test_thirty_wrong_passwords_are_throttled_and_the_owner_still_gets_in_from_elsewhere(live_server, organizer):
    attacker = _browser("203.0.113.7")
    answers = [_sign_in(attacker, live_server, organizer["email"], f"guess-{n}") for n in range(30)]
    statuses = [answer.status_code for answer in answers]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    retry_after = int(answers[-1].headers["Retry-After"])
    assert 1 <= retry_after <= 15 * 60
    # the throttled client is refused even with the right password: nothing is checked meanwhile
    assert _sign_in(attacker, live_server, organizer["email"], organizer["password"]).status_code == 429

    owner = _browser("198.51.100.20")
    assert _sign_in(owner, live_server, organizer["email"], organizer["password"]).status_code == 302
    assert _signed_in(owner, live_server)


@pytest.mark.usefixtures("fresh_window")
def test_guesses_spread_over_many_clients_stop_but_the_owners_own_browser_still_gets_in(live_server, organizer):
    owner = _browser("198.51.100.20")
    assert _sign_in(owner, live_server, organizer["email"], organizer["password"]).status_code == 302
    owner.cookies.pop("session")  # signed out, but the browser is known to this account

    for client in range(4):
        attacker = _browser(f"203.0.113.{client + 1}")
        assert [_sign_in(attacker, live_server, organizer["email"], "wrong").status_code
                for _ in range(5)] == [401] * 5
    stranger = _browser("192.0.2.99")
    refused = _sign_in(stranger, live_server, organizer["email"], organizer["password"])
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert _sign_in(owner, live_server, organizer["email"], organizer["password"]).status_code == 302
    assert _signed_in(owner, live_server)


@pytest.mark.usefixtures("fresh_window")
def test_an_unknown_address_is_throttled_like_a_real_one(live_server, organizer):
    for client in range(4):
        attacker = _browser(f"203.0.113.{client + 1}")
        for _ in range(5):
            _sign_in(attacker, live_server, "nobody@example.com", "wrong")
    assert _sign_in(_browser("192.0.2.99"), live_server, "nobody@example.com", "wrong").status_code == 429


def test_an_unknown_address_takes_as_long_as_a_wrong_password(client, organizer):
    """Measured on the app itself, with each attempt from its own client so none is throttled, in CPU time
    of the thread serving it (the work done, not how busy the machine's other users keep its cores)."""

    def timed(email: str, attempt: int) -> float:
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        started = time.thread_time()
        answer = client.post("/login", data={"email": email, "password": "wrong password", "csrf_token": token},
                             environ_base={"REMOTE_ADDR": f"10.0.{attempt // 250}.{attempt % 250}"})
        elapsed = time.thread_time() - started
        assert answer.status_code == 401
        return elapsed

    timed("nobody@example.com", 0)  # warm up both paths
    timed(organizer["email"], 1)
    unknown, wrong = [], []
    for n in range(11):  # interleaved, so a busy moment of the machine falls on both
        unknown.append(timed(f"nobody{n}@example.com", 10 + 2 * n))
        wrong.append(timed(organizer["email"], 11 + 2 * n))
    print(f"sign-in CPU time, median (fastest): unknown address {statistics.median(unknown) * 1000:.1f} ms "
          f"({min(unknown) * 1000:.1f}), wrong password {statistics.median(wrong) * 1000:.1f} ms "
          f"({min(wrong) * 1000:.1f})")
    assert abs(statistics.median(unknown) - statistics.median(wrong)) < 0.15 * statistics.median(wrong)


def test_a_cookie_copied_before_sign_out_no_longer_opens_the_organizers_pages(live_server, organizer):
    browser = _browser("198.51.100.20")
    assert _sign_in(browser, live_server, organizer["email"], organizer["password"]).status_code == 302
    thief = _browser("203.0.113.66")
    thief.cookies.update(browser.cookies)
    assert _signed_in(thief, live_server)

    page = browser.get(f"{live_server}/").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert browser.post(f"{live_server}/logout", data={"csrf_token": token}, allow_redirects=False).status_code == 302
    assert not _signed_in(browser, live_server)
    assert not _signed_in(thief, live_server)
    assert thief.get(f"{live_server}/", allow_redirects=False).headers["Location"].startswith("/login")


def test_a_csrf_token_expires(settings, organizer, tmp_path):
    settings["CSRF_TOKEN_SECONDS"] = 1
    application = app_of(settings, tmp_path)
    client = application.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    time.sleep(2.1)
    stale = client.post("/login", data={"email": organizer["email"], "password": organizer["password"],
                                        "csrf_token": token})
    assert stale.status_code == 400 and "The form expired" in stale.get_data(as_text=True)
    assert client.get("/", follow_redirects=False).status_code == 302  # not signed in
    page = client.get("/login").get_data(as_text=True)
    fresh = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"email": organizer["email"], "password": organizer["password"],
                                       "csrf_token": fresh}).status_code == 302


@pytest.mark.usefixtures("fresh_window")
def test_with_redis_every_web_process_shares_the_throttle(rq_settings, organizer, tmp_path):
    """Two app instances stand for two gunicorn processes: failures counted by one refuse on the other."""
    first, second = app_of(rq_settings, tmp_path).test_client(), app_of(rq_settings, tmp_path).test_client()

    def attempt(client, password):
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        return client.post("/login", data={"email": organizer["email"], "password": password, "csrf_token": token},
                           environ_base={"REMOTE_ADDR": "203.0.113.9"})

    assert [attempt(first if n % 2 else second, "wrong").status_code for n in range(5)] == [401] * 5
    assert attempt(first, "wrong").status_code == 429
    assert attempt(second, organizer["password"]).status_code == 429


def test_an_attendee_whose_board_expired_is_sent_back_to_it_and_nothing_is_asked(settings, organizer, tmp_path):
    from eventhub.extensions import db
    from eventhub.models import Attendee, Question
    from eventhub.services.events import personal_token

    settings["CSRF_TOKEN_SECONDS"] = 1
    application = app_of(settings, tmp_path)
    client = application.test_client()
    start = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    client.post("/api/v1/events", headers={"Authorization": f"Bearer {organizer['token']}"},
                json={"title": "Town hall", "start": start, "attendees": [{"email": "a@example.com"}]})
    link = personal_token(db.session.query(Attendee).one().id)
    page = client.get(f"/ask/{link}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    time.sleep(2.1)
    stale = client.post(f"/ask/{link}", data={"text": "Is this still sent?", "csrf_token": token})
    assert stale.status_code == 303 and stale.headers["Location"].endswith(f"/ask/{link}")
    assert "nothing was sent" in client.get(f"/ask/{link}").get_data(as_text=True)
    assert db.session.query(Question).count() == 0
