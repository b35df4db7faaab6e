"""console users and sessions: who logs in to the operations console

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

Adds ``console_users`` (username, argon2id password hash, console role, the ledger operator they sign
as, failed logins and lockout) and ``console_sessions`` (the SHA-256 of each session's cookie token,
its CSRF token, when it was last used and when it ended). Nothing existing changes.
"""

from alembic import op
import sqlalchemy as sa

import deptoken.ops.models


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('password_hash', sa.Text(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('operator_id', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('failed_logins', sa.Integer(), nullable=False),
        sa.Column('locked_until', deptoken.ops.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column('created_at', deptoken.ops.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_console_users_operator_id_operators')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_users')),
        sa.UniqueConstraint('username', name=op.f('uq_console_users_username')),
    )
    op.create_table(
        'console_sessions',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', deptoken.ops.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', deptoken.ops.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column('ended_at', deptoken.ops.models.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['console_users.id'], name=op.f('fk_console_sessions_user_id_console_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions')),
    )
    op.create_index(op.f('ix_console_sessions_user_id'), 'console_sessions', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_console_sessions_user_id'), table_name='console_sessions')
    op.drop_table('console_sessions')
    op.drop_table('console_users')
