"""Alembic environment: migrations run on the engine ``deptoken.ops.db`` passes in.

On SQLite a batch migration rebuilds a table (copy, drop, rename); with foreign keys enforced the
drop of a referenced table fails, so they are off while migrating (the pragma only takes effect
outside a transaction) and checked, then turned on again, afterwards."""

from alembic import context
from sqlalchemy import text

from deptoken.ops.models import Base

engine = context.config.attributes["engine"]
sqlite = engine.dialect.name == "sqlite"
with engine.connect() as connection:
    if sqlite:
        connection.execute(text("PRAGMA foreign_keys=OFF"))
        connection.commit()
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with connection.begin(), context.begin_transaction():
        context.run_migrations()
        if sqlite and (broken := connection.execute(text("PRAGMA foreign_key_check")).first()) is not None:
            raise RuntimeError(f"migration broke a foreign key: {tuple(broken)}")
    if sqlite:
        connection.execute(text("PRAGMA foreign_keys=ON"))
        connection.commit()
