"""interbank payments: what the bank's tooling sends for its clients through an interbank network

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Adds the table ``interbank_payments`` (``deptoken.ops.interbank_payments``): each payment the bank's
tooling submits (its terms, the payer's signed payment file, the outbox transaction that paid it) and
the queue of signed payments over the bank's headroom (status ``queued``, submitted in ``id`` order by
``deptoken interbank queue run``). Nothing existing changes.
"""

from alembic import op
import sqlalchemy as sa

import deptoken.ops.models


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

STATUSES = ('queued', 'sending', 'paid', 'expired', 'dropped', 'failed')


def upgrade() -> None:
    op.create_table(
        'interbank_payments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('payment_id', sa.String(length=66), nullable=False),
        sa.Column('network', sa.String(length=42), nullable=False),
        sa.Column('from_token', sa.String(length=42), nullable=False),
        sa.Column('to_token', sa.String(length=42), nullable=False),
        sa.Column('payer', sa.String(length=42), nullable=False),
        sa.Column('payee', sa.String(length=42), nullable=False),
        sa.Column('amount', deptoken.ops.models.MinorUnits(length=80), nullable=False),
        sa.Column('valid_before', sa.BigInteger(), nullable=True),
        sa.Column('signed', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('tx_id', sa.Integer(), nullable=True),
        sa.Column('tx_hash', sa.String(length=66), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', deptoken.ops.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', deptoken.ops.models.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name=op.f('ck_interbank_payments_status')),
        sa.ForeignKeyConstraint(['tx_id'], ['transactions.id'], name=op.f('fk_interbank_payments_tx_id_transactions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_interbank_payments')),
    )
    with op.batch_alter_table('interbank_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interbank_payments_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interbank_payments_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('interbank_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interbank_payments_status'))
        batch_op.drop_index(batch_op.f('ix_interbank_payments_payment_id'))
    op.drop_table('interbank_payments')
