"""studies: studies, study_versions, study_participants, study_tokens, study_games, study_events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

LIVING = "status != 'abandoned'"


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('studies',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('study_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('study_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('study_id', 'version', name='uq_study_versions_version')
    )
    with op.batch_alter_table('study_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_versions_study_id'), ['study_id'], unique=False)

    op.create_table('study_participants',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('study_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('external', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('condition', sa.String(length=64), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('block_order', sa.JSON(), nullable=False),
    sa.Column('seeds', sa.JSON(), nullable=False),
    sa.Column('pages', sa.JSON(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_active_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], ),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('study_id', 'participant_id', name='uq_study_participants_participant')
    )
    with op.batch_alter_table('study_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_participants_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_study_participants_study_id'), ['study_id'], unique=False)
        batch_op.create_index('uq_study_participants_slot', ['study_id', 'condition', 'slot'], unique=True,
                              sqlite_where=sa.text(LIVING), postgresql_where=sa.text(LIVING))

    op.create_table('study_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('study_participant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['study_participant_id'], ['study_participants.id'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('study_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_tokens_study_participant_id'), ['study_participant_id'], unique=False)

    op.create_table('study_games',
    sa.Column('game_id', sa.String(length=32), nullable=False),
    sa.Column('study_participant_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['game_id'], ['games.id'], ),
    sa.ForeignKeyConstraint(['study_participant_id'], ['study_participants.id'], ),
    sa.PrimaryKeyConstraint('game_id'),
    sa.UniqueConstraint('study_participant_id', 'step', name='uq_study_games_step')
    )
    with op.batch_alter_table('study_games', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_games_study_participant_id'), ['study_participant_id'], unique=False)

    op.create_table('study_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('study_id', sa.String(length=64), nullable=False),
    sa.Column('study_participant_id', sa.Integer(), nullable=True),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('step', sa.Integer(), nullable=True),
    sa.Column('game_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], ),
    sa.ForeignKeyConstraint(['study_participant_id'], ['study_participants.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('study_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_events_study_id'), ['study_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_study_events_study_participant_id'), ['study_participant_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('study_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_events_study_participant_id'))
        batch_op.drop_index(batch_op.f('ix_study_events_study_id'))
    op.drop_table('study_events')
    with op.batch_alter_table('study_games', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_games_study_participant_id'))
    op.drop_table('study_games')
    with op.batch_alter_table('study_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_tokens_study_participant_id'))
    op.drop_table('study_tokens')
    with op.batch_alter_table('study_participants', schema=None) as batch_op:
        batch_op.drop_index('uq_study_participants_slot')
        batch_op.drop_index(batch_op.f('ix_study_participants_study_id'))
        batch_op.drop_index(batch_op.f('ix_study_participants_participant_id'))
    op.drop_table('study_participants')
    with op.batch_alter_table('study_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_versions_study_id'))
    op.drop_table('study_versions')
    op.drop_table('studies')
