"""One error model for the whole API: JSON, a fitting 4xx, the offending field, never a 5xx."""

import pytest
from flask import Blueprint, jsonify

from eventhub.domain.errors import InvalidField
from eventhub.web.errors import json_object


@pytest.fixture
def echo_app(settings):
    """The app with one extra JSON endpoint that validates a field, as every API endpoint does."""
    from eventhub import create_app

    application = create_app(settings)
    probe = Blueprint("probe", __name__, url_prefix="/api/v1/probe")

    @probe.post("/echo")
    def echo():
        body = json_object()
        if not isinstance(body.get("count"), int):
            raise InvalidField("count", "must be a whole number")
        return jsonify(body)

    @probe.get("/boom")
    def boom():
        raise RuntimeError("a bug")

    application.register_blueprint(probe)
    application.extensions["csrf"].exempt(probe)
    application.config["MAX_CONTENT_LENGTH"] = 1024
    return application


@pytest.fixture
def echo(echo_app):
    return echo_app.test_client()


def _assert_error(response, status, code, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    assert response.json["error"]["code"] == code
    assert response.json["error"]["field"] == field
    assert response.json["error"]["message"]


@pytest.mark.parametrize("body", [b"{", b"not json", b"\xff\xfe", b"", b"[" * 1000, b'{"count": NaN}'])
def test_malformed_json_is_400(echo, body):
    _assert_error(echo.post("/api/v1/probe/echo", data=body, content_type="application/json"), 400, "malformed")


@pytest.mark.parametrize("body", [b"[]", b"1", b'"text"', b"null"])
def test_a_body_that_is_not_an_object_is_400(echo, body):
    _assert_error(echo.post("/api/v1/probe/echo", data=body, content_type="application/json"), 400, "malformed")


def test_an_invalid_field_is_422_naming_it(echo):
    _assert_error(echo.post("/api/v1/probe/echo", json={"count": "three"}), 422, "invalid", "count")


def test_a_valid_body_passes(echo):
    assert echo.post("/api/v1/probe/echo", json={"count": 3}).json == {"count": 3}


def test_a_body_over_the_limit_is_413(echo):
    _assert_error(echo.post("/api/v1/probe/echo", json={"x": "a" * 5000}), 413, "too_large")


def test_an_unknown_route_is_404_json(echo):
    _assert_error(echo.get("/api/v1/nowhere"), 404, "not_found")


def test_a_wrong_method_is_405_json(echo):
    _assert_error(echo.delete("/api/v1/probe/echo"), 405, "method_not_allowed")


def test_a_bug_is_a_json_500_without_a_stack_trace(echo_app):
    echo_app.testing = False
    echo_app.config["PROPAGATE_EXCEPTIONS"] = False
    response = echo_app.test_client().get("/api/v1/probe/boom")
    assert response.status_code == 500
    assert "Traceback" not in response.get_data(as_text=True)
    assert response.json["error"]["code"] == "internal"


def test_unknown_pages_get_an_html_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "text/html" in response.content_type


def test_health_reports_the_database(client):
    assert client.get("/api/v1/health").json == {"status": "ok", "database": "ok", "jobs": "in-process"}


def test_pages_forbid_inline_scripts(client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
