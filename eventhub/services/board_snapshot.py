"""One version of an event's shared board: what every link of the event sees, built from the database.

`services/board.py` keeps these per event and version; the attendee's own `voted` flags are never part of one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, func, select

from eventhub.domain import zones
from eventhub.domain.questions import BoardEntry, board_order, questions_open
from eventhub.domain.statuses import ON_THE_BOARD, EventStatus
from eventhub.extensions import statements
from eventhub.models import Event, Occurrence, Question, VoteTally


@dataclass(frozen=True)
class Snapshot:
    """One version of an event's shared board. `questions` are the contract's rows without `voted`."""

    event_id: str
    version: int
    digest: str
    event: dict  # title, start, questions_close, moderation (formatted as the API answers them)
    questions_close: datetime
    cancelled: bool
    questions: tuple[dict, ...]
    question_ids: frozenset[str]
    order: tuple[str, ...]  # question ids in board order
    fragments: tuple[str, ...]  # each question's JSON up to its `"voted":` value
    unvoted: str  # the questions' JSON as a link that voted for none sees them (most links)

    def open_at(self, now: datetime) -> bool:
        return questions_open(self.cancelled, self.questions_close, now)

    def to_json(self) -> str:
        return json.dumps({"event_id": self.event_id, "version": self.version, "event": self.event,
                           "questions_close": self.questions_close.isoformat(),
                           "cancelled": self.cancelled, "questions": list(self.questions)},
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Snapshot:
        data = json.loads(text)
        return _snapshot(data["event_id"], data["version"], data["event"],
                         datetime.fromisoformat(data["questions_close"]), data["cancelled"], data["questions"])


def _snapshot(event_id: str, version: int, event: dict, questions_close: datetime, cancelled: bool,
              questions: list[dict]) -> Snapshot:
    shared = json.dumps({"event": event, "cancelled": cancelled, "questions": questions}, separators=(",", ":"))
    fragments = tuple(json.dumps(q, separators=(",", ":"))[:-1] + ',"voted":' for q in questions)
    return Snapshot(event_id, version, hashlib.sha256(shared.encode()).hexdigest()[:32], event, questions_close,
                    cancelled, tuple(questions), frozenset(q["id"] for q in questions),
                    tuple(q["id"] for q in questions), fragments, ",".join(f + "false}" for f in fragments))


def build_snapshot(event_id: str, version: int) -> Snapshot | None:
    """Read the event's shared board from the database (None if the event is gone)."""
    with statements() as connection:
        event = connection.execute(_EVENT, {"event_id": event_id}).first()
        if event is None:
            return None
        questions = connection.execute(_QUESTIONS, {"event_id": event_id}).all()
        counts = dict(connection.execute(_TALLIES, {"event_id": event_id}).all()) if questions else {}
    # Once the window closed the voter rows are gone and each question keeps its count.
    counts.update({q.id: q.votes_at_close for q in questions if q.votes_at_close is not None})
    entries = board_order([BoardEntry(q.id, q.text, counts.get(q.id, 0), q.status, q.answer) for q in questions])
    return _snapshot(event_id, version, {
        "title": event.title, "start": zones.format_utc(event.start),
        "questions_close": zones.format_utc(event.questions_close), "moderation": event.moderation,
    }, event.questions_close, event.status == EventStatus.CANCELLED,
        [{"id": e.id, "text": e.text, "votes": e.votes, "status": e.status, "answer": e.answer} for e in entries])


_EVENT = select(Event.title, Event.questions_close, Event.moderation, Event.status,
                select(func.min(Occurrence.start)).where(Occurrence.event_id == Event.id).scalar_subquery()
                .label("start")).where(Event.id == bindparam("event_id"))
_QUESTIONS = select(Question.id, Question.text, Question.status, Question.answer, Question.votes_at_close).where(
    Question.event_id == bindparam("event_id"), Question.status.in_(ON_THE_BOARD), Question.merged_into.is_(None))
# Each question's votes: the sum of its tally (kept by the database's triggers on `votes`, `models.VoteTally`).
_TALLIES = select(VoteTally.question_id, func.sum(VoteTally.votes)).join(Question).where(
    Question.event_id == bindparam("event_id")).group_by(VoteTally.question_id)


def etag(snapshot: Snapshot, is_open: bool, mine: frozenset[str]) -> str:
    """The board's validator for one link: the shared content's digest, whether it is open, and the link's
    own votes, keyed with the secret so the tag says nothing to anyone who sees it but cannot recompute it."""
    material = "|".join((snapshot.event_id, snapshot.digest, "open" if is_open else "closed", *sorted(mine)))
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"board-etag:" + material.encode(), hashlib.sha256).hexdigest()[:32]
