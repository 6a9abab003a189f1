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
from eventhub.extensions import db, jobs
from eventhub.models import utcnow
from eventhub.queue import JobPolicy

log = logging.getLogger(__name__)

REORDER_POLICY = JobPolicy(timeout=600, retry_intervals=(60, 300, 900), result_ttl=3600)
# A little after the hour, so every row written in the hour before is in place.
REORDER_DELAY = timedelta(minutes=1)


class ReorderNotDone(Exception):
    """The database could not be rewritten now (a lock, readers); the job is retried."""


def schedule_storage_reorder(now: datetime) -> None:
    """Make sure a rewrite runs at the start of the next hour, once per hour whatever the number of rows."""
    when = max(rounded_to_hour(now) + timedelta(hours=1) + REORDER_DELAY, utcnow())
    job_id = f"reorder-question-storage-{when:%Y%m%d%H}"
    scheduled = current_app.extensions.setdefault("eventhub_storage_reorders", set())
    if job_id in scheduled:
        return
    from eventhub.jobs.questions import reorder_question_storage

    try:
        jobs.enqueue_at(when, reorder_question_storage, policy=REORDER_POLICY, job_id=job_id,
                        description="rewrite questions and votes in key order")
    except Exception as error:  # the queue is away: the question is kept, and the next ask or vote tries again
        log.warning("could not schedule the hourly rewrite of the question tables: %s", error)
        return
    scheduled.add(job_id)


def reorder_question_storage() -> None:
    """Rewrite the question and vote tables so their physical order is their random ids' order."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        try:
            if db.engine.dialect.name == "postgresql":
                connection.exec_driver_sql("SET lock_timeout = '5s'")
                connection.exec_driver_sql("CLUSTER questions USING questions_pkey")
                connection.exec_driver_sql("CLUSTER votes USING votes_pkey")
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
