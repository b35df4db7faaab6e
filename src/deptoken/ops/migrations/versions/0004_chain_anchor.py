"""the ledger's chain for good: the hash of the token's deployment block

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

Adds sync_state.anchor_hash (nullable: a ledger bound before this revision records it on its first
chain-facing command, audited as ``ledger.anchor``). From then on the ledger refuses any node whose
block at the token's deployment differs: another chain with the same chain id and token address (a
second local devnet) is another chain. Not block 0: Anvil rebuilds its genesis block when it loads a
state saved with transactions pending, while every later block keeps its hash.
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sync_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anchor_hash', sa.String(length=66), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sync_state', schema=None) as batch_op:
        batch_op.drop_column('anchor_hash')
