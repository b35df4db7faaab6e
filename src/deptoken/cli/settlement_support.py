"""What the settlement commands of ``deptoken`` (``auth``, ``pvp``, ``escrow``, ``htlc``) share:
the connection, who signs, contracts named by currency or address, and output."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from ..errors import DepositTokenError
from .env import Env
from .signing import AS_HELP_NO_ROLES, SignerChoice, signer_choice_options


def connect(env: Env) -> int:
    """Connects to ``--network`` (once) and returns the node's chain id."""
    return env.connect()


def registry(env: Env) -> Any:
    """The network's settlement record (``SettlementDeployment``), None if it has none (connects)."""
    return env.settlement


def token_client(env: Env, ref: str) -> Any:
    """The token ``ref`` names (currency code from the settlement record, or address)."""
    from ..chain import code_at
    from ..contracts import contract_at
    from ..token import TokenClient
    from ..settlement.registry import resolve

    address = resolve(registry(env), "token", ref)
    if not code_at(address):
        raise DepositTokenError(f"no contract at {address} (token {ref})")
    return TokenClient.from_contract(contract_at("DepositToken", address))


def contract(env: Env, kind: str, contract_type: str, ref: str | None) -> Any:
    """The ``contract_type`` contract ``ref`` names (``kind``: pvp, htlc, escrow)."""
    from ..chain import code_at
    from ..contracts import contract_at
    from ..settlement.registry import resolve

    address = resolve(registry(env), kind, ref)
    if not code_at(address):
        raise DepositTokenError(f"no contract at {address} ({kind})")
    return contract_at(contract_type, address)


def signer_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The signer options (``deptoken.cli.signing``); passes ``signer`` (a function: resolved when called)."""

    @signer_choice_options(AS_HELP_NO_ROLES)
    @wraps(function)
    def wrapper(*args: Any, signer_choice: SignerChoice, **kwargs: Any) -> Any:
        env = click.get_current_context().find_object(Env)

        def signer() -> Any:
            return signer_choice.select(connect(env))

        return function(*args, signer=signer, **kwargs)

    return wrapper


def emit(env: Env, data: Any, text: str) -> None:
    """``data`` as JSON with ``--json``, else ``text``."""
    env.emit(data, lambda: click.echo(text))
