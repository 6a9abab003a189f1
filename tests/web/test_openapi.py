"""`GET /api/v1/openapi.json`: an OpenAPI 3.1 document of every endpoint of the contract, generated from the
models that validate the requests, with the one error model; and the validation speaks the contract's language."""

import pytest

from eventhub.extensions import db, jobs
from eventhub.models import Attendee
from eventhub.services.events import personal_token

# Every endpoint of CONTRACT.md, as the document names it.
CONTRACT = [
    ("post", "/api/v1/suggestions"), ("post", "/api/v1/series"),
    ("post", "/api/v1/events"), ("get", "/api/v1/events/{event_id}"), ("patch", "/api/v1/events/{event_id}"),
    ("delete", "/api/v1/events/{event_id}"), ("get", "/api/v1/events/{event_id}/invite.ics"),
    ("get", "/api/v1/events/{event_id}/attendees"), ("post", "/api/v1/events/{event_id}/attendees"),
    ("post", "/api/v1/events/{event_id}/invites/resend"),
    ("get", "/api/v1/ask/{token}"), ("post", "/api/v1/ask/{token}/questions"),
    ("post", "/api/v1/ask/{token}/questions/{question_id}/vote"),
    ("delete", "/api/v1/ask/{token}/questions/{question_id}/vote"),
    ("get", "/api/v1/events/{event_id}/questions"), ("patch", "/api/v1/questions/{question_id}"),
    ("post", "/api/v1/questions/{question_id}/merge"),
    ("post", "/api/v1/events/{event_id}/summary"), ("get", "/api/v1/events/{event_id}/summary"),
    ("get", "/api/v1/jobs/{job_id}"), ("get", "/api/v1/health"), ("get", "/api/v1/openapi.json"),
]


@pytest.fixture
def document(client):
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    return answer.json


def test_the_document_is_openapi_3_1_and_lists_every_endpoint_of_the_contract(document):
    assert document["openapi"].startswith("3.1.")
    listed = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert set(CONTRACT) <= listed
    assert listed <= set(CONTRACT) | {("get", "/api/v1/events")}


