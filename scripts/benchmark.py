"""Gas benchmark of DepositToken against a plain OpenZeppelin ERC-20, deployed in the same run.

    ape run benchmark --network ethereum:local:foundry [--json]
    ape run benchmark --network ethereum:local:foundry --json -v WARNING > gas.json   # JSON only on stdout

Deploys both on the devnet (config/devnet.yaml's roles), sends each operation as its own
transaction and prints gasUsed per operation, the ratio to the baseline and the targets. Exits 1 if
a target is missed. See deptoken.token.gas for what each case measures. A second table gives the
cross-border operations (gasless authorizations, escrow fund and release, PvP settle, HTLC lock and
claim), each next to the plain token operation it stands for (deptoken.settlement.settlement_gas),
a third the interbank network: a payment between two banks and a settlement cycle for 3, 10 and
30 banks (deptoken.settlement.interbank_gas), and a fourth the cross-chain messenger: a send and a receive
with 1-of-1 and 2-of-3 attesters (deptoken.crosschain.gas).
"""

import json
import logging

import click
from ape.logging import logger

from deptoken.token.gas import RUNTIME_SIZE_LIMIT, devnet_config, format_size, format_table, measure, runtime_size
from deptoken.chain import require_chain_id
from deptoken.cli.ape_scripts import OperatorCommand
from deptoken.config import load_config
from deptoken.crosschain.gas import format_messenger, measure_messenger
from deptoken.settlement.interbank_gas import format_interbank, measure_interbank
from deptoken.settlement.settlement_gas import format_settlement_table, measure_settlement


@click.command(cls=OperatorCommand, short_help="Gas benchmark against a plain ERC-20")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON instead of a table.")
def cli(as_json):
    """Measure gas per operation on the devnet and check the targets."""
    logger.set_level(logging.WARNING)  # not ape's line per deployment and transaction
    config = load_config(devnet_config())
    require_chain_id(config.chain_id)
    result = measure(config)
    settlement = measure_settlement()
    interbank = measure_interbank()
    crosschain = measure_messenger()
    size = runtime_size()
    if as_json:
        click.echo(json.dumps({**result.to_json(), "runtime_size": size,
                               "settlement": [r.to_json() for r in settlement], "interbank": interbank.to_json(),
                               "crosschain": crosschain.to_json()}, indent=2))
    else:
        click.echo(format_size(size))
        click.echo(format_table(result))
        click.echo("targets: " + ("all met" if result.passed else "MISSED"))
        click.echo("\n" + format_settlement_table(settlement))
        click.echo("\n" + format_interbank(interbank))
        click.echo("\n" + format_messenger(crosschain))
    if not result.passed or size > RUNTIME_SIZE_LIMIT:
        raise SystemExit(1)
