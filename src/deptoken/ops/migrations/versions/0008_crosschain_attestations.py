"""crosschain attestations: the signatures of the bank's cross-chain messenger attesters

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

Adds the table ``crosschain_attestations`` (``deptoken.crosschain.relay``): one row per message, kind
(``transfer`` or ``refund``) and signer, with the signature and the message. Nothing existing changes.
"""

from alembic import op
import sqlalchemy as sa

import deptoken.ops.models


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'crosschain_attestations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.String(length=66), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('signer', sa.String(length=42), nullable=False),
        sa.Column('signature', sa.String(length=132), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('source_chain_id', sa.BigInteger(), nullable=False),
        sa.Column('destination_chain_id', sa.BigInteger(), nullable=False),
        sa.Column('amount', deptoken.ops.models.MinorUnits(length=80), nullable=False),
        sa.Column('created_at', deptoken.ops.models.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_crosschain_attestations')),
        sa.UniqueConstraint('message_id', 'kind', 'signer', name=op.f('uq_crosschain_attestations_message_id')),
    )
    with op.batch_alter_table('crosschain_attestations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crosschain_attestations_message_id'), ['message_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('crosschain_attestations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crosschain_attestations_message_id'))
    op.drop_table('crosschain_attestations')
