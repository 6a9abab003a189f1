"""A pooled connection the server dropped is found before use once it has been idle, and at worst costs the
one request that met it: the pool is then renewed (`extensions.ping_idle_connections`, on a real PostgreSQL),
through SQLAlchemy and through the hot paths' driver statements (`services/prepared.py`) alike."""

import time

import pytest
from sqlalchemy import String, bindparam, create_engine, func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from eventhub.extensions import IDLE_PING_SECONDS, ping_idle_connections
from eventhub.services.prepared import Prepared, driver_statements
from tests.processes import PrivatePostgres


@pytest.fixture(scope="module")
def postgres():
    cluster = PrivatePostgres()
    cluster.start()
    yield cluster
    cluster.remove()


@pytest.fixture
def engine(postgres):
    engine = create_engine(postgres.url, pool_size=1, max_overflow=0)
    ping_idle_connections(engine)
    yield engine
    engine.dispose()


def _backend(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar()


def _drop(postgres, pid: int) -> None:
    killer = create_engine(postgres.url)
    with killer.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    killer.dispose()
    time.sleep(0.2)


def test_a_dropped_connection_idle_past_the_limit_is_replaced_before_use(postgres, engine):
    before = _backend(engine)
    _drop(postgres, before)
    time.sleep(IDLE_PING_SECONDS + 0.2)
    after = _backend(engine)  # no error: the ping found it dead and the pool opened another
    assert after != before


def test_a_connection_dropped_within_the_second_fails_one_use_and_the_pool_is_renewed(postgres, engine):
    before = _backend(engine)
    _drop(postgres, before)
    with pytest.raises(DBAPIError) as failed:
        _backend(engine)  # used again at once: not pinged (no round trip), so its statement meets the drop
    assert failed.value.connection_invalidated
    assert _backend(engine) != before


_BACKEND_AND_MARKER = Prepared(select(func.pg_backend_pid(), bindparam("marker", type_=String)))


def _driver_backend(engine, marker: str = "m") -> int:
    with driver_statements(engine=engine) as run:
        [(pid, _)] = run.rows(_BACKEND_AND_MARKER, marker=marker)
    return pid


def test_the_hot_paths_driver_statements_meet_a_drop_as_sqlalchemy_would(postgres, engine):
    """Statements run on the driver's cursor (a board read, a vote) fail on a dropped connection with
    SQLAlchemy's OperationalError, marked invalidated (the service answers 503), their parameters hidden;
    the next use gets a fresh connection."""
    before = _driver_backend(engine)
    _drop(postgres, before)
    with pytest.raises(OperationalError) as failed:
        _driver_backend(engine, marker="voter-pseudonym-123")
    assert failed.value.connection_invalidated
    assert "voter-pseudonym-123" not in str(failed.value)
    assert _driver_backend(engine) != before


def test_a_connection_lent_to_driver_statements_goes_back_to_the_pool_as_it_came(engine):
    """Each statement there commits by itself; the connection is handed back with that switched off, so the
    next transaction on it still rolls back."""
    with driver_statements(writes=True, engine=engine) as run:
        run.rows(_BACKEND_AND_MARKER, marker="m")
    with engine.connect() as connection:
        connection.execute(text("CREATE TABLE kept_or_not (n int)"))
        connection.rollback()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT to_regclass('kept_or_not')")).scalar() is None


def test_a_drop_met_on_the_driver_path_renews_the_rest_of_the_pool(postgres):
    """A server restart drops every pooled connection: after the one request that meets it, the others are
    replaced before use rather than failing one request each."""
    engine = create_engine(postgres.url, pool_size=2, max_overflow=0)
    ping_idle_connections(engine)
    try:
        first, second = engine.raw_connection(), engine.raw_connection()
        pids = []
        for connection in (first, second):
            with connection.driver_connection.cursor() as cursor:
                pids.append(cursor.execute("SELECT pg_backend_pid()").fetchone()[0])
            connection.driver_connection.rollback()
        first.close()
        second.close()
        for pid in pids:
            _drop(postgres, pid)
        with pytest.raises(OperationalError):
            _driver_backend(engine)
        assert {_driver_backend(engine), _driver_backend(engine)}.isdisjoint(pids)
    finally:
        engine.dispose()
