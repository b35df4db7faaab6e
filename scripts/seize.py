"""Seize tokens under a legal order: move them whatever the source's restrictions.

    ape run seize --from 0xAbC... --to 0xTreasury... --amount 500 --order-ref ORDER-2026-7 [--as legal]
"""

import click

from deptoken.cli.ape_scripts import OperatorCommand, choose_signer, open_token, report, signer_options


@click.command(cls=OperatorCommand, short_help="Seize under a legal order")
@click.option("--from", "from_", required=True, metavar="ADDRESS", help="The account seized from.")
@click.option("--to", "to", required=True, metavar="ADDRESS", help="Where the funds go (must be able to receive).")
@click.option("--amount", required=True, help="Currency units.")
@click.option("--order-ref", required=True, help="The legal order's reference.")
@signer_options
def cli(from_: str, to: str, amount: str, order_ref: str) -> None:
    """Move AMOUNT from --from to --to under the legal order --order-ref."""
    client = open_token()
    sender = choose_signer(client, role="legal")
    receipt = client.seize(from_, to, amount, order_ref, sender=sender)
    report(f"seized {client.format(client.units(amount))} from {from_} to {to} (order {order_ref})", receipt)
