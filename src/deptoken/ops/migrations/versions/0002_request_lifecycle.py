"""request lifecycle: cancel/expire, execution leases, deposit versions and suspense

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

* requests: ``approved_at`` (expiry counts from it; set from ``updated_at`` for requests approved
  already), ``lease_owner`` and ``lease_expires`` (the executor running a request, and until when).
* deposits: one row per version (``status``, ``supersedes_id``, ``reason``), so the bank reference is
  no longer unique by itself (an index, and one on ``lower(bank_reference)`` for the case-insensitive
  check); ``client_pk`` may be empty for a credit in suspense, whose client id as received is ``client_ref``.

Existing rows are kept: every existing deposit is ``recorded``. On SQLite the deposits table is
rebuilt (batch mode; ``migrations/env.py`` turns foreign keys off around it and checks them after).
"""

from alembic import op
import sqlalchemy as sa
import deptoken.ops.models


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approved_at', deptoken.ops.models.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('lease_expires', deptoken.ops.models.UtcDateTime(timezone=True), nullable=True))
    op.execute("UPDATE requests SET approved_at = updated_at WHERE status = 'approved'")

    with op.batch_alter_table('deposits', schema=None) as batch_op:
        batch_op.drop_constraint('uq_deposits_bank_reference', type_='unique')
        batch_op.alter_column('client_pk', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('client_ref', sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='recorded', nullable=False))
        batch_op.add_column(sa.Column('supersedes_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.String(length=200), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_deposits_supersedes_id_deposits'), 'deposits', ['supersedes_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_deposits_bank_reference'), ['bank_reference'], unique=False)
    op.create_index('ix_deposits_reference_lower', 'deposits', [sa.text('lower(bank_reference)')], unique=False)


def downgrade() -> None:
    op.drop_index('ix_deposits_reference_lower', table_name='deposits')
    with op.batch_alter_table('deposits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deposits_bank_reference'))
        batch_op.drop_constraint(batch_op.f('fk_deposits_supersedes_id_deposits'), type_='foreignkey')
        batch_op.drop_column('reason')
        batch_op.drop_column('supersedes_id')
        batch_op.drop_column('status')
        batch_op.drop_column('client_ref')
        batch_op.alter_column('client_pk', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint('uq_deposits_bank_reference', ['bank_reference'])
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_column('lease_expires')
        batch_op.drop_column('lease_owner')
        batch_op.drop_column('approved_at')
