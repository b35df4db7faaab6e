"""Add a minter with an allowance (or set its allowance), optionally with a rate limit, or remove it.

    ape run configure_minter --minter 0xAbC... --allowance 1000000 [--account ALIAS | --as minter_admin]
    ape run configure_minter --minter 0xAbC... --allowance 1000000 --rate-limit 50000 --period 1d
    ape run configure_minter --minter 0xAbC... --remove
"""

import click

from deptoken.cli.ape_scripts import OperatorCommand, choose_signer, open_token, report, signer_options
from deptoken.token.rate_limits import describe, read_rate_limit


@click.command(cls=OperatorCommand, short_help="Configure or remove a minter")
@click.option("--minter", required=True, metavar="ADDRESS", help="The minter's address.")
@click.option("--allowance", help="How much it may still mint, in currency units (overwrites).")
@click.option("--rate-limit", metavar="AMOUNT", help="Also limit it to AMOUNT (currency units) per --period; 0 lifts the limit.")
@click.option("--period", metavar="DURATION", help="The rate limit's period: seconds, or 90m, 48h, 1d (0 with --rate-limit 0).")
@click.option("--remove", is_flag=True, help="Revoke the minter role and zero the allowance.")
@signer_options
def cli(minter: str, allowance: str | None, rate_limit: str | None, period: str | None, remove: bool) -> None:
    """Set MINTER's allowance (granting the role) and optionally its rate limit, or remove it with --remove."""
    if remove == (allowance is not None):
        raise click.UsageError("give either --allowance or --remove")
    if (rate_limit is None) != (period is None) or (remove and rate_limit is not None):
        raise click.UsageError("--rate-limit and --period go together, with --allowance")
    client = open_token()
    sender = choose_signer(client, role="minter_admin")
    if remove:
        report(f"removed minter {minter}", client.remove_minter(minter, sender=sender))
    elif rate_limit is None:
        receipt = client.configure_minter(minter, allowance, sender=sender)
        report(f"minter {minter} may mint {client.format(client.units(allowance, allow_zero=True))}", receipt)
    else:
        receipts = client.configure_minter(minter, allowance, rate_limit=(rate_limit, period), sender=sender)
        limit = describe(read_rate_limit(client.contract, minter), client.format)
        report(f"minter {minter} may mint {client.format(client.units(allowance, allow_zero=True))}, {limit}", receipts)
