"""state checks: the database refuses a status or kind the code does not know

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

Adds a CHECK constraint ``ck_<table>_<column>`` to every column that holds one of a fixed set of
texts (``deptoken.ops.statuses``, the models' ``StrEnum`` columns): requests.kind and .status,
approvals.decision, deposits.status, transactions.status, redemptions.status, clients.status,
allowlist_jobs.action and .status, payout_files.format. The columns keep their type (VARCHAR) and
rows; nothing is rewritten. The sets are written out here, as they were at this revision.

A ledger holding a value outside a set (edited by hand) is refused with the table, column and
values, before anything changes. On SQLite the tables are rebuilt (batch mode); the expression
index on ``lower(deposits.bank_reference)``, which SQLite's reflection cannot carry over, is
dropped and created again around the rebuild of ``deposits``.
"""

from alembic import op
import sqlalchemy as sa

from deptoken.errors import DepositTokenError


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

CHECKS: dict[tuple[str, str], tuple[str, ...]] = {
    ('clients', 'status'): ('pending', 'active', 'offboarding', 'offboarded'),
    ('allowlist_jobs', 'action'): ('onboard', 'renew', 'offboard'),
    ('allowlist_jobs', 'status'): ('pending', 'sent', 'done', 'expired'),
    ('deposits', 'status'): ('recorded', 'suspense', 'superseded', 'returned'),
    ('requests', 'kind'): ('mint', 'freeze', 'unfreeze', 'lien', 'seize', 'recover', 'pause', 'unpause', 'cancel',
                           'return', 'operator'),
    ('requests', 'status'): ('pending', 'approved', 'rejected', 'executing', 'executed', 'failed', 'conflict',
                             'cancelled', 'expired'),
    ('approvals', 'decision'): ('approve', 'reject'),
    ('transactions', 'status'): ('signed', 'broadcast', 'mined', 'reverted', 'void'),
    ('redemptions', 'status'): ('recorded', 'instructed', 'paid', 'orphaned'),
    ('payout_files', 'format'): ('pacs.008', 'csv'),
}


def _condition(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in allowed)})"


def _refuse_unknown_values() -> None:
    connection = op.get_bind()
    for (table, column), allowed in CHECKS.items():
        found = connection.execute(sa.text(f"SELECT DISTINCT {column} FROM {table} WHERE NOT ({_condition(column, allowed)})")).scalars().all()
        if found:
            raise DepositTokenError(f"cannot migrate the ledger database: {table}.{column} holds {', '.join(map(repr, sorted(map(str, found))))}, "
                               f"not one of {', '.join(allowed)}: correct the rows, then migrate")


def upgrade() -> None:
    _refuse_unknown_values()
    op.drop_index('ix_deposits_reference_lower', table_name='deposits')
    for table in dict.fromkeys(table for table, _ in CHECKS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for (name, column), allowed in CHECKS.items():
                if name == table:
                    batch_op.create_check_constraint(op.f(f'ck_{table}_{column}'), _condition(column, allowed))
    op.create_index('ix_deposits_reference_lower', 'deposits', [sa.text('lower(bank_reference)')], unique=False)


def downgrade() -> None:
    op.drop_index('ix_deposits_reference_lower', table_name='deposits')
    for table in dict.fromkeys(table for table, _ in CHECKS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for (name, column), _ in CHECKS.items():
                if name == table:
                    batch_op.drop_constraint(op.f(f'ck_{table}_{column}'), type_='check')
    op.create_index('ix_deposits_reference_lower', 'deposits', [sa.text('lower(bank_reference)')], unique=False)
