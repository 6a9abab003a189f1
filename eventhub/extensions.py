"""Extensions, created unbound here and bound to an app in `create_app`."""

from flask import current_app
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from redis import Redis
from sqlalchemy import Engine, event
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
