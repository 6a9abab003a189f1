"""The hot paths' driver statements (`services/prepared.py`) lend a pooled connection with each statement
committing by itself, and hand it back as it came: on either database, the next transaction still rolls back."""

from sqlalchemy import func, literal_column, select

from eventhub.extensions import db
from eventhub.models import Organizer
from eventhub.services.prepared import Prepared, driver_statements

_ONE = Prepared(select(literal_column("1")))


def test_a_write_on_the_driver_leaves_the_next_transaction_able_to_roll_back(app):
    for writes in (True, False):
        with driver_statements(writes=writes) as run:
            assert run.rows(_ONE) == [(1,)]
        db.session.add(Organizer(email="kept-or-not@example.com", password_hash="x", token_hash="y"))
        db.session.flush()
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Organizer)) == 0
