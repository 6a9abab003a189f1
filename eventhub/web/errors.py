"""One error model: `{"error": {"code", "message", "field"}}` with a fitting 4xx under `/api/`."""

from __future__ import annotations

import json
import logging

from flask import jsonify, render_template, request
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from eventhub.domain.errors import InvalidField
from eventhub.extensions import db

log = logging.getLogger(__name__)

CODES = {
    400: "malformed",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}


class ApiError(Exception):
    """An error a view raises to answer with the error model."""

    def __init__(self, status: int, message: str, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.code = code or CODES.get(status, "error")


def error_response(status: int, message: str, field: str | None = None, code: str | None = None):
    body = {"error": {"code": code or CODES.get(status, "error"), "message": message, "field": field}}
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="eventhub"'
    return response


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_object() -> dict:
    """The request body as a JSON object, or ApiError 400. Never trusts the Content-Type alone."""
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "The body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ApiError(400, "The body must be a JSON object.")
    return value


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def register_error_handlers(app) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError):
        return error_response(error.status, error.message, error.field, error.code)

    @app.errorhandler(InvalidField)
    def handle_invalid_field(error: InvalidField):
        if wants_json():
            return error_response(422, error.message, error.field)
        return error_page(422, error.message)

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        status = error.code or 500
        if wants_json():
            return error_response(status, error.description or error.name)
        if status in (400, 404, 405, 413, 429):
            return error_page(status, error.description or error.name)
        return error

    @app.errorhandler(OperationalError)
    def handle_database_down(error: OperationalError):
        return _part_down("database")

    @app.errorhandler(RedisError)
    def handle_jobs_down(error: RedisError):
        return _part_down("jobs")

    @app.errorhandler(DBAPIError)
    def handle_database_error(error: DBAPIError):
        if error.connection_invalidated:
            return _part_down("database")
        return handle_unexpected(error)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.endpoint or "unknown endpoint")
        if wants_json():
            return error_response(500, "Something went wrong on our side; it has been logged.")
        return error_page(500, "Something went wrong on our side; it has been logged.")


def _part_down(part: str):
    """A part the service needs is away: nothing of the request was stored (its transaction is rolled back),
    and the client may try again shortly (503 with Retry-After)."""
    log.warning("%s unavailable on %s %s", part, request.method, request.endpoint)
    _roll_back()
    message = f"The {part} is unavailable right now; nothing was changed. Please try again shortly."
    response = error_response(503, message, part) if wants_json() else error_page(503, message)
    return _retry_soon(response)


def _roll_back() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection is gone with the database: nothing to roll back
        db.session.remove()


def _retry_soon(response):
    if isinstance(response, tuple):
        body, status = response
        return body, status, {"Retry-After": "5"}
    response.headers["Retry-After"] = "5"
    return response


def error_page(status: int, message: str):
    """The error page of every HTML answer: `status` and what went wrong in words."""
    return render_template("errors/error.html", status=status, message=message), status
