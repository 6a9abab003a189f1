"""Text hygiene: every text field, given each hostile character, answers 422 naming the field, or (where a line
break is fine) stores it safely as a newline; never a 5xx. A pasted description never makes the invites fail."""

import json

import pytest
from icalendar import Calendar

from eventhub.extensions import db, jobs
from eventhub.models import Attendee, Delivery
from eventhub.services.events import personal_token

# Each is sent inside ordinary text, escaped in the JSON ("\ud800" cannot even be encoded as UTF-8).
REFUSED = {"lone high surrogate": "\ud800", "lone low surrogate": "\udfff", "NUL": "\x00", "bell": "\x07",
           "escape": "\x1b", "delete": "\x7f", "C1 next line": "\x85", "C1 CSI": "\x9b"}
SEPARATORS = {"line separator": "\u2028", "paragraph separator": "\u2029"}

EVENT = {"title": "Town hall", "description": "Agenda", "start": "2030-03-05T14:00:00Z", "timezone": "UTC",
         "groups": [{"name": "Manila", "timezone": "Asia/Manila"}],
         "attendees": [{"email": "ana@example.com", "name": "Ana", "group": "Manila"}]}


def _send(client, method, path, body, headers=None):
    """The body as JSON with every non-ASCII character escaped, as a careful client would send a surrogate."""
    return client.open(path, method=method, data=json.dumps(body, ensure_ascii=True),
                       headers={**(headers or {}), "Content-Type": "application/json"})


@pytest.fixture
def town_hall(client, auth_headers):
    created = _send(client, "POST", "/api/v1/events", EVENT, auth_headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    attendee = db.session.query(Attendee).filter_by(event_id=created.json["id"]).one()
    token = personal_token(attendee.id)
    question = _send(client, "POST", f"/api/v1/ask/{token}/questions", {"text": "Why now?"})
    return {"id": created.json["id"], "token": token, "question": question.json["id"]}


def _requests(hall, text):
    """(field the answer must name, method, path, body, organizer's?) for every text field of the API."""
    event, token, question = hall["id"], hall["token"], hall["question"]
    attendee = EVENT["attendees"][0]
    return [
        ("title", "POST", "/api/v1/events", {**EVENT, "title": text}, True),
        ("description", "POST", "/api/v1/events", {**EVENT, "description": text}, True),
        ("attendees[0].name", "POST", "/api/v1/events", {**EVENT, "attendees": [{**attendee, "name": text}]}, True),
        ("attendees[0].group", "POST", "/api/v1/events", {**EVENT, "attendees": [{**attendee, "group": text}]},
         True),
        ("groups[0].name", "POST", "/api/v1/events", {**EVENT, "groups": [{"name": text, "timezone": "UTC"}]},
         True),
        ("title", "PATCH", f"/api/v1/events/{event}", {"title": text}, True),
        ("description", "PATCH", f"/api/v1/events/{event}", {"description": text}, True),
        ("text", "POST", f"/api/v1/ask/{token}/questions", {"text": text}, False),
        ("answer", "PATCH", f"/api/v1/questions/{question}", {"answer": text}, True),
        ("notes", "POST", f"/api/v1/events/{event}/summary", {"notes": text}, True),
        ("action_items[0]", "POST", f"/api/v1/events/{event}/summary", {"action_items": [text]}, True),
    ]


MULTI_LINE = {"description", "text", "answer", "notes", "action_items[0]"}
FIELDS = [field for field, *_ in _requests({"id": "", "token": "", "question": ""}, "")]


@pytest.mark.parametrize("character", REFUSED.values(), ids=REFUSED.keys())
@pytest.mark.parametrize("index", range(len(FIELDS)), ids=[f"{i}-{f}" for i, f in enumerate(FIELDS)])
def test_a_control_character_or_lone_surrogate_in_any_text_field_is_a_422_naming_it(
        client, auth_headers, town_hall, index, character):
    field, method, path, body, organizers = _requests(town_hall, f"Ask {character} me")[index]
    response = _send(client, method, path, body, auth_headers if organizers else None)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert response.json["error"]["field"] == field


@pytest.mark.parametrize("character", SEPARATORS.values(), ids=SEPARATORS.keys())
@pytest.mark.parametrize("index", range(len(FIELDS)), ids=[f"{i}-{f}" for i, f in enumerate(FIELDS)])
def test_a_line_separator_is_a_newline_in_multi_line_text_and_refused_in_one_line_text(
        client, auth_headers, town_hall, index, character):
    field, method, path, body, organizers = _requests(town_hall, f"First part {character}second part")[index]
    response = _send(client, method, path, body, auth_headers if organizers else None)
    if field in MULTI_LINE:
        assert response.status_code in (200, 201, 202), response.get_data(as_text=True)[:300]
        assert character not in response.get_data(as_text=True)
    else:
        assert response.status_code == 422, response.get_data(as_text=True)[:300]
        assert response.json["error"]["field"] == field


def test_a_stored_line_separator_reads_back_as_a_newline(client, auth_headers, town_hall):
    _send(client, "PATCH", f"/api/v1/events/{town_hall['id']}", {"description": "one\u2028two\u2029three"},
          auth_headers)
    assert client.get(f"/api/v1/events/{town_hall['id']}", headers=auth_headers).json["description"] == \
        "one\ntwo\nthree"


PASTED = ("Agenda\u2028• Q1 numbers\u2029\tCarried over:\r\n> quoted reply\r\n" + "a" * 998 + "\n"
          "Right-to-left \u202eevil\u202c, zero width \u200b, emoji 🎉, combining e\u0301, BOM \ufeff, "
          "a line with only a dot:\n.\nFrom the start of a line\nEND:VEVENT\nBEGIN:VALARM\n")


def test_a_pasted_description_never_makes_the_invites_fail(client, auth_headers, mail):
    created = _send(client, "POST", "/api/v1/events",
                    {**EVENT, "description": PASTED, "attendees": [
                        {"email": "ana@example.com", "name": "Ana \u00e9\u0301", "group": "Manila"},
                        {"email": "bob@example.com", "name": "Bob 🎉", "group": ""}]}, auth_headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    jobs.wait_local()
    db.session.expire_all()
    statuses = {delivery.status for delivery in db.session.query(Delivery).filter_by(event_id=created.json["id"])}
    assert statuses == {"sent"}
    assert sorted(item["to"][0] for item in mail.messages) == ["ana@example.com", "bob@example.com"]
    part = next(part for part in mail.messages[0]["message"].walk() if part.get_content_type() == "text/calendar")
    events = Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")
    assert len(events) == 1 and not events[0].walk("VALARM")
    assert "END:VEVENT\nBEGIN:VALARM" in str(events[0]["DESCRIPTION"])

def _signed_in(client, organizer) -> str:
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"email": organizer["email"], "password": organizer["password"], "csrf_token": csrf})
    return csrf


