"""``deptoken sync``, ``statement`` and ``supply``: the event index and what is read from it."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from ..errors import DepositTokenError
from .env import Env, pass_env
from .issuer_support import progress, table


@click.command()
@click.option("--confirmations", type=click.IntRange(min=0), default=None, help="Default: the policy's.")
@pass_env
def sync(env: Env, confirmations: int | None) -> None:
    """Indexes the token's events since the last sync (confirmed blocks only; handles reorgs)."""
    from ..ops.indexer import sync as run

    with progress("indexing", None) as advance, env.ledger.new_session() as session:
        result = run(session, env.ops, confirmations=confirmations, progress=lambda events, blocks: advance(blocks, f"{blocks} block(s), {events} event(s)"))
    env.emit(result, lambda: click.echo(
        f"indexed blocks {result.from_block}..{result.to_block} (head {result.head}): {result.events} event(s)"
        + (f"; reorg: blocks from {result.reorg_from} re-indexed" if result.reorg_from is not None else "")
        + (f"; {result.waiting}" if result.waiting else "")))


def _account(env: Env, who: str) -> str:
    from sqlalchemy import select

    from ..validation import parse_address
    from ..ops.models import Client

    if who.lower().startswith("0x"):
        return parse_address(who, "account")
    with env.ledger.session() as session:
        client = session.scalars(select(Client).where(Client.client_id == who)).first()
        if client is None:
            raise DepositTokenError(f"unknown client {who!r}")
        return client.address


@click.command()
@click.argument("who", metavar="ADDRESS|CLIENT_ID")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), required=True)
@pass_env
def statement(env: Env, who: str, first: datetime, last: datetime) -> None:
    """An account's statement for a period (UTC days, inclusive), from the index."""
    from ..ops.indexer import statement as build

    with env.ledger.session() as session:
        result = build(session, env.ops, _account(env, who), first.date(), last.date())
    fmt = env.ops.client.format

    def human() -> None:
        click.echo(f"{result.account} {result.first}..{result.last} (indexed to block {result.synced_to})")
        click.echo(f"opening balance {fmt(result.opening)}")
        table("movements", ("block", "time (UTC)", "kind", "counterparty", "amount", "balance"),
               [(x.block_number, datetime.fromtimestamp(x.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S"), x.kind,
                 x.counterparty, fmt(x.amount), fmt(x.balance)) for x in result.lines])
        click.echo(f"closing balance {fmt(result.closing)}")

    env.emit(result, human)


@click.command()
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), default=None)
@pass_env
def supply(env: Env, first: datetime | None, last: datetime | None) -> None:
    """Daily supply history (issued, retired, closing supply), from the index."""
    from ..ops.indexer import supply_history

    with env.ledger.session() as session:
        days = supply_history(session, first.date() if first else None, last.date() if last else None)

    def fmt(units: int) -> str:  # only when there is something to show (an unbound ledger has nothing)
        return str(env.token.format(units))
    env.emit(days, lambda: table("supply", ("day", "issued", "retired", "supply"),
                                  [(d.day, fmt(d.issued), fmt(d.retired), fmt(d.supply)) for d in days]))
