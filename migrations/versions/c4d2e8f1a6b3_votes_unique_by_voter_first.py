"""votes unique by (voter, question_id): a link's own votes found by one index seek

Revision ID: c4d2e8f1a6b3
Revises: b7e3f1a2c9d4
Create Date: 2026-12-01

Every board read looks up the link's own votes by its voter pseudonym. With the uniqueness on
(question_id, voter) no index starts with the voter: PostgreSQL scanned every vote of every town hall and
SQLite probed once per question of the board. The same uniqueness on (voter, question_id) serves both the
look-up and a vote's "only once per link". On SQLite the table is rebuilt (a table's UNIQUE cannot be
changed in place), WITHOUT ROWID and copied in key order as before.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4d2e8f1a6b3'
down_revision = 'b7e3f1a2c9d4'
branch_labels = None
depends_on = None

VOTE_COLUMNS = "id, question_id, voter, created_hour"


def upgrade():
    _make_votes_unique_by(['voter', 'question_id'], replacing=['question_id', 'voter'])


def downgrade():
    _make_votes_unique_by(['question_id', 'voter'], replacing=['voter', 'question_id'])


def _make_votes_unique_by(columns: list[str], replacing: list[str]) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_votes(", ".join(columns))
    else:  # PostgreSQL's own names for an unnamed UNIQUE: votes_<columns>_key
        op.drop_constraint(f"votes_{'_'.join(replacing)}_key", 'votes', type_='unique')
        op.create_unique_constraint(f"votes_{'_'.join(columns)}_key", 'votes', columns)


def _rebuild_votes(unique: str) -> None:
    op.execute(f"""CREATE TABLE votes_rebuilt (
        id VARCHAR(32) NOT NULL,
        question_id VARCHAR(32) NOT NULL,
        voter VARCHAR(64) NOT NULL,
        created_hour DATETIME NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(question_id) REFERENCES questions (id) ON DELETE CASCADE,
        UNIQUE ({unique})
    ) WITHOUT ROWID""")
    op.execute(f"INSERT INTO votes_rebuilt ({VOTE_COLUMNS}) SELECT {VOTE_COLUMNS} FROM votes ORDER BY id")
    op.execute("DROP TABLE votes")
    op.execute("ALTER TABLE votes_rebuilt RENAME TO votes")
    op.create_index('ix_votes_question_id', 'votes', ['question_id'], unique=False)