# A form cannot carry a lone surrogate (undecodable bytes arrive as U+FFFD), but it can carry every control.
FORM_CHARACTERS = {"NUL": "\x00", "escape": "\x1b", "C1 next line": "\x85", "line separator": "\u2028"}
FORM_FIELDS = ["title", "description", "attendees"]


@pytest.mark.parametrize("character", FORM_CHARACTERS.values(), ids=FORM_CHARACTERS.keys())
@pytest.mark.parametrize("field", FORM_FIELDS)
def test_the_event_form_answers_a_control_character_in_any_field_with_422_naming_it(
        client, organizer, field, character):
    csrf = _signed_in(client, organizer)
    form = {"csrf_token": csrf, "title": "Town hall", "description": "Agenda item", "timezone": "UTC",
            "duration_minutes": "60", "occurrences": "2030-03-05T14:00:00Z", "groups": "",
            "attendees": "ana@example.com, Ana, Manila"}
    form[field] = form[field].replace("a", f"a{character}", 1)
    response = client.post("/events/new", data=form)
    if field == "description" and character == "\u2028":
        assert response.status_code == 302
    else:
        assert response.status_code == 422, response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("character", FORM_CHARACTERS.values(), ids=FORM_CHARACTERS.keys())
def test_the_question_board_and_the_summary_form_never_fail_on_a_control_character(
        client, auth_headers, organizer, town_hall, character):
    board = client.get(f"/ask/{town_hall['token']}").get_data(as_text=True)
    csrf = board.split('name="csrf_token" value="')[1].split('"')[0] if 'name="csrf_token" value="' in board else ""
    asked = client.post(f"/ask/{town_hall['token']}", data={"text": f"Why {character} now?", "csrf_token": csrf})
    assert asked.status_code in ((302,) if character == "\u2028" else (422,)), asked.get_data(as_text=True)[:300]
    csrf = _signed_in(client, organizer)
    saved = client.post(f"/events/{town_hall['id']}/summary", data={"notes": f"a{character}b", "csrf_token": csrf,
                                                                     "action_items": f"x{character}y"})
    assert saved.status_code == 302
    notes = client.get(f"/api/v1/events/{town_hall['id']}/summary", headers=auth_headers).json
    assert character not in json.dumps(notes, ensure_ascii=False)
