"""What the ape scripts (``scripts/``, ``ape run NAME``) share: the command class (network, error
boundary), the signer options (``deptoken.cli.signing``, as ``deptoken``'s), output.

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
from functools import wraps
from typing import Any, TypeVar

import click
from ape.cli import ConnectedProviderCommand

from ..errors import NodeUnreachable, WrongChain, first_line
from .boundary import failure_message
from .signing import SignerChoice, signer_choice_options

F = TypeVar("F", bound=Callable[..., Any])


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


def signer_options(function: F) -> F:
    """Adds the signer options (``--account``, ``--keystore``, ``--as``, ``--yes``: ``deptoken.cli.signing``);
    read back with :func:`signer_choice` or :func:`choose_signer`."""

    @signer_choice_options()
    @wraps(function)
    def wrapper(*args: Any, signer_choice: SignerChoice, **kwargs: Any) -> Any:
        click.get_current_context().meta["deptoken.signer"] = signer_choice
        return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def signer_choice() -> SignerChoice:
    """The signer options of the running command."""
    return click.get_current_context().meta.get("deptoken.signer", SignerChoice())


def open_token() -> Any:
    """The ``TokenClient`` of the connected network's deployment record."""
    from ..token import TokenClient

    return TokenClient.from_deployment()


def choose_signer(client: Any, role: str | None) -> Any:
    """The signer from the signer options; on the devnet by default the test account holding ``role``."""
    from ..chain import connected_chain_id

    return signer_choice().select(connected_chain_id(), role=role, token=client.contract)


def ephemeral_node() -> bool:
    """Whether ape started the node for this command (e.g. ``ethereum:local:foundry``): it stops after."""
    from ape import networks

    return getattr(networks.provider, "process", None) is not None


def report(message: str, receipts: Any) -> None:
    """Prints what was done and the transaction(s) that did it."""
    receipts = receipts if isinstance(receipts, list) else [receipts]
    txs = ", ".join(f"{r.txn_hash} (block {r.block_number})" for r in receipts)
    click.echo(f"{message}: tx {txs}")
