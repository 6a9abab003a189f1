"""each question's votes tallied as they change, by the database itself

Revision ID: 0c6b9e4d2a71
Revises: e5f7a9c1b3d2
Create Date: 2026-12-07

A vote's answer and every board used to count the question's vote rows, which grows with the votes: at 5,000
votes on one question each vote on it cost 1.3 ms more on PostgreSQL and 0.4 ms more on SQLite. Triggers on
`votes` now keep a tally of each question's votes (a row added, removed, or moved to another question by a
merge), so every way a vote changes keeps it, whichever code runs the statement, and reading it costs the same
at 10 votes as at 10,000.

On PostgreSQL the tally is split over 16 rows per question, each vote adding to one picked at random: votes on
one popular question then seldom wait for each other's commit, as they would on a single row.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0c6b9e4d2a71'
down_revision = 'e5f7a9c1b3d2'
branch_labels = None
depends_on = None

_POSTGRESQL = [
    """CREATE FUNCTION votes_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.question_id = NEW.question_id THEN
            RETURN NULL;
        END IF;
        INSERT INTO vote_tallies (question_id, slot, votes) VALUES (OLD.question_id, floor(random() * 16)::int, -1)
        ON CONFLICT (question_id, slot) DO UPDATE SET votes = vote_tallies.votes - 1;
    END IF;
    INSERT INTO vote_tallies (question_id, slot, votes) VALUES (NEW.question_id, floor(random() * 16)::int, 1)
    ON CONFLICT (question_id, slot) DO UPDATE SET votes = vote_tallies.votes + 1;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER votes_tally AFTER INSERT OR UPDATE OF question_id ON votes
    FOR EACH ROW EXECUTE FUNCTION votes_tally()""",
    # Deletions once per statement, a question at a time: the close deletes every vote of a town hall at once
    # (per row, 50,000 votes took 15 s).
    """CREATE FUNCTION votes_untally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO vote_tallies (question_id, slot, votes)
    SELECT gone.question_id, floor(random() * 16)::int, -count(*)
    FROM gone JOIN questions ON questions.id = gone.question_id  -- (not the votes of a question being deleted)
    GROUP BY gone.question_id
    ON CONFLICT (question_id, slot) DO UPDATE SET votes = vote_tallies.votes + excluded.votes;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER votes_untally AFTER DELETE ON votes REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION votes_untally()""",
]
# SQLite has one writer at a time: one row per question.
_SQLITE = [
    """CREATE TRIGGER votes_tally_added AFTER INSERT ON votes BEGIN
    INSERT INTO vote_tallies (question_id, slot, votes) VALUES (NEW.question_id, 0, 1)
    ON CONFLICT (question_id, slot) DO UPDATE SET votes = votes + 1;
END""",
    """CREATE TRIGGER votes_tally_removed AFTER DELETE ON votes
    WHEN EXISTS (SELECT 1 FROM questions WHERE id = OLD.question_id) BEGIN
    INSERT INTO vote_tallies (question_id, slot, votes) VALUES (OLD.question_id, 0, -1)
    ON CONFLICT (question_id, slot) DO UPDATE SET votes = votes - 1;
END""",
    """CREATE TRIGGER votes_tally_moved AFTER UPDATE OF question_id ON votes
    WHEN OLD.question_id IS NOT NEW.question_id BEGIN
    INSERT INTO vote_tallies (question_id, slot, votes) VALUES (OLD.question_id, 0, -1)
    ON CONFLICT (question_id, slot) DO UPDATE SET votes = votes - 1;
    INSERT INTO vote_tallies (question_id, slot, votes) VALUES (NEW.question_id, 0, 1)
    ON CONFLICT (question_id, slot) DO UPDATE SET votes = votes + 1;
END""",
]


def upgrade():
    op.create_table(
        'vote_tallies',
        sa.Column('question_id', sa.String(length=32), nullable=False),
        sa.Column('slot', sa.SmallInteger(), nullable=False),
        sa.Column('votes', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['question_id'], ['questions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('question_id', 'slot'),
        sqlite_with_rowid=False,
    )
    if op.get_bind().dialect.name == 'postgresql':  # no vote stored between the count and the triggers
        op.execute("LOCK TABLE votes IN SHARE ROW EXCLUSIVE MODE")
    op.execute("INSERT INTO vote_tallies (question_id, slot, votes) "
               "SELECT question_id, 0, count(*) FROM votes GROUP BY question_id")
    for statement in _POSTGRESQL if op.get_bind().dialect.name == 'postgresql' else _SQLITE:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER votes_untally ON votes")
        op.execute("DROP FUNCTION votes_untally()")
        op.execute("DROP TRIGGER votes_tally ON votes")
        op.execute("DROP FUNCTION votes_tally()")
    else:
        for name in ('votes_tally_added', 'votes_tally_removed', 'votes_tally_moved'):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table('vote_tallies')
