"""Statements on the hottest paths (a board read, a vote), written with SQLAlchemy and run on the driver's cursor.

Around a small query SQLAlchemy's `Connection` costs about as much as the query: the connection object, the
execution context, the result and its metadata (measured: a count 133 us through `Connection.execute`, 47 us
through `exec_driver_sql`, 12 us on the driver's cursor; a whole board read went from 245 to 202 us of CPU on
SQLite and from 320 to 254 us on PostgreSQL). A `Prepared` statement is compiled once per dialect; each run
converts its parameters with their types' own bind processors and hands the SQL to a pooled connection's
driver cursor (`driver_statements`), where each statement commits by itself. Results come back as the driver
gives them, so use it only for statements that return plain strings and numbers.

What SQLAlchemy's `Connection` would do on a failure is kept: the driver's error is raised as SQLAlchemy's own
(an `OperationalError` for a database that went away, which the service answers with 503), with the
parameters hidden as the engine hides them; a connection the server dropped is thrown away, and the rest of
the pool, opened before the drop, is replaced as it is next checked out. A connection whose switch
could not be set back is thrown away, never lent again with each statement committing by itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from eventhub.extensions import db
from eventhub.services.write_turns import WriteTurns, write_turns

_NO_TURN = contextlib.nullcontext()


class Prepared:
    def __init__(self, statement):
        self.statement = statement
        self._compiled: dict[str, tuple] = {}  # dialect name -> (SQL, parameter names in order or None, processors)

    def driver_form(self, dialect, values: dict) -> tuple[str, tuple | dict]:
        """The SQL for `dialect` and `values` as its driver takes them."""
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            form = self.statement.compile(dialect=dialect)
            # Each type as this dialect stores it, as SQLAlchemy's own execution does (a bare generic DateTime
            # would leave the value to sqlite3, whose text form compares differently with the ORM's).
            processors = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                          for name, bind in form.binds.items()}
            order = tuple(form.positiontup) if form.positional else None
            compiled = self._compiled[dialect.name] = (form.string, order, processors)
        sql, order, processors = compiled
        params = {name: processors[name](value) if processors.get(name) else value for name, value in values.items()}
        return sql, tuple(params[name] for name in order) if order is not None else params


class DriverStatements:
    """`Prepared` statements on one pooled connection's driver cursor (see `driver_statements`)."""

    def __init__(self, engine: Engine, connection, turns: WriteTurns | None = None):
        self.engine = engine
        self.dialect = engine.dialect
        self._connection = connection
        self._turns = turns  # SQLite writes: each statement waits for its turn to write the file

    def rows(self, statement: Prepared, **values) -> list[tuple]:
        return self._run(statement, values, lambda cursor: cursor.fetchall())

    def change(self, statement: Prepared, **values) -> int:
        """Run a write; the number of rows it changed."""
        return self._run(statement, values, lambda cursor: cursor.rowcount)

    def _run(self, statement: Prepared, values: dict, answer):
        sql, params = statement.driver_form(self.dialect, values)
        with self._turns if self._turns is not None else _NO_TURN:
            return self._execute(sql, params, answer)

    def _execute(self, sql: str, params, answer):
        cursor = None
        try:
            cursor = self._connection.cursor()
            cursor.execute(sql, params)
            return answer(cursor)
        except self.dialect.loaded_dbapi.Error as error:
            dropped = self.dialect.is_disconnect(error, self._connection.dbapi_connection, cursor)
            if dropped:
                # As SQLAlchemy's Connection does: this connection is thrown away, and the pool's others, opened
                # before the drop, are replaced as they are next checked out.
                self.engine.pool._invalidate(self._connection, error)
            raise DBAPIError.instance(sql, params, error, self.dialect.loaded_dbapi.Error, hide_parameters=True,
                                      connection_invalidated=dropped, dialect=self.dialect) from error
        finally:
            if cursor is not None:
                with contextlib.suppress(self.dialect.loaded_dbapi.Error):
                    cursor.close()


@contextlib.contextmanager
def driver_statements(writes: bool = False, engine: Engine | None = None) -> Iterator[DriverStatements]:
    """As `extensions.statements`, on the driver's cursor of a connection from the app's pool (or `engine`'s);
    `writes` for writes of one statement each (a vote), which on SQLite also commit by themselves, each once it
    is its turn to write the file (`services/write_turns.py`)."""
    engine = engine if engine is not None else db.engine
    connection = engine.raw_connection()
    driver = connection.driver_connection
    sqlite = engine.dialect.name == "sqlite"
    switched = writes or not sqlite
    try:
        if switched:  # the driver's own switch, set and set back on this side: no statement either way
            if sqlite:
                isolation, driver.isolation_level = driver.isolation_level, None
            else:
                driver.autocommit = True
        yield DriverStatements(engine, connection, write_turns(engine.url.database) if writes and sqlite else None)
    finally:
        if switched and connection.is_valid:
            try:
                if sqlite:
                    driver.isolation_level = isolation
                else:
                    driver.autocommit = False
            except engine.dialect.loaded_dbapi.Error as error:  # never lent again committing by itself
                connection.invalidate(error)
        connection.close()
