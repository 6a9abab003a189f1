"""Extensions, created unbound here and bound to an app in `create_app`."""

import time

from flask import current_app
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from redis import Redis
from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase

from eventhub.queue import JobQueue


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
jobs = JobQueue()


class SharedRedis:
    """The Redis that web processes and workers share for what is not a job: fan-out leases, rate-limit
    counters, board snapshots. Its own connection, not the queue's; `connection` is None without `REDIS_URL`
    (one process then keeps these to itself)."""

    def init_app(self, app) -> None:
        url = app.config.get("REDIS_URL")
        # Down, it answers at once or within two seconds: a request never hangs on it.
        app.extensions["eventhub_redis"] = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10) \
            if url else None

    @property
    def connection(self) -> Redis | None:
        return current_app.extensions["eventhub_redis"]


shared = SharedRedis()


def use_sqlite_write_ahead_log(engine: Engine) -> None:
    """On SQLite, every connection writes through a write-ahead log and syncs only at checkpoints.

    A commit then costs no fsync, and readers no longer wait for writers. WAL with synchronous=NORMAL
    keeps every committed transaction through a crash of the process (our failure model); only a power
    loss can undo the last few. Other databases are left alone.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _write_ahead_log(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted rows are overwritten with zeros, so a destroyed voter key leaves no bytes in the file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()


def statements():
    """A pooled connection for reads through SQLAlchemy Core, for a `with` block, on which each statement
    commits by itself: a database server is spared the BEGIN and COMMIT round trips. SQLite's driver begins
    no transaction for a read, so a read there is left as it is (changing the connection's isolation costs a
    statement when it goes back to the pool). The hottest statements use `services.prepared` instead."""
    connection = db.engine.connect()
    if connection.dialect.name != "sqlite":
        connection.execution_options(isolation_level="AUTOCOMMIT")
    return connection


IDLE_PING_SECONDS = 1.0


def ping_idle_connections(engine: Engine) -> None:
    """On a database server, a pooled connection idle for more than `IDLE_PING_SECONDS` is checked with a
    round trip before use, and replaced if the server dropped it (restarted, timed out).

    SQLAlchemy's `pool_pre_ping` pings on every checkout: one more round trip on every request, about half
    the time of a board read. A connection checked in within the last second is not pinged; if the server
    went away in that second, the request's first statement fails, SQLAlchemy discards every connection
    of the pool, and the next request gets a fresh one. A SQLite file never goes away: nothing to do."""
    if engine.dialect.name == "sqlite":
        return

    @event.listens_for(engine, "checkin")
    def _note_idle_from(_dbapi_connection, record):
        if record is not None:
            record.info["eventhub_idle_from"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy):
        idle_from = record.info.get("eventhub_idle_from")
        if idle_from is not None and time.monotonic() - idle_from <= IDLE_PING_SECONDS:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as error:  # the pool throws this connection away and tries another
            raise DisconnectionError(f"a pooled connection was dropped by the server: {type(error).__name__}") \
                from error
