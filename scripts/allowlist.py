"""Allowlist clients (with a KYC review date) or remove them, one at a time or from a CSV file.

    ape run allowlist 0xAbC... --expiry 2027-12-31          # through that day, UTC
    ape run allowlist --file clients.csv                    # rows: address,kyc_expiry_date
    ape run allowlist --remove 0xAbC...
    ape run allowlist --remove --file leavers.csv           # first column: address
    [--account ALIAS | --as compliance] [--batch-size 100]

A file is checked whole first (every bad row reported with its line number); nothing is sent if
any row is bad.
"""

import click

from deptoken.cli.ape_scripts import OperatorCommand, choose_signer, open_token, report, signer_options
from deptoken.token import BATCH_SIZE


@click.command(cls=OperatorCommand, short_help="Add to or remove from the allowlist")
@click.argument("address", required=False)
@click.option("--expiry", metavar="YYYY-MM-DD|UNIX", help="KYC review date: allowlisted through that day (UTC).")
@click.option("--file", "file", type=click.Path(dir_okay=False), help="CSV file of address,kyc_expiry_date rows.")
@click.option("--remove", is_flag=True, help="Remove instead of adding.")
@click.option("--batch-size", default=BATCH_SIZE, show_default=True, type=click.IntRange(min=1))
@signer_options
def cli(address: str | None, expiry: str | None, file: str | None, remove: bool, batch_size: int) -> None:
    """Allowlist ADDRESS until --expiry (or every row of --file); with --remove, offboard them."""
    if (address is None) == (file is None):
        raise click.UsageError("give either an ADDRESS or --file")
    if remove and expiry is not None:
        raise click.UsageError("--expiry makes no sense with --remove")
    if address and not remove and expiry is None:
        raise click.UsageError("--expiry is required to allowlist an address")
    if file and expiry is not None:
        raise click.UsageError("--expiry comes from the file's second column")
    client = open_token()
    sender = choose_signer(client, role="compliance")
    if file and remove:
        receipts = client.remove_from_allowlist_file(file, sender=sender, batch_size=batch_size)
        report(f"removed the addresses of {file} from the allowlist", receipts)
    elif file:
        receipts = client.allowlist_from_file(file, sender=sender, batch_size=batch_size)
        report(f"allowlisted the rows of {file}", receipts)
    elif remove:
        report(f"removed {address} from the allowlist", client.remove_from_allowlist(address, sender=sender))
    else:
        report(f"allowlisted {address} until {expiry}", client.allowlist(address, expiry, sender=sender))
