"""Asking, voting and moderating anonymous questions.

The personal link finds the attendee only to learn the event; nothing about the attendee is written with
a question or a vote. The organizer's views show per question only the total every attendee sees.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, func, or_, select, text
from sqlalchemy.exc import IntegrityError

from eventhub.domain.errors import InvalidField
from eventhub.domain.questions import (
    clean_answer,
    clean_question,
    questions_open,
    rate_key,
    rounded_to_hour,
    similar_pairs,
    voter_pseudonym,
)
from eventhub.domain.statuses import MODERATOR_CHOICES, EventStatus, QuestionStatus
from eventhub.extensions import db
from eventhub.models import Event, Question, QuestionKey, Vote, VoteTally, is_public_id, utcnow
from eventhub.services import board as shared_board
from eventhub.services import votes
from eventhub.services.prepared import Prepared, driver_statements
from eventhub.services.rate_limit import limiter
from eventhub.services.storage_order import schedule_storage_reorder

QUESTIONS_PER_HOUR = 10
VOTES_PER_HOUR = 300
RATE_WINDOW_SECONDS = 3600  # both limits count per hour of the clock


class QuestionsClosed(Exception):
    """The question window is over (409)."""


class RateLimited(Exception):
    """This link asked or voted too often this hour (429); other links are not affected."""


class NotFound(Exception):
    """No such link, or a question of another event (404)."""


class Board:
    """What one personal link may do, resolved once per request."""

    def __init__(self, token: str, now: datetime | None = None, reading: bool = False):
        """`reading`: the request shows the board, so the shared snapshot tells whether it is open; an action
        asks the event's facts instead and never waits for a snapshot to be built. The link and the facts come
        from what this process keeps of them (`services/links.py`)."""
        store = shared_board.boards()
        usable = store.links_usable
        link = store.links.link(token, usable) if isinstance(token, str) and 0 < len(token) <= 100 else None
        facts = store.links.facts(link.event_id, usable) if link is not None else None
        if facts is None:
            raise NotFound("no such link")
        self.token = token
        self.attendee_id = link.attendee_id
        self.now = now or utcnow()
        self.event_id = link.event_id
        self.moderation = facts.moderation
        self._snapshot = shared_board.snapshot_of(self.event_id) if reading else None
        if reading and self._snapshot is None:
            raise NotFound("no such link")
        self.open = (reading and self._snapshot.open_at(self.now)) or facts.open_at(self.now)
        if not self.open and facts.key is not None:  # the first request after the close destroys the key
            close_window(self.event)
        self._key = (facts.key or event_key(self.event_id)) if self.open else None
        self.voter = voter_pseudonym(self._key, token) if self._key is not None else None

    @property
    def ask_key(self) -> str | None:
        """The link's pseudonym for its asking limit (made only when it asks: a read needs none)."""
        return rate_key(self._key, self.token, "ask") if self._key is not None else None

    @property
    def vote_key(self) -> str | None:
        return rate_key(self._key, self.token, "vote") if self._key is not None else None

    @property
    def event(self) -> Event:
        """The event row, loaded only when more than the link's facts are needed."""
        return db.session.get(Event, self.event_id)

    @property
    def snapshot(self) -> shared_board.Snapshot:
        """The board every link of the event shares, as of this request."""
        if self._snapshot is None:
            self._snapshot = shared_board.snapshot_of(self.event_id)
        return self._snapshot

    def ask(self, text: object) -> Question:
        text = clean_question(text)
        self._require_open()
        if not limiter.allow(f"ask:{self.ask_key}", QUESTIONS_PER_HOUR, RATE_WINDOW_SECONDS):
            raise RateLimited(f"at most {QUESTIONS_PER_HOUR} questions an hour per link")
        question = Question(event_id=self.event_id, text=text,
                            status=QuestionStatus.PENDING if self.moderation else QuestionStatus.VISIBLE,
                            created_hour=rounded_to_hour(self.now))
        db.session.add(question)
        schedule_storage_reorder(self.now)
        db.session.commit()
        return question

    def vote(self, question_id: str) -> int:
        """Count this link's vote once, whatever it sends twice: the insert adds nothing for a pair already
        there, or for a question not on this board."""
        return self._change_vote(question_id, adding=True)

    def unvote(self, question_id: str) -> int:
        return self._change_vote(question_id, adding=False)

    def _change_vote(self, question_id: str, adding: bool) -> int:
        """The vote is counted against the link's hourly limit and stored (or taken back) in one step on the
        database (`services/votes.py`); the board's change is then announced, shared with the other changes of
        the board in the next moments (`board.announce_soon`)."""
        if not is_public_id(question_id):
            raise NotFound("no such question")
        self._require_open()
        schedule_storage_reorder(self.now)
        if db.session.registry.has() and db.session.new:
            db.session.commit()  # the hour's rewrite is armed before the vote is stored
        where = {"question_id": question_id, "event_id": self.event_id, "voter": self.voter}
        if adding:
            outcome = votes.add_vote(**where, limit_key=self.vote_key, hour=rounded_to_hour(self.now),
                                     limit=VOTES_PER_HOUR)
            if not outcome.on_board:
                raise NotFound("no such question")
            if not outcome.within_limit:
                raise RateLimited("too many votes from this link this hour")
            count = outcome.count
        else:
            count = votes.take_back_vote(**where)
            if count is None:
                raise NotFound("no such question")
        shared_board.announce_soon({self.event_id})
        return count

    def my_votes(self) -> frozenset[str]:
        """The questions on the board this link voted for. Read from the database once per version of the board
        (any vote or vote taken back raises it) and kept by this process until the board moves on."""
        if self.voter is None or not self.snapshot.question_ids:
            return frozenset()
        store = shared_board.boards()
        version = self.snapshot.version
        usable = version >= 0 and store.links_usable  # (-1: read straight from the database, Redis away)
        if usable and (kept := store.links.voted(self.event_id, version, self.voter)) is not None:
            return kept
        generation = store.links.generation
        # A pseudonym is made with its own event's key, so its votes are that event's: one seek of the
        # (voter, question) index, whatever the size of the board or of the table.
        with driver_statements() as run:
            voted = run.rows(_VOTES_OF_VOTER, voter=self.voter)
        mine = frozenset(question_id for (question_id,) in voted) & self.snapshot.question_ids
        if usable:
            store.links.keep_voted(self.event_id, version, self.voter, mine, generation)
        return mine

    def _require_open(self) -> None:
        if not self.open or self.voter is None:
            raise QuestionsClosed("the questions for this town hall are closed")


