"""votes counted against their link's hourly limit in the database, with the vote itself

Revision ID: e5f7a9c1b3d2
Revises: c4d2e8f1a6b3
Create Date: 2026-12-07

A vote used to be counted against its link's limit in Redis, one more round trip after the vote was stored
(and taken back when Redis did not answer). It is now counted in `vote_counters`, in the same step as the vote:
a row per link pseudonym and hour, deleted once its hour is over and with the event's key at the close.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5f7a9c1b3d2'
down_revision = 'c4d2e8f1a6b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'vote_counters',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('hour', sa.DateTime(), nullable=False),
        sa.Column('event_id', sa.String(length=32), nullable=False),
        sa.Column('uses', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', 'hour'),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_vote_counters_event_id', 'vote_counters', ['event_id'], unique=False)


def downgrade():
    op.drop_index('ix_vote_counters_event_id', table_name='vote_counters')
    op.drop_table('vote_counters')
