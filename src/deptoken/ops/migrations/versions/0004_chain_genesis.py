"""the ledger's chain for good: block 0's hash

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

Adds sync_state.genesis_hash (nullable: a ledger bound before this revision records it on its first
chain-facing command, audited as ``ledger.genesis``). From then on the ledger refuses any node whose
block 0 differs: another chain with the same chain id (a second local devnet) is another chain.
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sync_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('genesis_hash', sa.String(length=66), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sync_state', schema=None) as batch_op:
        batch_op.drop_column('genesis_hash')