# The statement every board read runs, built once (building one costs about as much as running it).
_VOTES_OF_VOTER = Prepared(select(Vote.question_id).where(Vote.voter == bindparam("voter")))


def window_open(event: Event, now: datetime) -> bool:
    """Open from the invite until `questions_close`; once over, the voter key is destroyed."""
    if not questions_open(event.status == EventStatus.CANCELLED, event.questions_close, now):
        if db.session.get(QuestionKey, event.id) is not None:  # a read, not a write, on each later request
            close_window(event)
        return False
    return True


def event_key(event_id: str) -> bytes:
    """The event's pseudonym key, made on first use."""
    row = db.session.get(QuestionKey, event_id)
    if row is None:
        row = QuestionKey(event_id=event_id, key=os.urandom(32))
        db.session.add(row)
        try:
            db.session.commit()
        except IntegrityError:  # made meanwhile by a concurrent request
            db.session.rollback()
            row = db.session.get(QuestionKey, event_id)
    return row.key


def close_window(event: Event) -> bool:
    """Destroy the voter key and the voters' pseudonyms: each question keeps its count in `votes_at_close`
    and its vote rows are deleted, with the links' vote counters, in one transaction with the key. True if a key
    was destroyed.
    (The close job then purges the deleted rows from the database's files: `purge_destroyed_keys`.)"""
    # The event's questions locked before anything else (`_lock_questions`): a vote in flight holds its question and
    # then wants its link's counter, so deleting the counters first would have each wait for the other.
    questions = _lock_questions(select(Question).where(Question.event_id == event.id))
    destroyed = db.session.execute(delete(QuestionKey).where(QuestionKey.event_id == event.id)).rowcount
    shared_board.links_changed(event.id)  # every process forgets the key it kept
    votes.forget_counters(db.session, event.id)
    if destroyed:
        counts = Counter()
        if questions:  # counted as deleted, so the kept count is exactly the rows that went
            counts.update(db.session.scalars(delete(Vote).where(
                Vote.question_id.in_([q.id for q in questions])).returning(Vote.question_id)))
        for question in questions:
            question.votes_at_close = counts.get(question.id, 0)
    else:  # the close job again: a vote that raced the close (its key read just before) is not kept either
        db.session.execute(delete(Vote).where(Vote.question_id.in_(select(Question.id).where(
            Question.event_id == event.id, Question.votes_at_close.is_not(None)))))
    if questions:  # the tallies too: each question keeps its count in `votes_at_close`
        db.session.execute(delete(VoteTally).where(VoteTally.question_id.in_([q.id for q in questions])))
    db.session.commit()
    return bool(destroyed)


