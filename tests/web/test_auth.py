"""Organizer sign-in on pages (session + CSRF) and on the API (Bearer token)."""

import re

from eventhub.models import Organizer


def _csrf(client, path="/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_pages_redirect_to_login_when_signed_out(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_login_page_renders_a_form_with_csrf(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert 'name="csrf_token"' in response.get_data(as_text=True)


def test_login_with_the_right_password_shows_the_organizers_town_halls(client, organizer):
    response = client.post(
        "/login", data={"email": "ORG@example.com", "password": organizer["password"], "csrf_token": _csrf(client)}
    )
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "org@example.com" in page and "No town halls yet" in page


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, organizer):
    response = client.post(
        "/login", data={"email": organizer["email"], "password": "nope-nope", "csrf_token": _csrf(client)}
    )
    assert response.status_code == 401
    assert "do not match" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_a_login_form_without_its_csrf_token_is_refused(client, organizer):
    response = client.post("/login", data={"email": organizer["email"], "password": organizer["password"]})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_next_only_leads_to_this_site(client, organizer):
    token = _csrf(client)
    response = client.post(
        "/login?next=//evil.example/x",
        data={"email": organizer["email"], "password": organizer["password"], "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_logout_ends_the_session(client, organizer):
    client.post("/login", data={"email": organizer["email"], "password": organizer["password"],
                                "csrf_token": _csrf(client)})
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_session_cookie_is_http_only_and_same_site(client, organizer):
    response = client.post("/login", data={"email": organizer["email"], "password": organizer["password"],
                                           "csrf_token": _csrf(client)})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_cookies_are_secure_when_served_over_https(settings):
    from eventhub import create_app

    settings["EVENTHUB_BASE_URL"] = "https://eventhub.example.com"
    assert create_app(settings).config["SESSION_COOKIE_SECURE"] is True


def test_passwords_and_tokens_are_stored_only_as_hashes(app, organizer):
    stored = app.extensions["sqlalchemy"].session.get(Organizer, organizer["organizer"].id)
    assert organizer["password"] not in stored.password_hash
    assert organizer["token"] not in stored.token_hash
    assert stored.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_api_without_a_token_answers_401_json(client):
    response = client.get("/api/v1/jobs/abc")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_api_with_a_wrong_token_answers_401_json(client, organizer):
    for header in ("Bearer eh_wrong", "Basic abc", "Bearer", organizer["token"]):
        response = client.get("/api/v1/jobs/abc", headers={"Authorization": header})
        assert response.status_code == 401, header


def test_api_with_the_token_is_let_in(client, auth_headers):
    assert client.get("/api/v1/jobs/abc", headers=auth_headers).status_code == 404
