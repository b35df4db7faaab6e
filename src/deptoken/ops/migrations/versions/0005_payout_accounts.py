"""payout accounts: where a client's redemptions are paid, and what each payout instructed

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

Adds nullable columns (an existing ledger keeps its rows as they are):

* clients.payout_account (an IBAN or a local account number), .payout_bic (the bank holding it;
  NULL: the client's deposit account at the issuing bank, on-us);
* redemptions.creditor_account, .creditor_bic, .end_to_end_id: what the payout file instructed,
  taken at export, so that `payouts render` writes the same bytes after the client's payout account
  changed. Redemptions exported before this revision keep NULL and render as they were written.
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payout_account', sa.String(length=34), nullable=True))
        batch_op.add_column(sa.Column('payout_bic', sa.String(length=11), nullable=True))
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('creditor_account', sa.String(length=34), nullable=True))
        batch_op.add_column(sa.Column('creditor_bic', sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column('end_to_end_id', sa.String(length=35), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_column('end_to_end_id')
        batch_op.drop_column('creditor_bic')
        batch_op.drop_column('creditor_account')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('payout_bic')
        batch_op.drop_column('payout_account')
