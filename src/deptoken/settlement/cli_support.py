"""What the settlement commands of ``deptoken`` (``auth``, ``pvp``, ``escrow``, ``htlc``) share:
the connection, who signs, contracts named by currency or address, and output."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from ..errors import DepositTokenError
from ..ops import cli_env
from ..ops.cli_env import Env, pass_env  # noqa: F401 - pass_env re-exported for the command modules
from .registry import SettlementDeployment, read_registry, resolve


def connect(env: Env) -> int:
    """Connects to ``--network`` (once) and returns the node's chain id."""
    from ..chain import connected_chain_id, network_name

    if getattr(env, "_settlement_connected", False) is False:
        cli_env._connect(env.network)  # looked up when called, not bound at import
        env._settlement_connected = True
        env._registry = read_registry(network_name())
    return connected_chain_id()


def registry(env: Env) -> SettlementDeployment | None:
    connect(env)
    return env._registry


def token_client(env: Env, ref: str) -> Any:
    """The token ``ref`` names (currency code from the settlement record, or address)."""
    from ape import chain

    from ..abi import contract_at
    from ..token import TokenClient

    address = resolve(registry(env), "token", ref)
    if not chain.provider.get_code(address):
        raise DepositTokenError(f"no contract at {address} (token {ref})")
    return TokenClient.from_contract(contract_at("DepositToken", address))


def contract(env: Env, kind: str, contract_type: str, ref: str | None) -> Any:
    """The ``contract_type`` contract ``ref`` names (``kind``: pvp, htlc, escrow)."""
    from ape import chain

    from ..abi import contract_at

    address = resolve(registry(env), kind, ref)
    if not chain.provider.get_code(address):
        raise DepositTokenError(f"no contract at {address} ({kind})")
    return contract_at(contract_type, address)


def signer_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--account/--keystore/--as/--yes``; passes ``signer`` (a function: resolved when called)."""

    @click.option("--account", "signer_account", metavar="ALIAS", help="Sign with this ape keystore account.")
    @click.option("--keystore", metavar="FILE", help="Sign with this eth-account keystore (JSON) file.")
    @click.option("--as", "as_", metavar="WHO", help="Devnet only: a public test account (index or address).")
    @click.option("--yes", is_flag=True, help="Keystore: unlock once, sign without asking each time.")
    @wraps(function)
    def wrapper(*args: Any, signer_account: str | None, keystore: str | None, as_: str | None, yes: bool, **kwargs: Any) -> Any:
        env = click.get_current_context().find_object(Env)

        def signer() -> Any:
            from ..signers import select_signer

            return select_signer(chain_id=connect(env), account=signer_account, keystore=keystore, as_=as_, autosign=yes)

        return function(*args, signer=signer, **kwargs)

    return wrapper


def emit(env: Env, data: Any, text: str) -> None:
    """``data`` as JSON with ``--json``, else ``text``."""
    env.emit(data, lambda: click.echo(text))
