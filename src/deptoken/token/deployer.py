"""Deploying a DepositToken: implementation, then an ERC-1967 proxy that calls ``initialize``
(``deploy_token``), recorded and with its minters configured (``deploy_from_config``)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from ..contracts import abi_of
from ..amounts import parse_amount
from ..chain import network_name, require_chain_id
from ..config import DeployConfig
from ..deployments import Deployment, require_no_deployment, write_deployment
from ..errors import DepositTokenError, InvalidInput
from .client import TokenClient


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
    is written to ``deployments/<network>-<chain tag>.json`` when ``record`` is set.
    """
    from ape import chain, project

    require_chain_id(config.chain_id)
    network = network or network_name()
    if record:
        require_no_deployment(network, force=force, directory=directory)
    from ..accounts import as_ape_account

    deployer = as_ape_account(deployer)
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


def deploy_from_config(
    config: DeployConfig,
    deployer: Any,
    *,
    minter_admin: Any = None,
    force: bool = False,
    directory: Path | None = None,
    record: bool = True,
) -> tuple[TokenClient, list[Any]]:
    """Deploys the token of ``config`` (implementation + proxy), records it, configures its minters.

    Everything is checked before the first transaction: the chain id, that no deployment record
    would be overwritten (unless ``force``; nothing is recorded without ``record``), the minter allowances. The minters are configured by
    ``minter_admin`` (default: the deployer if it holds the role); without a signer that holds the
    minter_admin role they are left for ``configure_minter``. Returns the client and the receipts
    of the minter configurations.
    """
    allowances = [(address, _minter_allowance(text, config)) for address, text in config.minters]
    token, deployment = deploy_token(config, deployer, force=force, directory=directory, record=record)  # checks first
    client = TokenClient.from_contract(token, deployment)
    signer = minter_admin if minter_admin is not None else deployer
    receipts: list[Any] = []
    if allowances and client.has_role(signer, "minter_admin"):
        receipts = [client.send("configureMinter", address, units, sender=signer) for address, units in allowances]
    return client, receipts


def _minter_allowance(text: str, config: DeployConfig) -> int:
    try:
        return 0 if Decimal(text.strip()) == 0 else parse_amount(text, config.decimals)
    except (ArithmeticError, DepositTokenError):
        raise InvalidInput(f"deploy config: minter allowance {text!r} is not an amount with at most {config.decimals} decimals") from None
