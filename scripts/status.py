"""Show the token: identity, supply, pause state, role holders and minter allowances, a summary of
the accounts, and a page of account detail.

    ape run status [ADDRESS ...] [--page N] [--per-page M] [--events N]

The summary (deptoken.ops.status.token_state, as `deptoken status`, plus the accounts' allowlist
state read in JSON-RPC batches) stays quick with thousands of accounts; the detail of every account
is shown a page at a time (--page), or for the ADDRESSES given.
"""

import time

import click

from deptoken.times import format_expiry
from deptoken.cli.ape_scripts import OperatorCommand, open_token
from deptoken.ops.status import EXPIRY_DAYS, token_state


@click.command(cls=OperatorCommand, short_help="Show the token's state")
@click.argument("addresses", nargs=-1)
@click.option("--page", type=click.IntRange(min=1), default=None, help="Show the detail of this page of the accounts seen.")
@click.option("--per-page", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--events", "last_events", default=0, show_default=True, type=click.IntRange(min=0), help="Also show the last N events.")
def cli(addresses: tuple[str, ...], page: int | None, per_page: int, last_events: int) -> None:
    """Print the token's state, a summary of its accounts and the detail of ADDRESSES (or of --page N)."""
    client = open_token()
    c = client.contract
    state = token_state(client)
    fmt = client.format
    issuer = c.issuer()
    click.echo(f"{c.name()} ({client.symbol}), a {client.currency} deposit token, {client.decimals} decimals, version {c.version()}")
    click.echo(f"token     {client.address} (block {state.head})")
    click.echo(f"issuer    {issuer[0]}  LEI {issuer[1] or '-'}  BIC {issuer[2] or '-'}")
    click.echo(f"supply    {fmt(state.total_supply)}")
    click.echo(f"paused    {'YES' if state.paused else 'no'}")
    click.echo("roles")
    for role, holders in client.role_holders().items():
        for holder in holders or ("-",):
            extra = f"  may mint {fmt(state.minter_allowances[holder])}" if holder in state.minter_allowances else ""
            click.echo(f"  {role:<13} {holder}{extra}")
    seen = client.accounts_seen()
    expiries = client.read_many("allowlistExpiry", list(seen))
    now = int(time.time())
    soon = now + EXPIRY_DAYS * 86400
    listed = sum(e > now for e in expiries.values())
    expiring = sum(now < e <= soon for e in expiries.values())
    click.echo(f"accounts  {len(seen)} seen: {listed} allowlisted ({expiring} expiring within {EXPIRY_DAYS} days), "
               f"{len(seen) - listed} not or no longer"
               + ("" if addresses or page or not seen else f"; detail: --page 1 (of {(len(seen) + per_page - 1) // per_page})"))
    shown = list(addresses) or (list(seen[(page - 1) * per_page : page * per_page]) if page else [])
    if page and not addresses:
        click.echo(f"accounts {(page - 1) * per_page + 1}-{(page - 1) * per_page + len(shown)} of {len(seen)}")
    for address in shown:
        a = client.account(address)
        if a.allowlisted:
            flags = [f"allowlist expires {format_expiry(a.allowlist_expiry)}"]
        else:
            flags = [f"allowlist EXPIRED {format_expiry(a.allowlist_expiry)}" if a.allowlist_expiry else "NOT allowlisted"]
        if a.frozen:
            flags.append("FROZEN")
        if a.frozen_amount:
            flags.append(f"lien {client.format_decimal(a.frozen_amount)}")
        if a.roles:
            flags.append("roles " + ",".join(a.roles))
        click.echo(f"  {a.address}  {client.format_decimal(a.balance):>24}  {', '.join(flags)}")
    if last_events:
        records = client.events()[-last_events:]
        click.echo(f"last {len(records)} events")
        for record in records:
            click.echo("  " + client.describe(record))
