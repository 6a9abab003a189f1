"""The API's answers: how the objects the services return are written as JSON, with URLs built by `url_for`.

Each function returns the plain data that `shaped(Model, ...)` checks against the OpenAPI schema of that answer.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta

from flask import current_app, url_for

from eventhub.domain import zones
from eventhub.models import Event
from eventhub.services.board_snapshot import Snapshot
from eventhub.services.events import Standing
from eventhub.services.questions import ModerationRow
from eventhub.services.summaries import SummaryState


def absolute_url(endpoint: str, **values) -> str:
    """`url_for` on the service's public address (`EVENTHUB_BASE_URL`), whatever host the request came in on."""
    return current_app.config["EVENTHUB_BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def event_answer(event: Event, standing: Standing) -> dict:
    return {
        "id": event.id,
        "title": event.title,
        "description": event.description,
        "status": event.status,
        "start": zones.format_utc(event.start),
        "end": zones.format_utc(event.start + timedelta(minutes=event.duration_minutes)),
        "duration_minutes": event.duration_minutes,
        "timezone": event.timezone,
        "local_start": zones.format_local(event.start, zones.get_zone(event.timezone)),
        "occurrences": [zones.format_utc(o.start) for o in event.occurrences],
        "every": event.every,
        "sequence": event.sequence,
        "questions_close": zones.format_utc(event.questions_close),
        "moderation": event.moderation,
        "groups": [{"name": group.name, "timezone": group.timezone} for group in event.groups],
        "meet_url": event.meet_url,
        "ics_url": absolute_url("events_api.download_invite", event_id=event.id),
        "page_url": absolute_url("events.show_event", event_id=event.id),
        "attendees": standing.attendees,
        "invites": asdict(standing.invites),
        "responses": asdict(standing.responses),
        "job_id": event.last_job_id,
    }


def summary_answer(event: Event, state: SummaryState) -> dict:
    return {
        "status": state.status, "job_id": state.job_id, "title": state.body.title,
        "questions": [{"id": q.id, "text": q.text, "votes": q.votes, "answer": q.answer,
                       "carried_over": q.answer is None} for q in state.body.questions],
        "notes": state.body.notes, "action_items": list(state.body.action_items),
        "sent": state.sent, "failed": state.failed,
        "page_url": absolute_url("summaries.public_summary", event_id=event.id),
    }


def board_answer(snapshot: Snapshot, is_open: bool, mine: frozenset[str]) -> dict:
    """The board as one link sees it: the shared snapshot plus that link's own `voted` flags."""
    event = snapshot.event
    return {
        "event": {"title": event["title"], "start": event["start"], "questions_close": event["questions_close"],
                  "open": is_open, "moderation": event["moderation"]},
        "questions": [{**question, "voted": question["id"] in mine} for question in snapshot.questions],
    }


def board_answer_json(snapshot: Snapshot, is_open: bool, mine: frozenset[str]) -> str:
    """`board_answer` as JSON, joined from the snapshot's prebuilt pieces (no per-request encoding of the board)."""
    event = json.dumps({**{k: snapshot.event[k] for k in ("title", "start", "questions_close")}, "open": is_open,
                        "moderation": snapshot.event["moderation"]}, separators=(",", ":"))
    rows = snapshot.unvoted if not mine else ",".join(
        fragment + ("true}" if question_id in mine else "false}")
        for fragment, question_id in zip(snapshot.fragments, snapshot.order, strict=True))
    return f'{{"event":{event},"questions":[{rows}]}}'


def moderation_answer(row: ModerationRow) -> dict:
    return {**asdict(row), "similar": list(row.similar)}
