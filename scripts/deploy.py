"""Deploy the DepositToken (implementation + ERC-1967 proxy) from a deploy config and record it.

    ape run deploy [--config config/devnet.yaml] [--force] [--account ALIAS [--yes] | --as INDEX|ROLE]

Writes deployments/<network>-<chain tag>.json (addresses, ABI, deploy block, chain id) and refuses to replace an
existing record unless --force. Configures the config's minters when a signer holding the
minter_admin role is at hand: the deployer itself, or on the devnet the test account the config
names as minter_admin; otherwise it says so and leaves them to `ape run configure_minter`.
"""

import click

from deptoken.chain import connected_chain_id, require_chain_id
from deptoken.cli.ape_scripts import OperatorCommand, ephemeral_node, signer_choice, signer_options
from deptoken.config import load_config
from deptoken.token.deployer import deploy_from_config
from deptoken.deployments import deployment_path
from deptoken.signers import DEVNET_CHAIN_ID, select_signer


@click.command(cls=OperatorCommand, short_help="Deploy the token from a deploy config")
@click.option("--config", "config_path", default="config/devnet.yaml", show_default=True, type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace an existing deployment record of this network.")
@signer_options
def cli(config_path: str, force: bool) -> None:
    """Deploy the token of the config, record it and configure its minters."""
    config = load_config(config_path)
    require_chain_id(config.chain_id)
    chain_id = connected_chain_id()
    choice = signer_choice()
    deployer = choice.select(chain_id, role="admin", config=config)
    minter_admin = None
    if config.minters and not (choice.account or choice.keystore) and chain_id == DEVNET_CHAIN_ID and config.roles.get("minter_admin"):
        minter_admin = select_signer(chain_id=chain_id, role="minter_admin", config=config)
    client, receipts = deploy_from_config(config, deployer, minter_admin=minter_admin, force=force)
    d = client.deployment
    click.echo(f"deployed {d.name} ({d.symbol}) on {d.network} (chain id {d.chain_id}) by {d.deployer}")
    click.echo(f"token (proxy)   {d.token}")
    click.echo(f"implementation  {d.implementation}")
    click.echo(f"deploy block    {d.deploy_block}")
    click.echo(f"record          {deployment_path(d.network)}")
    if receipts:
        for (minter, allowance), receipt in zip(config.minters, receipts):
            click.echo(f"minter {minter} may mint {allowance} {d.symbol}: tx {receipt.txn_hash}")
    elif config.minters:
        click.echo("minters not configured: the signer lacks minter_admin; run `ape run configure_minter` as the minter admin")
    if ephemeral_node():
        click.echo(
            "note: ape started this node for this command and stops it now, so the record will be stale; "
            "to keep a token, run `make devnet` and use --network ethereum:local:node (or a Hardhat node: ethereum:hardhat:node)"
        )
