"""questions and votes stored in random-key order, counts kept at close, no voter group, session versions

Revision ID: b7e3f1a2c9d4
Revises: 5d1c0a7e9b21
Create Date: 2026-12-01

On SQLite, `questions` and `votes` are rebuilt as WITHOUT ROWID tables: their rows live in the B-tree of
the random primary key, so no hidden rowid counts them in the order they arrived. The copy is made in key
order, so even the cells' places in the pages follow the key. On PostgreSQL the tables are rewritten in
primary-key order (CLUSTER); new rows land at the end of the heap until the next hourly rewrite.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e3f1a2c9d4'
down_revision = '5d1c0a7e9b21'
branch_labels = None
depends_on = None

QUESTION_COLUMNS = "id, event_id, text, status, answer, merged_into, created_hour, carried_from"
VOTE_COLUMNS = "id, question_id, voter, created_hour"


def upgrade():
    with op.batch_alter_table('organizers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_without_rowid()
    else:
        op.drop_column('votes', 'voter_group')
        op.add_column('questions', sa.Column('votes_at_close', sa.Integer(), nullable=True))
        op.execute('CLUSTER questions USING questions_pkey')
        op.execute('CLUSTER votes USING votes_pkey')


def _rebuild_without_rowid():
    op.execute("""CREATE TABLE questions_rebuilt (
        id VARCHAR(32) NOT NULL,
        event_id VARCHAR(32) NOT NULL,
        text TEXT NOT NULL,
        status VARCHAR(16) NOT NULL,
        answer TEXT,
        merged_into VARCHAR(32),
        created_hour DATETIME NOT NULL,
        carried_from VARCHAR(32),
        votes_at_close INTEGER,
        PRIMARY KEY (id),
        FOREIGN KEY(event_id) REFERENCES events (id) ON DELETE CASCADE
    ) WITHOUT ROWID""")
    op.execute("""CREATE TABLE votes_rebuilt (
        id VARCHAR(32) NOT NULL,
        question_id VARCHAR(32) NOT NULL,
        voter VARCHAR(64) NOT NULL,
        created_hour DATETIME NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(question_id) REFERENCES questions (id) ON DELETE CASCADE,
        UNIQUE (question_id, voter)
    ) WITHOUT ROWID""")
    op.execute(f"INSERT INTO questions_rebuilt ({QUESTION_COLUMNS}) SELECT {QUESTION_COLUMNS} FROM questions ORDER BY id")
    op.execute(f"INSERT INTO votes_rebuilt ({VOTE_COLUMNS}) SELECT {VOTE_COLUMNS} FROM votes ORDER BY id")
    op.execute("DROP TABLE votes")
    op.execute("DROP TABLE questions")
    op.execute("ALTER TABLE questions_rebuilt RENAME TO questions")
    op.execute("ALTER TABLE votes_rebuilt RENAME TO votes")
    op.create_index('ix_questions_event_id', 'questions', ['event_id'], unique=False)
    op.create_index('ix_votes_question_id', 'votes', ['question_id'], unique=False)


def downgrade():
    # On SQLite the tables stay WITHOUT ROWID (batch mode copies that option); the older code works on either.
    with op.batch_alter_table('votes', schema=None, recreate='always') as batch_op:
        batch_op.add_column(sa.Column('voter_group', sa.String(length=100), nullable=True))
    with op.batch_alter_table('questions', schema=None, recreate='always') as batch_op:
        batch_op.drop_column('votes_at_close')
    with op.batch_alter_table('organizers', schema=None) as batch_op:
        batch_op.drop_column('session_version')
