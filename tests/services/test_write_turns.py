"""A SQLite write on the hot path waits for its turn (`services/write_turns.py`) while another process holds it,
and goes as soon as that process lets go; reads never wait. Run on a SQLite file of the test's own, so the
PostgreSQL run of the suite checks it too."""

import subprocess
import sys
import threading

import pytest
from sqlalchemy import create_engine, literal_column, select, text
from sqlalchemy.exc import OperationalError

from eventhub.services import write_turns
from eventhub.services.prepared import Prepared, driver_statements

_HOLD = """
import sys
from eventhub.services.write_turns import write_turns
with write_turns(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.readline()
"""
_MARK = Prepared(text("INSERT INTO marks (n) VALUES (1)"))


def _database_and_holder(tmp_path):
    """A SQLite file with a table, and another process holding its write turn until told to let go."""
    path = str(tmp_path / "turns.db")
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE marks (n INTEGER)"))
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout.readline().strip() == "held"
    return engine, holder


def test_a_write_waits_while_another_process_has_the_turn_and_goes_when_it_ends(tmp_path):
    engine, holder = _database_and_holder(tmp_path)
    try:
        with driver_statements(engine=engine) as run:
            assert run.rows(Prepared(select(literal_column("1")))) == [(1,)]  # a read takes no turn

        def write():
            with driver_statements(writes=True, engine=engine) as run:
                run.change(_MARK)

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(0.5)
        assert writer.is_alive()  # waiting for its turn
        holder.stdin.write("done\n")
        holder.stdin.flush()
        writer.join(10)
        assert not writer.is_alive()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM marks")).scalar() == 1
    finally:
        holder.kill()
        holder.wait()
        engine.dispose()


def test_a_turn_not_had_within_the_wait_is_a_locked_database(tmp_path, monkeypatch):
    """As SQLite answers a lock held past its timeout: an OperationalError (503 from the service), nothing written."""
    monkeypatch.setattr(write_turns, "WAIT_SECONDS", 0.3)
    engine, holder = _database_and_holder(tmp_path)
    try:
        with pytest.raises(OperationalError, match="database is locked"), \
                driver_statements(writes=True, engine=engine) as run:
            run.change(_MARK)
        with driver_statements(engine=engine) as run:
            assert run.rows(Prepared(text("SELECT count(*) FROM marks"))) == [(0,)]
    finally:
        holder.kill()
        holder.wait()
        engine.dispose()
