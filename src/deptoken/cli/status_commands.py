"""``deptoken status`` and ``deptoken report``: the state at a glance and the back office's reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from ..errors import DepositTokenError
from .env import Env, pass_env
from .issuer_support import table, write_csv


@click.command("status")
@click.option("--expiring", "expiring_shown", type=click.IntRange(min=0), default=20, show_default=True,
              help="How many allowlist entries expiring within 30 days to list (all are counted).")
@pass_env
def status_command(env: Env, expiring_shown: int) -> None:
    """Status at a glance: approvals waiting (by age and by who may approve), approved requests
    waiting, transactions in flight, the index against the node's head, supply, minter allowances,
    allowlist entries expiring within 30 days, pause state. Without a node, the ledger's part."""
    from ..ops.status import status
    from .env import connect  # looked up when called (the tests stand in for the node)

    client, node_error = None, None
    try:
        connect(env.network)
    except DepositTokenError as exc:
        node_error = str(exc)
    else:
        client = env.ops.client
    with env.ledger.session() as session:
        result = status(session, client, today=env.ops.today() if client is not None else None,
                        expiring_shown=expiring_shown, node_error=node_error)
    env.emit(result, lambda: _show_status(env, result))


def _age(since: Any, now: datetime) -> str:
    seconds = int((now - since).total_seconds())
    return f"{seconds // 86400} d" if seconds >= 86400 else f"{seconds // 3600} h" if seconds >= 3600 else f"{seconds // 60} min"


def _show_status(env: Env, s: Any) -> None:
    from ..ops.status import EXPIRY_DAYS

    fmt = env.token.format if s.token is not None else str

    def queue(q: Any) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(q.by_kind.items()))
        oldest = f"; oldest #{q.oldest_id} ({_age(q.oldest_at, s.at)})" if q.oldest_id is not None else ""
        return f"{q.count} request(s), {fmt(q.total)}" + (f" ({kinds})" if kinds else "") + oldest

    unknown = "?" if s.node_error else "-"
    click.echo(f"status at {s.at.isoformat(timespec='seconds')}" + (f" (token {s.token} on chain {s.chain_id})" if s.token else ""))
    if s.node_error:
        click.echo(f"node        UNREACHABLE: {s.node_error} (the ledger's part only)")
    click.echo(f"pending     {queue(s.pending)}")
    if s.pending.count:
        click.echo("  by age    " + " | ".join(f"{label} {n}" for label, n in s.pending.by_age.items()))
        click.echo("  may approve " + ", ".join(f"{name} {n}" for name, n in sorted(s.pending.by_checker.items())))
    click.echo(f"approved    {queue(s.approved)}" + (f"; {s.approved.held} held for their value date" if s.approved.held else ""))
    click.echo(f"in flight   {s.executing} request(s) executing, {s.unsettled} transaction(s) sent and not settled"
               + (f" (oldest {_age(s.oldest_unsettled, s.at)})" if s.oldest_unsettled else ""))
    head = s.head if s.head is not None else unknown
    lag = f" ({s.index_lag} behind)" if s.index_lag is not None else ""
    click.echo(f"index       block {s.indexed_block if s.indexed_block is not None else 'none yet'} of head {head}{lag}")
    supply = fmt(s.total_supply) if s.total_supply is not None else unknown
    diff = f", difference {fmt(s.supply_difference)}" if s.supply_difference else ""
    click.echo(f"supply      on-chain {supply}; indexed {fmt(s.indexed_supply)}{diff}; minted by executed requests {fmt(s.ledger_minted)}")
    if s.minter_allowances is None:
        click.echo(f"minters     {unknown}")
    from ..token.rate_limits import describe as describe_rate_limit  # the token package: not for --help

    for minter, left in (s.minter_allowances or {}).items():
        limit = (s.minter_rate_limits or {}).get(minter)
        rate = f"; {describe_rate_limit(limit, fmt)}" if limit and limit.limited else ""
        click.echo(f"minter      {minter} may still mint {fmt(left)}{rate}")
    click.echo(f"paused      {unknown if s.paused is None else 'YES' if s.paused else 'no'}")
    click.echo("clients     " + (", ".join(f"{n} {k}" for k, n in sorted(s.clients.items())) or "none"))
    click.echo(f"allowlist   {s.expiring_count} active client(s) whose entry ends within {EXPIRY_DAYS} days"
               + (": " + ", ".join(f"{e.client_id} ({e.review_date})" for e in s.expiring) if s.expiring else "")
               + (" ..." if s.expiring_count > len(s.expiring) else ""))
    click.echo(f"deposits    {s.held_deposits} held until their value date, {s.suspense_deposits} in suspense")
    last = s.last_reconciliation
    click.echo("reconciled  " + ("never" if last is None else f"{'OK' if last.ok else f'MISMATCH ({last.mismatches})'} at block "
                                 f"{last.block_number}, {_age(last.at, s.at)} ago"))
    if s.interbank:
        click.echo("interbank   " + ", ".join(f"{n} {k}" for k, n in sorted(s.interbank.items())) + " payment(s) sent for clients")


@click.group()
def report() -> None:
    """Reports for the back office."""


@report.command("daily")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True, help="The day (UTC).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None, help="Also write the report to this CSV file.")
@pass_env
def report_daily(env: Env, day: datetime, csv_path: str | None) -> None:
    """The day's issuance and payouts: mints, redemptions, payouts exported and paid, burns, supply
    at the day's open and close (from the index: run `deptoken sync` first; ledger-only)."""
    from ..ops.listing import daily_report

    with env.ledger.session() as session:
        result = daily_report(session, day.date())
    rows = result.rows()
    if csv_path:
        write_csv(csv_path, ("day", "item", "count", "amount", "amount_minor_units"),
                   [(result.day, item, count, env.token.to_decimal(total), total) for item, count, total in rows])

    def human() -> None:
        table(f"issuance and payouts {result.day} (UTC; index to block {result.indexed_to})", ("item", "count", "amount"),
               [(item, count if not item.startswith("supply") else "", env.token.format(total)) for item, count, total in rows])
        if csv_path:
            click.echo(f"written to {csv_path}")

    env.emit(result, human)
