"""Redeem tokens: the holder burns them and the bank pays out under the payout reference.

    ape run redeem --amount 20.00 --payout-ref PAY-2026-0001 (--account ALIAS | --as INDEX|ADDRESS)
"""

import click

from deptoken.cli.ape_scripts import OperatorCommand, choose_signer, open_token, report, signer_options


@click.command(cls=OperatorCommand, short_help="Redeem the signer's tokens")
@click.option("--amount", required=True, help="Currency units, e.g. 20.00.")
@click.option("--payout-ref", required=True, help="The bank's payout reference (usable once).")
@signer_options
def cli(amount: str, payout_ref: str) -> None:
    """Redeem AMOUNT of the signer's tokens for payout under the payout reference."""
    client = open_token()
    sender = choose_signer(client, role=None)
    receipt = client.redeem(amount, payout_ref, sender=sender)
    report(f"{sender.address} redeemed {client.format(client.units(amount))} (payout {payout_ref})", receipt)
