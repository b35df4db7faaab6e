"""``deptoken db``: the ledger database's schema."""

from __future__ import annotations

import click

from .env import Env, pass_env


@click.group()
def db() -> None:
    """The ledger database schema."""


@db.command("upgrade")
@pass_env
def db_upgrade(env: Env) -> None:
    """Creates or migrates the ledger schema to the newest revision."""
    from ..ops.db import Ledger, schema_revision, upgrade

    ledger = Ledger(env.db, check=False, create=True)
    upgrade(ledger.engine)
    current, _ = schema_revision(ledger.engine)
    env.emit({"revision": current}, lambda: click.echo(f"ledger schema at revision {current}"))


@db.command("status")
@pass_env
def db_status(env: Env) -> None:
    """Shows the ledger's schema revision."""
    from ..ops.db import Ledger, require_current, schema_revision

    ledger = Ledger(env.db, check=False)
    current, head = schema_revision(ledger.engine)
    env.emit({"revision": current, "head": head}, lambda: click.echo(f"revision {current or 'none'} (newest {head})"))
    require_current(ledger.engine)  # exit 1 with the one-line reason when not at the newest revision
