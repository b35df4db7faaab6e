"""Deploying a DepositToken: implementation, then an ERC-1967 proxy that calls ``initialize``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .chain import network_name, require_chain_id
from .config import DeployConfig
from .abi import abi_of
from .deployments import Deployment, require_no_deployment, write_deployment


def deploy_token(
    config: DeployConfig,
    deployer: Any,
    *,
    network: str | None = None,
    record: bool = True,
    force: bool = False,
    directory: Path | None = None,
) -> tuple[Any, Deployment]:
    """Deploys the implementation and the proxy, initialised from ``config``.

    Checks the chain id and (with ``record``) that no deployment record would be overwritten before
    sending anything. Returns the token (the proxy, with the DepositToken ABI) and its record, which
    is written to ``deployments/<network>.json`` when ``record`` is set.
    """
    from ape import chain, project

    require_chain_id(config.chain_id)
    network = network or network_name()
    if record:
        require_no_deployment(network, force=force, directory=directory)
    implementation = deployer.deploy(project.DepositToken)
    init_data = implementation.initialize.encode_input(config.init_params())
    proxy = deployer.deploy(project.DepositTokenProxy, implementation.address, init_data)
    token = project.DepositToken.at(proxy.address)
    deployment = Deployment(
        network=network,
        chain_id=config.chain_id,
        token=proxy.address,
        implementation=implementation.address,
        deploy_block=chain.provider.get_receipt(proxy.txn_hash).block_number,
        deployer=deployer.address,
        name=config.name,
        symbol=config.symbol,
        currency=config.currency,
        decimals=token.decimals(),
        transactions={"implementation": implementation.txn_hash, "proxy": proxy.txn_hash},
        abi=abi_of(project.DepositToken.contract_type),
    )
    if record:
        write_deployment(deployment, force=force, directory=directory)
    return token, deployment
