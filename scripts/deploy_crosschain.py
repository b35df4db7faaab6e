"""The cross-chain devnet: the devnet bank's token on a second local chain, a messenger on each chain,
routes both ways, one attester (deptoken.crosschain.devnet). Runs on the devnet (chain id 31337), after
`ape run deploy` (the token of deployments/<network>-<chain tag>.json) and the clients' allowlisting.

    ape run deploy_crosschain --network ethereum:local:node --to-uri http://127.0.0.1:8546 [--env-file F]

The second node must be a chain with id 31338 (`anvil --chain-id 31338 --accounts 44`); `make devnet`
starts both. --env-file: the shell exports the CLI needs for both chains (appended).
"""

import click

from deptoken.cli.ape_scripts import OperatorCommand, open_token
from deptoken.config import load_config
from deptoken.crosschain.devnet import setup_crosschain_devnet


@click.command(cls=OperatorCommand, short_help="Deploy the cross-chain devnet (second chain, messengers)")
@click.option("--to-uri", required=True, help="The second chain's node (chain id 31338), e.g. http://127.0.0.1:8546")
@click.option("--config", "config_path", default="config/devnet.yaml", show_default=True, type=click.Path(dir_okay=False))
@click.option("--clients", "clients_file", default="config/devnet-clients.csv", show_default=True,
              type=click.Path(dir_okay=False), help="The bank's clients to allowlist on the second chain too.")
@click.option("--env-file", type=click.Path(dir_okay=False), default=None)
def cli(to_uri, config_path, clients_file, env_file):
    """Deploy the second chain's token and both messengers, and connect them."""
    import csv
    from pathlib import Path

    token = open_token()
    with open(clients_file, newline="") as f:
        clients = [row["address"] for row in csv.DictReader(line for line in f if not line.startswith("#"))]
    net = setup_crosschain_devnet(token.contract, load_config(config_path), to_uri, clients)
    click.echo(f"chain 31337: token {net.token_a}, messenger {net.messenger_a} (block {net.block_a})")
    click.echo(f"chain 31338: token {net.token_b}, messenger {net.messenger_b} (block {net.block_b}) at {to_uri}")
    click.echo(f"attester (threshold 1) {net.attester}; routes both ways")
    if env_file:
        with Path(env_file).open("a") as out:
            out.writelines(f"export {k}={v}\n" for k, v in net.env().items())
