"""crosschain cursors: how far the attester service has followed each source messenger

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

Adds the table ``crosschain_cursors`` (``deptoken.crosschain.service``): per source chain and messenger,
the last block whose messages were looked at and its hash. Nothing existing changes.
"""

from alembic import op
import sqlalchemy as sa

import deptoken.ops.models


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'crosschain_cursors',
        sa.Column('source_chain_id', sa.BigInteger(), nullable=False),
        sa.Column('messenger', sa.String(length=42), nullable=False),
        sa.Column('block_number', sa.BigInteger(), nullable=False),
        sa.Column('block_hash', sa.String(length=66), nullable=False),
        sa.Column('updated_at', deptoken.ops.models.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('source_chain_id', 'messenger', name=op.f('pk_crosschain_cursors')),
    )


def downgrade() -> None:
    op.drop_table('crosschain_cursors')
