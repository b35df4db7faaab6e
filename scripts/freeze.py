"""Freeze or unfreeze an account as a whole (compliance), or set its frozen amount (legal lien).

    ape run freeze 0xAbC...                   # whole account          [--as compliance]
    ape run freeze 0xAbC... --unfreeze
    ape run freeze 0xAbC... --lien 500.00     # frozen amount; 0 lifts  [--as legal]
"""

import click

from deptoken.cli.ape_scripts import OperatorCommand, choose_signer, open_token, report, signer_options


@click.command(cls=OperatorCommand, short_help="Freeze/unfreeze an account or set a lien")
@click.argument("address")
@click.option("--unfreeze", is_flag=True, help="Lift the whole-account freeze.")
@click.option("--lien", metavar="AMOUNT", help="Set the frozen amount (currency units; 0 releases it).")
@signer_options
def cli(address: str, unfreeze: bool, lien: str | None) -> None:
    """Freeze ADDRESS (or --unfreeze it), or set its frozen amount with --lien."""
    if unfreeze and lien is not None:
        raise click.UsageError("give either --unfreeze or --lien")
    client = open_token()
    if lien is not None:
        sender = choose_signer(client, role="legal")
        receipt = client.set_frozen_amount(address, lien, sender=sender)
        report(f"frozen amount of {address} set to {client.format(client.units(lien, allow_zero=True))}", receipt)
        return
    sender = choose_signer(client, role="compliance")
    if unfreeze:
        report(f"unfroze {address}", client.unfreeze(address, sender=sender))
    else:
        report(f"froze {address}", client.freeze(address, sender=sender))
