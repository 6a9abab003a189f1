"""What a careless or hostile client sends: every field of every write endpoint given every wrong kind of
value answers a 4xx with a message, never a 5xx, and nothing already stored is lost."""

import pytest

from eventhub.extensions import db, jobs
from eventhub.models import Attendee
from eventhub.services.events import personal_token

HOSTILE = [None, True, -1, 10**30, 1.5, "", " ", "x" * 20_000, [], {}, ["a"], {"a": 1}, "2027-13-45T99:99:99Z",
           "NaN", "\u0000", "<script>alert(1)</script>", "../../etc/passwd", "'; DROP TABLE events; --"]

EVENT = {"title": "Town hall", "start": "2030-03-05T14:00:00Z", "timezone": "America/New_York",
         "duration_minutes": 60, "every": None, "questions_close": None, "moderation": False,
         "groups": [{"name": "Manila", "timezone": "Asia/Manila"}],
         "attendees": [{"email": "ana@example.com", "name": "Ana", "group": "Manila"}]}
EVENT_FIELDS = ["title", "description", "start", "occurrences", "timezone", "duration_minutes", "every",
                "questions_close", "moderation", "groups", "attendees"]


def _check(response):
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.json["error"]["message"]


@pytest.mark.parametrize("field", EVENT_FIELDS)
def test_creating_with_any_hostile_value_is_a_4xx_or_a_clean_success(client, auth_headers, field):
    for value in HOSTILE:
        response = client.post("/api/v1/events", json={**EVENT, field: value}, headers=auth_headers)
        if response.status_code != 201:
            _check(response)
    for value in HOSTILE:
        for nested in ({"attendees": [{**EVENT["attendees"][0], "email": value}]},
                       {"attendees": [{**EVENT["attendees"][0], "name": value}]},
                       {"attendees": [{**EVENT["attendees"][0], "timezone": value}]},
                       {"groups": [{"name": value, "timezone": "UTC"}]}, {"attendees": [value]}):
            response = client.post("/api/v1/events", json={**EVENT, **nested}, headers=auth_headers)
            if response.status_code != 201:
                _check(response)


def test_a_bad_change_answers_4xx_and_loses_nothing(client, auth_headers):
    created = client.post("/api/v1/events", json=EVENT, headers=auth_headers).json
    jobs.wait_local()
    def stored():
        jobs.wait_local()  # an accepted change's invites are sent before the town hall is compared
        return client.get(f"/api/v1/events/{created['id']}", headers=auth_headers).json

    state = stored()
    for field in EVENT_FIELDS + ["unknown_field"]:
        for value in HOSTILE:
            response = client.patch(f"/api/v1/events/{created['id']}", json={field: value}, headers=auth_headers)
            if response.status_code != 200:
                _check(response)
                assert stored() == state, f"a refused {field}={value!r} changed the town hall"
            state = stored()
    for body in (b"[]", b"{", b"null", b'"x"'):
        _check(client.patch(f"/api/v1/events/{created['id']}", data=body, content_type="application/json",
                            headers=auth_headers))
    assert stored() == state  # the malformed bodies changed nothing either


def test_moderation_and_summary_endpoints_refuse_hostile_bodies_with_4xx(client, auth_headers):
    created = client.post("/api/v1/events", json=EVENT, headers=auth_headers).json
    attendee = db.session.query(Attendee).filter_by(event_id=created["id"]).one()
    token = personal_token(attendee.id)
    question = client.post(f"/api/v1/ask/{token}/questions", json={"text": "A fair question?"}).json["id"]
    for value in HOSTILE:
        for path, body in ((f"/api/v1/questions/{question}", {"status": value}),
                           (f"/api/v1/questions/{question}", {"answer": value})):
            response = client.patch(path, json=body, headers=auth_headers)
            if response.status_code != 200:
                _check(response)
        _check(client.post(f"/api/v1/questions/{question}/merge", json={"into": value}, headers=auth_headers))
        for body in ({"notes": value}, {"action_items": value}, {"action_items": [value]}):
            response = client.post(f"/api/v1/events/{created['id']}/summary", json=body, headers=auth_headers)
            if response.status_code != 202:
                _check(response)
            else:
                jobs.wait_local()
                break
        for path in (f"/api/v1/ask/{value}", f"/api/v1/events/{value}", f"/api/v1/jobs/{value}"):
            if isinstance(value, str) and value.strip() and "\u0000" not in value and "/" not in value:
                assert client.get(path, headers=auth_headers).status_code < 500
    assert client.get(f"/api/v1/ask/{token}").json["questions"][0]["id"] == question


def test_a_nul_byte_anywhere_is_a_4xx_on_every_database(client, auth_headers, organizer):
    """PostgreSQL refuses NUL in text outright: it must never reach a query."""
    created = client.post("/api/v1/events", json=EVENT, headers=auth_headers).json
    attendee = db.session.query(Attendee).filter_by(event_id=created["id"]).one()
    token = personal_token(attendee.id)
    question = client.post(f"/api/v1/ask/{token}/questions", json={"text": "A fair question?"}).json["id"]
    for path in ("/api/v1/events/%00", f"/api/v1/events/{created['id'][:-1]}%00", "/api/v1/ask/%00",
                 f"/api/v1/ask/{token}%00", "/events/%00/summary", "/api/v1/jobs/%00"):
        assert 400 <= client.get(path, headers=auth_headers).status_code < 500, path
    for path in (f"/api/v1/ask/{token}/questions/%00/vote", "/api/v1/questions/%00/merge"):
        assert 400 <= client.post(path, json={"into": question}, headers=auth_headers).status_code < 500, path
    for body in ({"answer": "a\x00b"}, {"status": "\x00"}):
        _check(client.patch(f"/api/v1/questions/{question}", json=body, headers=auth_headers))
    _check(client.post(f"/api/v1/questions/{question}/merge", json={"into": "\x00"}, headers=auth_headers))
    for body in ({"notes": "a\x00b"}, {"action_items": ["a\x00b"]}):
        _check(client.post(f"/api/v1/events/{created['id']}/summary", json=body, headers=auth_headers))
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/login", data={"email": "org\x00@example.com", "password": "x", "csrf_token": csrf})
    assert 400 <= response.status_code < 500


def test_the_event_form_refuses_odd_numbers_and_unreadable_lines_with_422(client, organizer):
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"email": organizer["email"], "password": organizer["password"], "csrf_token": csrf})
    form = {"csrf_token": csrf, "title": "T", "occurrences": "2030-03-05T14:00:00Z", "timezone": "UTC",
            "duration_minutes": "60", "attendees": "a@example.com"}
    assert client.post("/events/new", data={**form, "duration_minutes": "\u00b2"}).status_code == 422
    assert client.post("/events/new", data={**form, "attendees": "a" * 200_000 + '"x'}).status_code == 422


def test_job_ids_of_any_shape_answer_404_with_redis(rq_settings, client, auth_headers):
    for job_id in ("..", "*", "%C3%A9", "a b", "x" * 65):
        assert client.get(f"/api/v1/jobs/{job_id}", headers=auth_headers).status_code == 404, job_id


def test_group_names_with_separators_survive_the_pre_filled_form(client, organizer):
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"email": organizer["email"], "password": organizer["password"], "csrf_token": csrf})
    page = client.get("/events/new?group_name=Ops%7CNight%2C+Manila&group_zone=Asia/Manila").get_data(as_text=True)
    assert "Ops|Night, Manila, Asia/Manila" in page
