"""A vote stored and counted against its link's hourly limit in one step on the database.

The limit's count lives beside the votes (`vote_counters`: a row per link pseudonym and hour), so a vote is
decided by the database alone: counted, refused past the limit, or stored, with no second store to ask and
nothing to take back when that store does not answer. On PostgreSQL the whole vote is one statement (its
steps are data-modifying CTEs), one round trip; on SQLite, where every statement stays in the process, two
short statements that each commit by themselves (the count of the question's votes rides on the second). The
count is the question's tally, kept by the database's triggers on `votes`: reading it costs the same at 10 votes
as at 10,000.

A use is counted only for a question on the link's board (404 otherwise), and every such use counts, a vote
the link had already cast included, as the limit exists to bound how often one link can move a board.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, exists, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite

from eventhub.domain.statuses import ON_THE_BOARD
from eventhub.models import Question, UTCDateTime, Vote, VoteCounter, VoteTally, new_id
from eventhub.services.prepared import Prepared, driver_statements


@dataclass(frozen=True)
class VoteOutcome:
    on_board: bool  # False: no such question on this link's board (nothing counted or stored)
    within_limit: bool  # False: past the link's limit this hour (counted, not stored)
    count: int  # the question's votes after this one (when stored)


def add_vote(*, question_id: str, event_id: str, voter: str, limit_key: str, hour: datetime,
             limit: int) -> VoteOutcome:
    """Count one use of `limit_key` in `hour` and, within `limit`, store `voter`'s vote (once per voter)."""
    values = {"question_id": question_id, "event_id": event_id, "key": limit_key, "hour": hour}
    with driver_statements(writes=True) as run:
        if run.dialect.name == "postgresql":
            [(uses, count)] = run.rows(_VOTE_IN_ONE_STATEMENT, **values, id=new_id(), voter=voter, limit=limit)
            return VoteOutcome(uses is not None, uses is not None and uses <= limit, count)
        counted = run.rows(_COUNT_USE[run.dialect.name], **values)
        if not counted:
            return VoteOutcome(False, False, 0)
        if counted[0][0] > limit:
            return VoteOutcome(True, False, 0)
        stored = run.rows(_STORE_VOTE_AND_COUNT, id=new_id(), question_id=question_id, voter=voter, hour=hour)
        [(count,)] = stored or run.rows(_COUNT, question_id=question_id)  # (none stored: the link had voted)
    return VoteOutcome(True, True, count)


def take_back_vote(*, question_id: str, event_id: str, voter: str) -> int | None:
    """Remove `voter`'s vote on a question of the board; the question's votes after it, None if not on it."""
    with driver_statements(writes=True) as run:
        run.change(_TAKE_BACK_VOTE, question_id=question_id, event_id=event_id, voter=voter)
        [(count, on_board)] = run.rows(_COUNT_ON_BOARD, question_id=question_id, event_id=event_id)
    return count if on_board else None


def question_votes(question_id: str) -> int:
    """A question's votes while its window is open: the sum of its tally."""
    with driver_statements() as run:
        [(count,)] = run.rows(_COUNT, question_id=question_id)
    return count


def forget_counters(session, event_id: str) -> None:
    """Delete the event's limit counters (its key is being destroyed: they could only ever be matched with it)."""
    session.execute(delete(VoteCounter).where(VoteCounter.event_id == event_id))


def forget_past_hours(session, hour: datetime) -> None:
    """Delete the counters of hours before `hour`: their limits are over."""
    session.execute(delete(VoteCounter).where(VoteCounter.hour < hour))


# The statements, built once (building one costs about as much as running it).
_HOUR = bindparam("hour", type_=UTCDateTime())
_ONE, _ZERO = literal_column("1"), literal_column("0")  # written into the SQL, not parameters
_IS_ON_THE_BOARD = (  # the question voted on is on this event's board, still open (its statuses written into the SQL)
    Question.id == bindparam("question_id"), Question.event_id == bindparam("event_id"),
    Question.merged_into.is_(None), Question.status.in_([literal_column(f"'{status}'") for status in ON_THE_BOARD]),
    Question.votes_at_close.is_(None))
# The question on the board, locked first on PostgreSQL (shared, FOR KEY SHARE: votes and moderation go on), so a
# merge or the close, which lock their questions first (FOR UPDATE), is waited for before any vote row is touched:
# taken in the other order, a take-back holding its vote row and a merge holding the question wait on each other.
# (SQLite, one writer at a time, writes no lock clause.)
_ON_THE_BOARD_LOCKED = select(Question.id).where(*_IS_ON_THE_BOARD).with_for_update(read=True, key_share=True)
# The question's votes: the sum of its tally, kept by the database's triggers on `votes` (`models.VoteTally`), so
# reading it costs the same whatever the number of votes.
_VOTES_ON_QUESTION = select(func.coalesce(func.sum(VoteTally.votes), _ZERO)).where(
    VoteTally.question_id == bindparam("question_id"))
_COUNT = Prepared(_VOTES_ON_QUESTION)
_COUNT_ON_BOARD = Prepared(select(_VOTES_ON_QUESTION.scalar_subquery(), exists().where(*_IS_ON_THE_BOARD)))
_TAKE_BACK_VOTE = Prepared(delete(Vote).where(Vote.question_id.in_(_ON_THE_BOARD_LOCKED),
                                              Vote.voter == bindparam("voter")))


def _count_use(dialect):
    """One more use of the link's counter this hour, for a question on its board only; returns the uses."""
    return (dialect.insert(VoteCounter)
            .from_select(["key", "hour", "event_id", "uses"],
                         select(bindparam("key"), _HOUR, bindparam("event_id"), _ONE)
                         .where(exists(_ON_THE_BOARD_LOCKED)))
            .on_conflict_do_update(index_elements=["key", "hour"], set_={"uses": VoteCounter.uses + _ONE})
            .returning(VoteCounter.uses))


_COUNT_USE = {name: Prepared(_count_use(dialect)) for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))}
# SQLite: the vote, unless the voter has one on the question already, and the question's votes with it. SQLite
# computes a RETURNING clause before the triggers the row fires ("the RETURNING clause does not report any
# additional database changes caused by foreign key constraints or triggers"), so the tally is read without this
# vote and one is added; no row comes back when nothing was stored. (PostgreSQL: the statement below.)
_STORE_VOTE_AND_COUNT = Prepared(
    sqlite.insert(Vote).values(id=bindparam("id"), question_id=bindparam("question_id"), voter=bindparam("voter"),
                               created_hour=_HOUR)
    .on_conflict_do_nothing()
    .returning(_VOTES_ON_QUESTION.scalar_subquery() + _ONE))  # (one row per statement: the subquery runs once)


def _vote_in_one_statement():
    """PostgreSQL: count the use, store the vote if within the limit, and answer (uses, the question's votes).
    Every part reads the database as it was when the statement began (the tally too: the trigger adds this vote
    to it only after), so the count adds the row stored here."""
    counted = _count_use(postgresql).cte("counted")
    stored = (postgresql.insert(Vote)
              .from_select(["id", "question_id", "voter", "created_hour"],
                           select(bindparam("id"), bindparam("question_id"), bindparam("voter"), _HOUR)
                           .where(counted.c.uses <= bindparam("limit")))
              .on_conflict_do_nothing()
              .returning(Vote.id)
              .cte("stored"))
    return select(select(counted.c.uses).scalar_subquery(),
                  _VOTES_ON_QUESTION.scalar_subquery() + select(func.count()).select_from(stored).scalar_subquery())


_VOTE_IN_ONE_STATEMENT = Prepared(_vote_in_one_statement())