def _lock_questions(query) -> list[Question]:
    """The questions of `query`, locked (on PostgreSQL) until the transaction ends, in id order, before any of their
    vote rows is touched, and read again as they are now (a merge or close committed while this one waited is
    seen): a vote or a take-back locks its question first too (`services/votes.py`), so none of them waits for
    another while holding what the other needs. SQLite locks no rows: its one writer's lock on the file is taken
    instead, by a write that changes nothing, so the reads below see every commit and none comes between."""
    if db.engine.dialect.name == "sqlite":
        db.session.execute(text("UPDATE questions SET status = status WHERE 0"))
    return db.session.scalars(query.order_by(Question.id).with_for_update()
                              .execution_options(populate_existing=True)).all()


class PurgeNotDone(Exception):
    """The database could not purge now (readers, or a lock); the close job is retried."""


def purge_destroyed_keys() -> None:
    """Push deleted keys and vote rows through to the files: SQLite checkpoints its write-ahead log into
    pages that `secure_delete` zeroed and empties it; PostgreSQL rewrites the key table into a new file,
    and the vote and question tables in key order (which also drops the deleted votes' dead tuples)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if db.engine.dialect.name == "sqlite":
            busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
            if busy:
                raise PurgeNotDone("SQLite readers kept the write-ahead log from being emptied")
        elif db.engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET lock_timeout = '5s'")
            try:
                connection.exec_driver_sql("VACUUM FULL question_keys")
                connection.exec_driver_sql("CLUSTER votes USING votes_pkey")
                connection.exec_driver_sql("CLUSTER questions USING questions_pkey")
                # Their old row versions name each vote's transaction, as the votes' did, beside a question or a
                # link's limit pseudonym: rewritten without them.
                connection.exec_driver_sql("CLUSTER vote_tallies USING vote_tallies_pkey")
                connection.exec_driver_sql("CLUSTER vote_counters USING vote_counters_pkey")
            except Exception as error:  # a lock wait that timed out: try again later
                raise PurgeNotDone(f"PostgreSQL could not rewrite question_keys now: {error}") from error


def vote_count(question_id: str) -> int:
    """Votes on a question: counted from its vote rows while the window is open, kept once it closed."""
    question = db.session.get(Question, question_id)
    if question is not None and question.votes_at_close is not None:
        return question.votes_at_close
    return votes.question_votes(question_id)


def vote_counts(questions: list[Question]) -> dict[str, int]:
    """Votes per question id, for questions of one or more events, open or closed."""
    counts = {q.id: q.votes_at_close for q in questions if q.votes_at_close is not None}
    still_counted = [q.id for q in questions if q.votes_at_close is None]
    if still_counted:  # their tallies, as `votes.question_votes`
        counts.update(db.session.execute(select(VoteTally.question_id, func.sum(VoteTally.votes)).where(
            VoteTally.question_id.in_(still_counted)).group_by(VoteTally.question_id)).all())
    return counts


# --- moderation (organizer) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModerationRow:
    """One question as the organizer moderates it: its total votes and the live questions it looks like."""

    id: str
    text: str
    votes: int
    status: str
    answer: str | None
    merged_into: str | None
    similar: tuple[str, ...]


def moderation_list(event: Event) -> list[ModerationRow]:
    """Every question of the event, any status, most votes first (merged ones last), with suggested duplicates.

    Per question only the total, as every attendee's board shows it: no breakdown by group or by time.
    The organizer writes the attendee list and may hold links, so any breakdown (a group padded with
    their own addresses, or "everyone else") could isolate one person's votes."""
    questions = db.session.scalars(select(Question).where(Question.event_id == event.id)).all()
    counts = vote_counts(questions)
    live = [(q.id, q.text) for q in questions if q.merged_into is None and q.status != QuestionStatus.HIDDEN]
    similar: dict[str, list[str]] = {}
    for first, second, _ in similar_pairs(live):
        similar.setdefault(first, []).append(second)
        similar.setdefault(second, []).append(first)
    rows = [ModerationRow(q.id, q.text, counts.get(q.id, 0), q.status, q.answer, q.merged_into,
                          tuple(similar.get(q.id, ()))) for q in questions]
    return sorted(rows, key=lambda row: (row.merged_into is not None, -row.votes, row.id))


