"""Schema changes go through the migrations, and they match the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from eventhub.extensions import db


def test_the_migrated_schema_matches_the_models(app):
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []


def test_a_links_own_votes_are_found_by_one_index_seek(app):
    """Every board read looks its link's votes up by voter pseudonym: the uniqueness that keeps one vote per
    link and question starts with the voter, so the look-up never scans the table or probes every question."""
    from sqlalchemy import inspect

    from eventhub.services.questions import _VOTES_OF_VOTER

    unique = [c["column_names"] for c in inspect(db.engine).get_unique_constraints("votes")]
    assert unique == [["voter", "question_id"]]
    if db.engine.dialect.name == "sqlite":
        sql, _ = _VOTES_OF_VOTER.driver_form(db.engine.dialect, {"voter": "v"})
        with db.engine.connect() as connection:
            plan = " ".join(row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, ("v",)))
        assert "SEARCH votes USING COVERING INDEX" in plan and "(voter=?)" in plan
