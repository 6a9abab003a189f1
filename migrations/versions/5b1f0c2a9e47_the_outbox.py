"""the outbox: work still to be done, as rows

Revision ID: 5b1f0c2a9e47
Revises: 74329bc3172b
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b1f0c2a9e47'
down_revision = '74329bc3172b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outbox',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('event_id', sa.String(length=32), nullable=True),
        sa.Column('owner', sa.String(length=32), nullable=True),
        sa.Column('parent_id', sa.String(length=32), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('failed', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_outbox_status_due', 'outbox', ['status', 'due_at'])
    op.create_index('ix_outbox_event_id', 'outbox', ['event_id'])
    op.create_index('ix_outbox_parent_id', 'outbox', ['parent_id'])


def downgrade():
    op.drop_index('ix_outbox_parent_id', table_name='outbox')
    op.drop_index('ix_outbox_event_id', table_name='outbox')
    op.drop_index('ix_outbox_status_due', table_name='outbox')
    op.drop_table('outbox')
