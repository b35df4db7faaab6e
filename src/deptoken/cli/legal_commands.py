"""``deptoken legal``: legal orders and admin actions, proposed for approval."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ..errors import DepositTokenError
from .env import Env, pass_env
from .issuer_support import propose_request, signer_options


@click.group()
def legal() -> None:
    """Legal orders and admin actions, proposed for approval: freeze, lien, seize, recover, pause."""


def _units(env: Env, amount: str, *, zero: bool = False) -> int:
    return env.ops.client.units(amount, allow_zero=zero)


@legal.command("freeze")
@click.argument("account")
@signer_options(None)
@pass_env
def legal_freeze(env: Env, account: str, signer: Callable[[], Any]) -> None:
    """Freezes an account as a whole (sanctions)."""
    propose_request(env, "freeze", {"account": account}, signer)


@legal.command("unfreeze")
@click.argument("account")
@signer_options(None)
@pass_env
def legal_unfreeze(env: Env, account: str, signer: Callable[[], Any]) -> None:
    """Lifts a whole-account freeze."""
    propose_request(env, "unfreeze", {"account": account}, signer)


@legal.command("lien")
@click.argument("account")
@click.argument("amount")
@signer_options(None)
@pass_env
def legal_lien(env: Env, account: str, amount: str, signer: Callable[[], Any]) -> None:
    """Sets the frozen amount (lien) of an account; 0 releases it."""
    propose_request(env, "lien", {"account": account, "amount": _units(env, amount, zero=True)}, signer)


@legal.command("seize")
@click.argument("source")
@click.argument("destination")
@click.argument("amount")
@click.option("--order", "order", required=True, help="The legal order's reference.")
@signer_options(None)
@pass_env
def legal_seize(env: Env, source: str, destination: str, amount: str, order: str, signer: Callable[[], Any]) -> None:
    """Moves an amount from an account under a legal order."""
    propose_request(env, "seize", {"from": source, "to": destination, "amount": _units(env, amount), "order_reference": order}, signer)


def _settlement_positions(env: Env, account: str) -> list[Any]:
    from ..settlement.positions import open_positions
    from ..validation import parse_address

    return open_positions(env.settlement, parse_address(account, "account"))


@legal.command("positions")
@click.argument("account")
@pass_env
def legal_positions(env: Env, account: str) -> None:
    """Lists ACCOUNT's open positions in the settlement contracts (escrow orders, time-locks, PvP
    proposals): their funds sit in the contract, not in the account's balance, so a recovery or a
    seizure of the account does not reach them."""
    positions = _settlement_positions(env, account)
    env.emit([p.as_dict() for p in positions], lambda: click.echo("\n".join(
        f"{p.kind:<13} {p.position_id}  {p.role:<12} {p.amount:>20} (minor units of {p.token})  {p.state}  at {p.contract}"
        for p in positions) or "no open settlement positions"))


@legal.command("recover")
@click.argument("lost")
@click.argument("replacement")
@click.option("--order", "order", required=True, help="The reference of the recovery decision.")
@click.option("--despite-open-positions", is_flag=True,
              help="Propose even though LOST still takes part in open settlement positions.")
@signer_options(None)
@pass_env
def legal_recover(env: Env, lost: str, replacement: str, order: str, despite_open_positions: bool,
                  signer: Callable[[], Any]) -> None:
    """Moves a lost key's balance and restrictions to the client's new, allowlisted address. Refused
    while LOST takes part in open settlement positions (`legal positions LOST`), whose payouts to the
    lost address would fail after the recovery: move each to REPLACEMENT first (`replace-party`)."""
    positions = _settlement_positions(env, lost)
    if positions and not despite_open_positions:
        from ..settlement.positions import replace_command

        raise DepositTokenError(
            f"{lost} takes part in {len(positions)} open settlement position(s); move each to the replacement first: "
            + "; ".join(replace_command(p, replacement) for p in positions)
            + " (or pass --despite-open-positions)"
        )
    propose_request(env, "recover", {"lost": lost, "replacement": replacement, "order_reference": order}, signer)


@legal.command("pause")
@signer_options(None)
@pass_env
def legal_pause(env: Env, signer: Callable[[], Any]) -> None:
    """Stops transfers, mints and redemptions."""
    propose_request(env, "pause", {}, signer)


@legal.command("unpause")
@signer_options(None)
@pass_env
def legal_unpause(env: Env, signer: Callable[[], Any]) -> None:
    """Resumes transfers, mints and redemptions."""
    propose_request(env, "unpause", {}, signer)
