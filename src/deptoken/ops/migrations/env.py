"""Alembic environment: migrations run on the engine ``deptoken.ops.db`` passes in."""

from alembic import context

from deptoken.ops.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
