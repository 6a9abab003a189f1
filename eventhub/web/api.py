"""`/api/v1`: the blueprint every API module registers its routes on, and the service-wide endpoints."""

from __future__ import annotations

import re

from flask import Blueprint, g, jsonify
from sqlalchemy import text

from eventhub.extensions import db, jobs
from eventhub.web.auth import organizer_required
from eventhub.web.errors import ApiError
from eventhub.web.openapi import described, document, shaped
from eventhub.web.schemas.common import JobStatus
from eventhub.web.schemas.service import Health, HealthDown

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/health")
@described(ok=(200, Health), errors=(), organizer=False, tags=("service",), HTTP_503=HealthDown)
def health():
    """Whether the database (and Redis, when configured) answer."""
    db.session.execute(text("SELECT 1"))
    body = {"status": "ok", "database": "ok", "jobs": "redis" if jobs.uses_redis else "in-process"}
    if jobs.uses_redis:
        jobs.connection.ping()
    return shaped(Health, body)


@bp.get("/jobs/<job_id>")
@described(ok=(200, JobStatus), errors=(401, 404), organizer=True, tags=("summary",))
@organizer_required
def job_status(job_id: str):
    """Status and progress of a job this organizer started; failed jobs say so."""
    described = jobs.status(job_id) if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", job_id) else None
    if described is None or described.pop("owner") != g.organizer.id:
        raise ApiError(404, "No such job.")
    return shaped(JobStatus, described)


@bp.get("/openapi.json")
@described(ok=(200, (None, "this document")), errors=(), organizer=False, tags=("service",))
def openapi_document():
    """The OpenAPI 3.1 document of this API, generated from the models that validate its requests."""
    return jsonify(document())
