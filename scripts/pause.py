"""Pause or unpause transfers, mints and redemptions (legal orders still work while paused).

    ape run pause [--unpause] [--account ALIAS | --as pauser]
"""

import click

from deptoken.cli.ape_scripts import OperatorCommand, choose_signer, open_token, report, signer_options


@click.command(cls=OperatorCommand, short_help="Pause or unpause the token")
@click.option("--unpause", is_flag=True, help="Resume instead of pausing.")
@signer_options
def cli(unpause: bool) -> None:
    """Pause the token (or --unpause it)."""
    client = open_token()
    sender = choose_signer(client, role="pauser")
    if unpause:
        report("unpaused", client.unpause(sender=sender))
    else:
        report("paused", client.pause(sender=sender))