def question_of(organizer_id: str, question_id: str) -> Question | None:
    question = db.session.get(Question, question_id) if is_public_id(question_id) else None
    if question is None:
        return None
    event = db.session.get(Event, question.event_id)
    return question if event.organizer_id == organizer_id else None


def moderate(question: Question, status: str | None = None, answer: str | None = None) -> Question:
    """Approve, hide or answer a question: `status` if given; `answer` if given ("" takes the answer back). An
    answer with no status marks the question answered."""
    if status is None and answer is None:
        raise InvalidField("status", "give a status or an answer")
    if status is not None:
        if status not in MODERATOR_CHOICES:
            raise InvalidField("status", f"must be one of {', '.join(MODERATOR_CHOICES)}")
        question.status = status
    if answer is not None:
        question.answer = clean_answer(answer)
        if question.answer and status is None:
            question.status = QuestionStatus.ANSWERED
    db.session.commit()
    return question


def merge(question: Question, into_id: str) -> Question:
    """Fold a duplicate into another question: its votes join the other's, nobody counted twice. Only
    while the window is open: after the close the pseudonyms that keep anyone from counting twice are gone."""
    target = db.session.get(Question, into_id) if is_public_id(into_id) else None
    if target is None or target.event_id != question.event_id:
        raise InvalidField("into", "no such question in this town hall")
    if not window_open(db.session.get(Event, question.event_id), utcnow()):
        raise QuestionsClosed("questions can be merged only while the questions are open")
    # The two questions and those merged into this one, locked and read as they now are (`_lock_questions`).
    locked = _lock_questions(select(Question).where(
        or_(Question.id.in_([question.id, target.id]), Question.merged_into == question.id)))
    if question.votes_at_close is not None or target.votes_at_close is not None:  # closed while this waited
        raise QuestionsClosed("questions can be merged only while the questions are open")
    if target.id == question.id or target.merged_into is not None or question.merged_into is not None:
        raise InvalidField("into", "cannot merge a question into itself, into a merged question, or once merged")
    already = set(db.session.scalars(select(Vote.voter).where(Vote.question_id == target.id)))
    for vote in db.session.scalars(select(Vote).where(Vote.question_id == question.id)).all():
        if vote.voter in already:
            db.session.delete(vote)
        else:
            vote.question_id = target.id
            already.add(vote.voter)
    # Questions merged into this one now point at the target, so no chain is left behind.
    for child in locked:
        if child.merged_into == question.id:
            child.merged_into = target.id
    question.merged_into = target.id
    question.status = QuestionStatus.HIDDEN
    if target.status == QuestionStatus.PENDING:
        target.status = QuestionStatus.VISIBLE
    db.session.commit()
    return target
