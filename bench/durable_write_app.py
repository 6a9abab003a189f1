"""The smallest durable write: bare Flask committing one inserted row per request, and nothing else.

The floor any vote is measured against: a vote is at least one committed write, and on a small machine the
database server shares the cores with the web workers. Each worker process keeps one connection of its own
(each statement commits by itself); SQLite gets the app's own settings (write-ahead log, synchronous=NORMAL,
5 s busy timeout). `DURABLE_WRITE_DATABASE` is a PostgreSQL URL (psycopg form) or a SQLite file's path;
its table `durable_write_probe` is made by the benchmark (`baselines.durable_write_rps`).
"""

import os
import secrets
import sqlite3

import psycopg
from flask import Flask

app = Flask(__name__)
DATABASE = os.environ.get("DURABLE_WRITE_DATABASE", "")
_connection = None


def connection():
    global _connection
    if _connection is None:
        if DATABASE.startswith("postgresql://"):
            _connection = psycopg.connect(DATABASE, autocommit=True)
        else:
            _connection = sqlite3.connect(DATABASE, isolation_level=None)  # each statement commits by itself
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000"):
                _connection.execute(f"PRAGMA {pragma}")
    return _connection


@app.post("/")
def write():
    marker = "%s" if DATABASE.startswith("postgresql://") else "?"
    connection().execute(f"INSERT INTO durable_write_probe (id, voter) VALUES ({marker}, {marker})",
                         (secrets.token_hex(16), secrets.token_hex(32)))
    return {"votes": 1}
