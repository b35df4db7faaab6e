"""Show the token: identity, supply, pause state, role holders and minter allowances, accounts, events.

    ape run status [ADDRESS ...] [--events N]

Without addresses, every account the token's events name is shown.
"""

import click

from deptoken.allowlist_file import format_expiry
from deptoken.cli import OperatorCommand, open_token


@click.command(cls=OperatorCommand, short_help="Show the token's state")
@click.argument("addresses", nargs=-1)
@click.option("--events", "last_events", default=0, show_default=True, type=click.IntRange(min=0), help="Also show the last N events.")
def cli(addresses: tuple[str, ...], last_events: int) -> None:
    """Print the token's state, the accounts ADDRESSES (default: all seen) and its last events."""
    client = open_token()
    s = client.summary()
    fmt = client.format_decimal
    click.echo(f"{s.name} ({s.symbol}), a {s.currency} deposit token, {s.decimals} decimals, version {s.version}")
    click.echo(f"token     {s.address} on {s.network} (chain id {s.chain_id})")
    click.echo(f"issuer    {s.issuer[0]}  LEI {s.issuer[1] or '-'}  BIC {s.issuer[2] or '-'}")
    click.echo(f"supply    {fmt(s.total_supply)}")
    click.echo(f"paused    {'YES' if s.paused else 'no'}")
    click.echo("roles")
    for role, holders in s.role_holders.items():
        for holder in holders or ("-",):
            extra = f"  may mint {fmt(s.minter_allowances[holder])}" if holder in s.minter_allowances else ""
            click.echo(f"  {role:<13} {holder}{extra}")
    accounts = addresses or client.accounts_seen()
    click.echo("accounts" if accounts else "accounts  none yet")
    for address in accounts:
        a = client.account(address)
        if a.allowlisted:
            flags = [f"allowlist expires {format_expiry(a.allowlist_expiry)}"]
        else:
            flags = [f"allowlist EXPIRED {format_expiry(a.allowlist_expiry)}" if a.allowlist_expiry else "NOT allowlisted"]
        if a.frozen:
            flags.append("FROZEN")
        if a.frozen_amount:
            flags.append(f"lien {fmt(a.frozen_amount)}")
        click.echo(f"  {a.address}  {fmt(a.balance):>24}  {', '.join(flags)}")
    if last_events:
        records = client.events()[-last_events:]
        click.echo(f"last {len(records)} events")
        for record in records:
            click.echo("  " + client.describe(record))
