"""Throughput of the issuer tooling: onboard N KYC records, execute K approved mints on 12 s blocks,
and index the events of M transfers.

    ape run ops_benchmark --network ethereum:local:foundry [--clients 10000] [--mints 500] [--block-time 12]
                          [--transfers 10000] [--json]

Prints transactions sent, blocks, wall times and events indexed per second (see deptoken.ops.throughput).
"""

import json
import logging

import click
from ape.logging import logger

from deptoken.chain import require_chain_id
from deptoken.cli.ape_scripts import OperatorCommand
from deptoken.ops.throughput import format_report, run
from deptoken.signers import DEVNET_CHAIN_ID


@click.command(cls=OperatorCommand, short_help="Onboarding, minting and indexing throughput")
@click.option("--clients", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option("--mints", type=click.IntRange(min=0), default=500, show_default=True, help="Approved mints executed (at most --clients).")
@click.option("--block-time", type=click.IntRange(min=1), default=12, show_default=True, help="Seconds between blocks while the mints run.")
@click.option("--transfers", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=200, show_default=True, help="Allowlist entries per transaction.")
@click.option("--json", "as_json", is_flag=True)
def cli(clients, mints, block_time, transfers, batch_size, as_json):
    """Measure onboarding, minting and indexing throughput on the devnet."""
    logger.set_level(logging.WARNING)
    require_chain_id(DEVNET_CHAIN_ID)
    result = run(clients, transfers, mints=mints, block_time=block_time, batch_size=batch_size)
    click.echo(json.dumps(result.to_json(), indent=2) if as_json else format_report(result))
