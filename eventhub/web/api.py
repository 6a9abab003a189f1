"""`/api/v1`: the blueprint every API module registers its routes on, and the service-wide endpoints."""

from __future__ import annotations

import re

from flask import Blueprint, g, jsonify
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from eventhub.extensions import db, jobs
from eventhub.services import outbox
from eventhub.web.auth import organizer_required
from eventhub.web.errors import ApiError
from eventhub.web.openapi import described, document, shaped
from eventhub.web.schemas.common import JobStatus
from eventhub.web.schemas.service import Health, HealthDown

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/health")
@described(ok=(200, Health), errors=(), organizer=False, tags=("service",), HTTP_503=HealthDown)
def health():
    """200 when the database (and Redis, when configured) answer; 503 naming the part that does not."""
    body = {"status": "ok", "database": "ok", "jobs": "redis" if jobs.uses_redis else "in-process"}
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        body.update(status="down", database="down")
    if jobs.uses_redis:
        try:
            jobs.connection.ping()
        except RedisError:
            body.update(status="down", jobs="down")
    if body["status"] != "ok":
        return shaped(HealthDown, body, 503)
    return shaped(Health, body)


@bp.get("/jobs/<job_id>")
@described(ok=(200, JobStatus), errors=(401, 404), organizer=True, tags=("summary",))
@organizer_required
def job_status(job_id: str):
    """Status and progress of a job this organizer started; failed jobs say so, with their reason."""
    task = outbox.task_of(g.organizer.id, job_id) if re.fullmatch(r"[0-9a-f]{32}", job_id) else None
    if task is None:
        raise ApiError(404, "No such job.")
    return shaped(JobStatus, job_json(task))


def job_json(task) -> dict:
    """A job as the API and the event page show it: status, progress, and why it failed."""
    progress = outbox.progress(task)
    done, total = progress.done, progress.total
    if progress.status == "finished" and not total:
        done = total = 1
    body = {"status": progress.status, "done": done, "total": total}
    if progress.failed is not None:
        body["failed"] = progress.failed
    if progress.error and progress.status in ("failed", "queued"):
        body["error"] = progress.error
    return body


@bp.get("/openapi.json")
@described(ok=(200, (None, "this document")), errors=(), organizer=False, tags=("service",))
def openapi_document():
    """The OpenAPI 3.1 document of this API, generated from the models that validate its requests."""
    return jsonify(document())
