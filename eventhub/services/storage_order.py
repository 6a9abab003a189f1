"""Storage order of questions and votes: the order rows sit in must not tell the order they arrived in.

SQLite keeps both tables WITHOUT ROWID, so rows live in the B-tree of their random ids; PostgreSQL appends
new rows to the end of its heap, so once an hour a job rewrites both tables in primary-key order (CLUSTER).
SQLite's job rebuilds the file (VACUUM), which also lays the cells inside each page out in key order, and
empties the write-ahead log, whose frames are in commit order.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app

from eventhub.domain.questions import rounded_to_hour
from eventhub.extensions import db
from eventhub.models import TaskKind, utcnow
from eventhub.services import outbox, votes

log = logging.getLogger(__name__)

# A little after the hour, so every row written in the hour before is in place.
REORDER_DELAY = timedelta(minutes=1)


class ReorderNotDone(Exception):
    """The database could not be rewritten now (a lock, readers); the job is retried."""


def schedule_storage_reorder(now: datetime) -> None:
    """Arm, in the caller's transaction, the rewrite at the start of the next hour: one task per hour
    whatever the number of rows. Its row is dated to the hour, like the questions: it tells no more.
    Once this process has seen the hour's task stored, later asks and votes skip the look-up."""
    hour = rounded_to_hour(now)
    seen = current_app.extensions.setdefault("eventhub_storage_reorder_hours", set())
    if hour in seen:
        return
    if outbox.pending_task(TaskKind.REORDER_STORAGE, None) is None:
        outbox.arm(TaskKind.REORDER_STORAGE, None, due_at=hour + timedelta(hours=1) + REORDER_DELAY, created_at=hour)
    else:  # stored by a committed transaction: nothing to arm until the next hour
        seen.clear()
        seen.add(hour)


def reorder_question_storage() -> None:
    """Delete the vote counters of past hours, then rewrite the question, vote and counter tables so their
    physical order is their random keys' order."""
    votes.forget_past_hours(db.session, rounded_to_hour(utcnow()))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        try:
            if db.engine.dialect.name == "postgresql":
                connection.exec_driver_sql("SET lock_timeout = '5s'")
                connection.exec_driver_sql("CLUSTER questions USING questions_pkey")
                connection.exec_driver_sql("CLUSTER votes USING votes_pkey")
                connection.exec_driver_sql("CLUSTER vote_counters USING vote_counters_pkey")
            elif db.engine.dialect.name == "sqlite":
                connection.exec_driver_sql("VACUUM")
                busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
                if busy:
                    raise ReorderNotDone("SQLite readers kept the write-ahead log from being emptied")
        except ReorderNotDone:
            raise
        except Exception as error:  # a lock wait that timed out, a busy database: try again later
            raise ReorderNotDone(f"could not rewrite the question tables now: {error}") from error
    log.info("questions and votes rewritten in key order")
