"""Mint tokens to an allowlisted client against a deposit the bank received.

    ape run mint --to 0xAbC... --amount 125.50 --deposit-ref DEP-2026-0001 [--account ALIAS | --as minter]
"""

import click

from deptoken.cli.ape_scripts import OperatorCommand, choose_signer, open_token, report, signer_options


@click.command(cls=OperatorCommand, short_help="Mint against a deposit reference")
@click.option("--to", "to", required=True, metavar="ADDRESS", help="Recipient (allowlisted, not frozen).")
@click.option("--amount", required=True, help="Currency units, e.g. 125.50.")
@click.option("--deposit-ref", required=True, help="The bank's deposit reference (usable once).")
@signer_options
def cli(to: str, amount: str, deposit_ref: str) -> None:
    """Mint AMOUNT to TO against the bank's deposit reference."""
    client = open_token()
    sender = choose_signer(client, role="minter")
    receipt = client.mint(to, amount, deposit_ref, sender=sender)
    report(f"minted {client.format(client.units(amount))} to {to} (deposit {deposit_ref})", receipt)
