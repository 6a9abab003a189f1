"""A pooled connection the server dropped is found before use once it has been idle, and at worst costs the
one request that met it: the pool is then renewed (`extensions.ping_idle_connections`, on a real PostgreSQL)."""

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from eventhub.extensions import IDLE_PING_SECONDS, ping_idle_connections
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