def test_every_error_answer_is_the_one_error_model(document):
    detail = document["components"]["schemas"]["ErrorDetail"]
    assert set(detail["properties"]) == {"code", "message", "field"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if int(status) >= 400 and (path, status) != ("/api/v1/health", "503"):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorAnswer"}, (method, path, status)


def test_organizer_endpoints_ask_for_the_bearer_token_and_attendee_endpoints_do_not(document):
    assert document["components"]["securitySchemes"]["organizer"] == {
        "type": "http", "scheme": "bearer", "description": "the organizer's API token"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            public = path.startswith("/api/v1/ask/") or path in ("/api/v1/health", "/api/v1/openapi.json")
            assert operation.get("security", []) == ([] if public else [{"organizer": []}]), (method, path)
            assert ("401" in operation["responses"]) is not public, (method, path)


def test_request_bodies_and_answers_are_described_with_their_fields(document):
    schemas = document["components"]["schemas"]
    create = document["paths"]["/api/v1/events"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/EventIn"}
    assert {"title", "start", "occurrences", "attendees", "questions_close", "moderation"} <= set(
        schemas["EventIn"]["properties"])
    assert schemas["EventIn"]["required"] == ["title"]
    assert {"id", "ics_url", "attendees", "responses"} <= set(schemas["EventOut"]["required"])
    assert {"email", "name", "group", "response", "proposed_start", "proposed_end", "invite"} <= set(
        schemas["AttendeeRow"]["required"])
    assert "history" in schemas["SuggestionsIn"]["properties"] and "ledger" in schemas["Suggestions"]["properties"]
    board = document["paths"]["/api/v1/ask/{token}"]["get"]
    assert "304" in board["responses"] and {"name": "If-None-Match", "in": "header"}.items() <= board[
        "parameters"][1].items()
    health = document["paths"]["/api/v1/health"]["get"]["responses"]
    assert health["503"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/HealthDown"}
    assert document["paths"]["/api/v1/events/{event_id}/invites/resend"]["post"]["responses"]["202"]["content"][
        "application/json"]["schema"] == {"$ref": "#/components/schemas/JobStarted"}


def test_the_documents_own_examples_are_accepted(client, auth_headers, document):
    for path in ("/api/v1/events", "/api/v1/suggestions", "/api/v1/series"):
        schema = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        example = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]["examples"][0]
        answer = client.post(path, json=example, headers=auth_headers)
        assert answer.status_code in (200, 201), (path, answer.json)
    jobs.wait_local()


@pytest.mark.parametrize(("body", "field"), [
    ({"title": 5}, "title"),
    ({"title": "T", "start": "2030-03-05T14:00:00Z", "duration_minutes": "60"}, "duration_minutes"),
    ({"title": "T", "start": "2030-03-05T14:00:00Z", "duration_minutes": True}, "duration_minutes"),
    ({"title": "T", "start": "2030-03-05T14:00:00Z", "groups": [{"name": "A", "timezone": "UTC"},
                                                                 {"name": "B", "timezone": 5}]}, "groups[1].timezone"),
    ({"title": "T", "start": "2030-03-05T14:00:00Z", "attendees": [{"email": "a@example.com"}, {"name": "x"}]},
     "attendees[1].email"),
    ({"title": "T", "start": "2030-03-05T14:00:00Z", "attendees": [{"email": "not an email"}]}, "attendees[0].email"),
    ({"title": "T", "start": "2030-03-05T14:00:00Z", "every": "daily", "occurrences": ["2030-03-05T14:00:00Z"]},
     "every"),
])
def test_a_body_that_does_not_fit_its_model_is_a_422_naming_the_field_by_its_path(client, auth_headers, body, field):
    answer = client.post("/api/v1/events", json=body, headers=auth_headers)
    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "invalid" and answer.json["error"]["field"] == field
    assert answer.json["error"]["message"]


def test_malformed_and_oversized_bodies_keep_their_400_and_413(client, auth_headers, app):
    for path in ("/api/v1/events", "/api/v1/suggestions", "/api/v1/series"):
        for raw in (b"{", b"[]", b"\xff", b"NaN", b'"text"'):
            answer = client.post(path, data=raw, headers={**auth_headers, "Content-Type": "application/json"})
            assert answer.status_code == 400 and answer.json["error"]["code"] == "malformed", (path, raw)
    app.config["MAX_CONTENT_LENGTH"] = 1024
    answer = client.post("/api/v1/events", data=b'{"title": "' + b"x" * 2048 + b'"}', headers=auth_headers)
    assert answer.status_code == 413 and answer.json["error"]["code"] == "too_large"


def test_a_change_names_a_field_a_town_hall_does_not_have(client, auth_headers):
    created = client.post("/api/v1/events", json={"title": "T", "start": "2030-03-05T14:00:00Z"}, headers=auth_headers)
    answer = client.patch(f"/api/v1/events/{created.json['id']}", json={"colour": "red"}, headers=auth_headers)
    assert answer.status_code == 422 and answer.json["error"]["field"] == "colour"
    jobs.wait_local()


def test_an_attendee_body_is_checked_by_the_same_models(client, auth_headers):
    created = client.post("/api/v1/events", json={"title": "T", "start": "2030-03-05T14:00:00Z", "attendees": [
        {"email": "ana@example.com"}]}, headers=auth_headers)
    jobs.wait_local()
    token = personal_token(db.session.query(Attendee).filter_by(event_id=created.json["id"]).one().id)
    for body, field in (({"text": 42}, "text"), ({}, "text"), ({"text": ["a"]}, "text")):
        answer = client.post(f"/api/v1/ask/{token}/questions", json=body)
        assert answer.status_code == 422 and answer.json["error"]["field"] == field


def test_the_readme_links_the_document():
    from tests.conftest import ROOT

    assert "/api/v1/openapi.json" in (ROOT / "README.md").read_text()
