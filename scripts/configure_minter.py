"""Add a minter with an allowance (or set its allowance), or remove it.

    ape run configure_minter --minter 0xAbC... --allowance 1000000 [--account ALIAS | --as minter_admin]
    ape run configure_minter --minter 0xAbC... --remove
"""

import click

from deptoken.cli.ape_scripts import OperatorCommand, choose_signer, open_token, report, signer_options


@click.command(cls=OperatorCommand, short_help="Configure or remove a minter")
@click.option("--minter", required=True, metavar="ADDRESS", help="The minter's address.")
@click.option("--allowance", help="How much it may still mint, in currency units (overwrites).")
@click.option("--remove", is_flag=True, help="Revoke the minter role and zero the allowance.")
@signer_options
def cli(minter: str, allowance: str | None, remove: bool) -> None:
    """Set MINTER's allowance (granting the role), or remove it with --remove."""
    if remove == (allowance is not None):
        raise click.UsageError("give either --allowance or --remove")
    client = open_token()
    sender = choose_signer(client, role="minter_admin")
    if remove:
        report(f"removed minter {minter}", client.remove_minter(minter, sender=sender))
    else:
        receipt = client.configure_minter(minter, allowance, sender=sender)
        report(f"minter {minter} may mint {client.format(client.units(allowance, allow_zero=True))}", receipt)
