"""operator controls: who a person is, per-action permissions and limits, maker-checker on
onboarding and payouts, the node-free reading of amounts, camt.053 statement sequence

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Adds columns (all nullable: an existing ledger keeps its rows as they are) and one table:

* operators.person_id (unique: one person, one operator identity), .permissions (JSON list of the
  actions they may take; NULL: every action), .max_amount (minor units; NULL: no limit);
* allowlist_jobs.maker_id (the operator who imported it), .approved_by_id (the second operator);
* payout_files.exported_by (the operator who exported it: another one confirms the payment);
* sync_state.decimals, .symbol, .currency (the token's, so that reads need no node);
* statements: one row per camt.053 statement written (its id is the message sequence).
"""

from alembic import op
import sqlalchemy as sa
import deptoken.ops.models


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('operators', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('permissions', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('max_amount', deptoken.ops.models.MinorUnits(length=80), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_operators_person_id'), ['person_id'])
    with op.batch_alter_table('allowlist_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('maker_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approved_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_allowlist_jobs_maker_id_operators'), 'operators', ['maker_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_allowlist_jobs_approved_by_id_operators'), 'operators', ['approved_by_id'], ['id'])
    with op.batch_alter_table('payout_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exported_by', sa.String(length=64), nullable=True))
    with op.batch_alter_table('sync_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decimals', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('symbol', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('currency', sa.String(length=3), nullable=True))
    op.create_table('statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('message_id', sa.String(length=35), nullable=False),
    sa.Column('block_number', sa.Integer(), nullable=False),
    sa.Column('reconciled', sa.Boolean(), nullable=False),
    sa.Column('created_at', deptoken.ops.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statements')),
    sa.UniqueConstraint('message_id', name=op.f('uq_statements_message_id'))
    )


def downgrade() -> None:
    op.drop_table('statements')
    with op.batch_alter_table('sync_state', schema=None) as batch_op:
        batch_op.drop_column('currency')
        batch_op.drop_column('symbol')
        batch_op.drop_column('decimals')
    with op.batch_alter_table('payout_files', schema=None) as batch_op:
        batch_op.drop_column('exported_by')
    with op.batch_alter_table('allowlist_jobs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_allowlist_jobs_approved_by_id_operators'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_allowlist_jobs_maker_id_operators'), type_='foreignkey')
        batch_op.drop_column('approved_by_id')
        batch_op.drop_column('maker_id')
    with op.batch_alter_table('operators', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_operators_person_id'), type_='unique')
        batch_op.drop_column('max_amount')
        batch_op.drop_column('permissions')
        batch_op.drop_column('person_id')
