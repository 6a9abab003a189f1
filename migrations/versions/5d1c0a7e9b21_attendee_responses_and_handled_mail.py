"""attendees' answers (RSVPs, proposed times) and the mail they were read from

Revision ID: 5d1c0a7e9b21
Revises: 5b1f0c2a9e47
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d1c0a7e9b21'
down_revision = '5b1f0c2a9e47'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'attendee_responses',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('event_id', sa.String(length=32), nullable=False),
        sa.Column('attendee_id', sa.String(length=32), nullable=False),
        sa.Column('occurrence', sa.String(length=32), nullable=False),
        sa.Column('response', sa.String(length=16), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('proposed_start', sa.DateTime(), nullable=True),
        sa.Column('proposed_end', sa.DateTime(), nullable=True),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(['attendee_id'], ['attendees.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('attendee_id', 'occurrence'),
    )
    with op.batch_alter_table('attendee_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendee_responses_attendee_id'), ['attendee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attendee_responses_event_id'), ['event_id'], unique=False)
    op.create_table(
        'handled_mail',
        sa.Column('message_key', sa.String(length=64), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint('message_key'),
    )

def downgrade():
    op.drop_table('handled_mail')
    with op.batch_alter_table('attendee_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendee_responses_event_id'))
        batch_op.drop_index(batch_op.f('ix_attendee_responses_attendee_id'))
    op.drop_table('attendee_responses')
