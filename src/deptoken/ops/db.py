"""The ledger database: a URL (SQLite file by default, PostgreSQL alike), Alembic migrations, sessions.

The default is ``sqlite:///<project>/var/ledger.sqlite``; ``DEPTOKEN_DB_URL`` or ``--db`` override it.
Every command first checks that the schema is at the newest migration (``deptoken db upgrade``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..deployments import PROJECT_ROOT
from ..errors import DepositTokenError, first_line

DEFAULT_DB_PATH = PROJECT_ROOT / "var" / "ledger.sqlite"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def default_url() -> str:
    return os.environ.get("DEPTOKEN_DB_URL") or f"sqlite:///{DEFAULT_DB_PATH}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # a committed row survives a killed process and a power cut
    cursor.execute("PRAGMA busy_timeout=10000")
    # INSERT OR REPLACE deletes the row it replaces; only with recursive triggers does that deletion
    # fire the audit log's append-only DELETE trigger (otherwise an upsert rewrites an entry).
    cursor.execute("PRAGMA recursive_triggers=ON")
    cursor.close()


def make_engine(url: str | None = None, *, create: bool = True) -> Engine:
    """An engine for ``url`` (default: ``default_url()``); SQLite gets foreign keys, WAL and full sync.
    A SQLite file that does not exist is created (with its directory) only if ``create``: otherwise a
    mistyped path is an error, not a new empty ledger."""
    url = url or default_url()
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DepositTokenError(f"not a database URL: {url!r}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        if not create and not Path(parsed.database).is_file():
            raise DepositTokenError(f"no ledger database at {parsed.database} (mistyped? `deptoken db upgrade` creates a new one)")
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(parsed)
    except Exception as exc:  # noqa: BLE001 - unknown dialect or driver
        raise DepositTokenError(f"cannot use database {parsed.render_as_string(hide_password=True)}: {first_line(exc)}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _alembic_config(engine: Engine):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Applies the migrations up to ``revision`` (creates the schema in an empty database)."""
    from alembic import command

    try:
        command.upgrade(_alembic_config(engine), revision)
    except OperationalError as exc:
        raise DepositTokenError(f"cannot migrate the ledger database: {first_line(exc.orig or exc)}") from None


def head_revision() -> str:
    """The newest migration the code knows, read from the migration files (importing Alembic, as its
    ``ScriptDirectory`` would, costs every command a tenth of a second)."""
    import re

    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text()
        if found := re.search(r"^revision\s*=\s*['\"]([^'\"]+)", source, re.M):
            revisions.add(found.group(1))
        if down := re.search(r"^down_revision\s*=\s*['\"]([^'\"]+)", source, re.M):
            parents.add(down.group(1))
    heads = revisions - parents
    if len(heads) != 1:
        raise DepositTokenError(f"the ledger migrations have {len(heads)} heads, not one: {sorted(heads)}")
    return heads.pop()


def schema_revision(engine: Engine) -> tuple[str | None, str]:
    """(the database's migration revision or None, the newest one the code knows)."""
    from sqlalchemy import inspect, text

    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None, head_revision()
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except OperationalError as exc:
        raise DepositTokenError(f"cannot open the ledger database: {first_line(exc.orig or exc)}") from None
    return (None if current is None else str(current)), head_revision()


def require_current(engine: Engine) -> None:
    """Refuses a database that is not migrated to the newest revision."""
    current, head = schema_revision(engine)
    if current != head:
        where = engine.url.render_as_string(hide_password=True)
        state = "has no ledger schema" if current is None else f"is at migration {current}, the code needs {head}"
        raise DepositTokenError(f"the database {where} {state}: run `deptoken db upgrade`")


class Ledger:
    """The ledger database: an engine and a session factory (``with ledger.session() as s:``)."""

    def __init__(self, url: str | None = None, *, check: bool = True, create: bool = False) -> None:
        self.engine = make_engine(url, create=create)
        if check:
            require_current(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed at the end, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    def new_session(self) -> Session:
        """A session whose transactions the caller commits (for steps that must be durable one by one)."""
        return self._sessions()

    def dispose(self) -> None:
        self.engine.dispose()
