"""Statements on the hottest paths (a board read, a vote), written with SQLAlchemy and run as the driver's SQL.

For each execution of a Core statement SQLAlchemy looks its compiled form up and processes every parameter
and result row: on this kind of small query that costs about as much as the query itself (measured: 133 us a
count through `Connection.execute`, 47 us through `exec_driver_sql`). A `Prepared` statement is compiled once
per dialect; each run only converts its parameters with their types' own bind processors and hands the SQL to
`exec_driver_sql`, on the same connection and transaction as everything else. Results come back as the
driver gives them, so use it only for statements that return plain strings and numbers.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection


class Prepared:
    def __init__(self, statement):
        self.statement = statement
        self._compiled: dict[str, tuple] = {}  # dialect name -> (SQL, parameter names in order or None, processors)

    def run(self, connection: Connection, **values):
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            form = self.statement.compile(dialect=dialect)
            processors = {name: bind.type.bind_processor(dialect) for name, bind in form.binds.items()}
            order = tuple(form.positiontup) if form.positional else None
            compiled = self._compiled[dialect.name] = (form.string, order, processors)
        sql, order, processors = compiled
        params = {name: processors[name](value) if processors.get(name) else value for name, value in values.items()}
        return connection.exec_driver_sql(sql, tuple(params[name] for name in order) if order is not None else params)
