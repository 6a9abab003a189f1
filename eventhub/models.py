"""Database tables. Instants are stored as UTC and always come back as aware UTC datetimes."""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventhub.domain.statuses import DeliveryStatus, EventStatus, SummaryStatus
from eventhub.extensions import db


def new_id() -> str:
    """A random, non-sequential public id."""
    return secrets.token_hex(16)


_PUBLIC_ID = re.compile(r"[0-9a-f]{32}")


def is_public_id(value: object) -> bool:
    """Whether `value` has the shape of our ids: anything else (too long, a NUL byte) is not looked up."""
    return isinstance(value, str) and _PUBLIC_ID.fullmatch(value) is not None


def utcnow() -> datetime:
    return datetime.now(UTC)


def hash_token(token: str) -> str:
    """Tokens are long random strings, so one SHA-256 is enough to keep them out of the database."""
    return hashlib.sha256(token.encode()).hexdigest()


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as naive UTC (SQLite keeps no zone) and returns them aware in UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Organizer(UserMixin, db.Model):
    __tablename__ = "organizers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Part of what a signed-in session names; raised at sign-out, so every copy of an old cookie stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def get_id(self) -> str:
        """What a session cookie stores: the id and the current session version."""
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<Organizer {self.id}>"


class Event(db.Model):
    """A town hall: one meeting or a series (one calendar object, one UID)."""

    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    organizer_id: Mapped[str] = mapped_column(ForeignKey("organizers.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    every: Mapped[str | None] = mapped_column(String(16), nullable=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.SCHEDULED)
    questions_close: Mapped[datetime] = mapped_column(UTCDateTime())
    moderation: Mapped[bool] = mapped_column(Boolean, default=False)
    meet_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    google_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    occurrences: Mapped[list[Occurrence]] = relationship(
        order_by="Occurrence.start", cascade="all, delete-orphan"
    )
    groups: Mapped[list[EventGroup]] = relationship(cascade="all, delete-orphan")
    organizer: Mapped[Organizer] = relationship()

    @property
    def start(self) -> datetime:
        return self.occurrences[0].start

    @property
    def end(self) -> datetime:
        return self.occurrences[-1].start + timedelta(minutes=self.duration_minutes)


class Occurrence(db.Model):
    """One planned meeting time of an event, in UTC."""

    __tablename__ = "occurrences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime())


class EventGroup(db.Model):
    """A group of attendees and its zone, so each attendee reads times in their own zone."""

    __tablename__ = "event_groups"
    __table_args__ = (UniqueConstraint("event_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))


class Attendee(db.Model):
    """Someone invited. The personal question link is derived from the id and the secret key; only its
    hash is stored, and nothing in the question or vote tables refers back to this table."""

    __tablename__ = "attendees"
    __table_args__ = (UniqueConstraint("event_id", "email"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200), default="")
    group: Mapped[str] = mapped_column(String(100), default="")
    timezone: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Added to the event's SEQUENCE in this attendee's copies: raised when they are invited again after a
    # cancellation, so their new invitation outranks it in their calendar.
    sequence_offset: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Delivery(db.Model):
    """One message to one attendee: recorded the moment it is sent, so a retried job never sends it twice."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("attendee_id", "kind", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    attendee_id: Mapped[str] = mapped_column(ForeignKey("attendees.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # request | cancel | summary | reminder
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.SENT)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AttendeeResponse(db.Model):
    """An attendee's answer to their invitation (iTIP REPLY or COUNTER, or read back from Google Calendar),
    for the whole event (`occurrence` "") or one occurrence of a series (its original start, UTC ISO).

    RSVPs are not anonymous. No time is kept: what the organizer sees cannot be lined up with when questions
    were asked or votes cast. `sequence` is the invitation version answered; an answer to an older version
    than the attendee's standing invitation no longer counts (they are waiting for an answer again)."""

    __tablename__ = "attendee_responses"
    __table_args__ = (UniqueConstraint("attendee_id", "occurrence"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    attendee_id: Mapped[str] = mapped_column(ForeignKey("attendees.id", ondelete="CASCADE"), index=True)
    occurrence: Mapped[str] = mapped_column(String(32), default="")
    response: Mapped[str] = mapped_column(String(16))  # accepted | declined | tentative | needs-action
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    proposed_start: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    proposed_end: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="email")  # email | google


class HandledMail(db.Model):
    """A message read from the organizer's mailbox, by Message-ID, so no answer is ever applied twice."""

    __tablename__ = "handled_mail"

    message_key: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the Message-ID
    outcome: Mapped[str] = mapped_column(String(16))  # applied | refused | outdated | ignored


# --- Anonymous questions -----------------------------------------------------------------------------------
# Nothing below refers to an attendee: no attendee id, email, name, token, token hash, IP or user agent,
# and no foreign key to `attendees`. One vote per link is kept by `voter`, a keyed pseudonym of the link
# (HMAC with the event's key in `question_keys`); the key is deleted when the question window closes,
# after which no vote can be tied to a link again: then the counts are written to the questions and the
# vote rows deleted. Times are rounded down to the hour. On SQLite both tables are WITHOUT ROWID, so rows
# are stored in the order of their random ids, not in the order they arrived.


class QuestionKey(db.Model):
    """The per-event key of the voter pseudonyms, kept apart from the attendee table; destroyed at close."""

    __tablename__ = "question_keys"

    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[bytes] = mapped_column(LargeBinary(32))


class Question(db.Model):
    __tablename__ = "questions"
    __table_args__ = {"sqlite_with_rowid": False}

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # a QuestionStatus
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    merged_into: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The unanswered question of an earlier town hall this one was carried over from.
    carried_from: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_hour: Mapped[datetime] = mapped_column(UTCDateTime())
    # The number of votes when the window closed and the vote rows (with their pseudonyms) were deleted.
    votes_at_close: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Vote(db.Model):
    __tablename__ = "votes"
    # Voter first: a link's own votes (every board read) are one index seek; still one vote per link and question.
    __table_args__ = (UniqueConstraint("voter", "question_id"), {"sqlite_with_rowid": False})

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    voter: Mapped[str] = mapped_column(String(64))
    created_hour: Mapped[datetime] = mapped_column(UTCDateTime())


class VoteTally(db.Model):
    """A share of one question's votes while its window is open: the question's votes are the sum of its rows.
    Kept by the database's own triggers on `votes` (migration 0c6b9e4d2a71), never written here. PostgreSQL
    spreads a question's tally over 16 rows, each vote adding to one picked at random, so votes on one
    popular question seldom wait for each other's commit; SQLite, one writer at a time, keeps one row."""

    __tablename__ = "vote_tallies"
    __table_args__ = {"sqlite_with_rowid": False}

    question_id: Mapped[str] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    votes: Mapped[int] = mapped_column(Integer)


class VoteCounter(db.Model):
    """How many votes one link cast in one hour of the clock, against its hourly limit: counted with the vote
    itself, so the limit needs no second store. The link is named by its own pseudonym for the limit (made with
    the event's key, like the voter's, but unrelated to it); the rows of past hours are deleted once an hour
    and the event's rows with its key when the questions close."""

    __tablename__ = "vote_counters"
    __table_args__ = {"sqlite_with_rowid": False}

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    # No foreign key: its check would lock the event's row on each link's first vote of the hour, one row that
    # every voter of a town hall shares (PostgreSQL). The rows go with the key at the close, or with their hour.
    event_id: Mapped[str] = mapped_column(String(32), index=True)
    uses: Mapped[int] = mapped_column(Integer)


class Summary(db.Model):
    """The follow-up of a town hall: the organizer's notes and action items, sent once to every attendee."""

    __tablename__ = "summaries"

    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    action_items: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=SummaryStatus.DRAFT)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# --- The outbox ----------------------------------------------------------------------------------------------


class TaskKind(enum.StrEnum):
    """Work the service owes: mailings and timed jobs. Each is a row before it is ever a queued job."""

    INVITES = "invites"  # invitations, updates, cancellations: brings every calendar up to date
    SUMMARY = "summary"
    REMINDER = "reminder"  # questions close in a day
    CLOSE_QUESTIONS = "close_questions"  # destroys the voter key and purges it from the files
    SUMMARY_DRAFT = "summary_draft"
    REORDER_STORAGE = "reorder_storage"  # hourly: questions and votes rewritten in key order


class TaskStatus(enum.StrEnum):
    PENDING = "pending"  # still to be done (waiting for its time, queued, running, or waiting to retry)
    DONE = "done"
    FAILED = "failed"  # its retries are spent; "send again" arms a new task
    SUPERSEDED = "superseded"  # a newer task of the same kind for the same event does the work


class OutboxTask(db.Model):
    """Work still to be done, written in the transaction of the change that causes it. The queue only
    carries it out: a sweep re-dispatches every pending task that is due and not running, so a Redis that
    came back empty or a worker that died loses nothing. Its id is the public job id."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "due_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(24))
    event_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    owner: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the organizer who may read its status
    # A shard of a mailing: the task it was cut from (whose job id the organizer follows), else None.
    parent_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.PENDING)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # of the run under way
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int | None] = mapped_column(Integer, nullable=True)  # messages refused for good, for mailings
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
