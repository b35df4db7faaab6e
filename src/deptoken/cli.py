"""What the ape scripts share: the command class (network, error boundary), signer options, output.

A script is a thin click wrapper::

    @click.command(cls=OperatorCommand)
    @signer_options
    @click.option("--amount", required=True)
    def cli(amount):
        client = open_token()
        sender = choose_signer(client, role="minter")
        report("minted ...", client.mint(..., sender=sender))

``OperatorCommand`` connects to ``--network`` (an unreachable node is a one-line error, not a
traceback) and turns every ``DepositTokenError`` into ``error: <one line>`` on stderr and exit
status 1. Other failures are not hidden.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from ape.cli import ConnectedProviderCommand

from .errors import DepositTokenError, NodeUnreachable, WrongChain, first_line

F = TypeVar("F", bound=Callable[..., Any])


def failure_message(exc: Exception) -> str | None:
    """The one line the command-line tools print for an expected failure; None for anything else
    (a bug: it propagates with its traceback)."""
    from ape.exceptions import ApeException
    from sqlalchemy.exc import SQLAlchemyError
    from web3.exceptions import CannotHandleRequest, ProviderConnectionError, Web3Exception

    if isinstance(exc, DepositTokenError):
        return str(exc)
    if isinstance(exc, OSError) and not isinstance(exc, ConnectionError) and exc.filename:
        return f"cannot use {exc.filename}: {exc.strerror or first_line(exc)}"  # a local file, not the node
    if isinstance(exc, ConnectionError | OSError | CannotHandleRequest | ProviderConnectionError):
        return f"lost the node: {first_line(exc)}"
    if isinstance(exc, ApeException | SQLAlchemyError | Web3Exception):  # past our checks: signing, node, database
        return f"{type(exc).__name__}: {first_line(exc)}"
    return None


class OperatorCommand(ConnectedProviderCommand):
    """A ``ConnectedProviderCommand`` with the scripts' error boundary (``failure_message``)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return self._connected_invoke(ctx)
        except Exception as exc:  # noqa: BLE001 - the expected kinds become one line
            if (message := failure_message(exc)) is None:
                raise
        click.echo(f"error: {message}", err=True)
        ctx.exit(1)

    def _connected_invoke(self, ctx: click.Context) -> Any:
        from ape.cli.commands import parse_network

        if self.callback is None:
            return None
        try:
            network_ctx = parse_network(ctx)
            provider = network_ctx.__enter__() if network_ctx is not None else None
        except Exception as exc:  # noqa: BLE001 - ape raises several kinds for an absent node
            message = first_line(exc)
            if "does not match network chain ID" in message:  # ape's own chain-id check
                raise WrongChain(f"wrong chain: {message}") from None
            raise NodeUnreachable(f"cannot reach the node: {message}") from None
        try:
            return self._invoke(ctx, provider=provider)
        finally:
            if network_ctx is not None:
                network_ctx.__exit__(*sys.exc_info())


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta[f"deptoken.{param.name}"] = value
    return value


def signer_options(function: F) -> F:
    """Adds ``--account ALIAS`` (ape keystore, any chain), ``--as WHO`` (devnet test account) and
    ``--yes`` (keystore: sign without asking each time); read back with :func:`signer_choice`."""
    options = [
        click.option(
            "--account",
            metavar="ALIAS",
            expose_value=False,
            callback=_remember,
            help="Sign with this ape keystore account (`ape accounts import ALIAS`); required off the devnet.",
        ),
        click.option(
            "--as",
            "as_",
            metavar="ROLE|INDEX|ADDRESS",
            expose_value=False,
            callback=_remember,
            help="Devnet only (chain id 31337): sign with a public test account, by role "
            "(minter, compliance, legal, pauser, minter_admin, admin, upgrader), index or address.",
        ),
        click.option(
            "--yes",
            is_flag=True,
            expose_value=False,
            callback=_remember,
            help="Keystore account: unlock once and sign without asking for each transaction.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def signer_choice() -> dict[str, Any]:
    """The signer options of the running command, as ``select_signer`` keywords."""
    meta = click.get_current_context().meta
    return {
        "account": meta.get("deptoken.account"),
        "as_": meta.get("deptoken.as_"),
        "autosign": bool(meta.get("deptoken.yes")),
    }


def open_token() -> Any:
    """The ``TokenClient`` of the connected network's deployment record."""
    from .token import TokenClient

    return TokenClient.from_deployment()


def choose_signer(client: Any, role: str | None) -> Any:
    """The signer from the signer options; on the devnet by default the test account holding ``role``."""
    from .chain import connected_chain_id
    from .signers import select_signer

    return select_signer(chain_id=connected_chain_id(), role=role, token=client.contract, **signer_choice())


def ephemeral_node() -> bool:
    """Whether ape started the node for this command (e.g. ``ethereum:local:foundry``): it stops after."""
    from ape import networks

    return getattr(networks.provider, "process", None) is not None


def report(message: str, receipts: Any) -> None:
    """Prints what was done and the transaction(s) that did it."""
    receipts = receipts if isinstance(receipts, list) else [receipts]
    txs = ", ".join(f"{r.txn_hash} (block {r.block_number})" for r in receipts)
    click.echo(f"{message}: tx {txs}")
