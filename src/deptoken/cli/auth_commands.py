"""``deptoken auth``: sign EIP-2612 permits and EIP-3009 authorizations into files, verify and submit them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .env import Env, pass_env
from .settlement_support import connect, emit, registry, signer_options, token_client


def _write(signed: Any, out: str) -> Path:
    path = Path(out)
    if path.exists():
        raise click.UsageError(f"{path} exists: choose another --out")
    return signed.save(path)


def _summary(client: Any, signed: Any) -> dict[str, Any]:
    m = signed.message
    data = {"kind": signed.kind, "token": client.address, "signer": signed.signer}
    data.update({k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in m.items()})
    return data


def _settlement_party(env: Env, ref: str) -> str:
    """``pvp``, ``htlc`` or ``escrow:CUR`` as the settlement record's address; anything else as given."""
    from ..settlement.registry import resolve

    kind, _, currency = ref.strip().lower().partition(":")
    if kind in ("pvp", "htlc") and not currency:
        return resolve(registry(env), kind, None)
    if kind == "escrow" and currency:
        return resolve(registry(env), "escrow", currency)
    return ref


@click.group()
def auth() -> None:
    """Gasless authorizations: EIP-2612 permits and EIP-3009 transfer authorizations."""


@auth.command("sign-transfer")
@click.option("--token", "token_ref", required=True, help="Currency code (settlement record) or token address.")
@click.option("--to", "payee", required=True, help="The payee's address.")
@click.option("--amount", required=True, help="Currency units, e.g. 125.50")
@click.option("--valid-for", type=click.IntRange(min=1), default=3600, show_default=True, help="Seconds from now.")
@click.option("--receive", is_flag=True, help="Only the payee may submit it (receiveWithAuthorization), e.g. an escrow.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write the signed authorization to.")
@signer_options
@pass_env
def sign_transfer(env: Env, token_ref: str, payee: str, amount: str, valid_for: int, receive: bool, out: str, signer: Any) -> None:
    """The payer signs a transfer of AMOUNT to --to (one signature, no gas)."""
    from ..token import authorizations as a

    client = token_client(env, token_ref)
    who = signer()
    signed = a.sign(who, a.transfer_authorization(client, who, payee, amount, valid_for=valid_for, receive=receive))
    path = _write(signed, out)
    emit(env, _summary(client, signed), f"{signed.kind} of {client.format(signed.message['value'])} to {payee} signed: {path}")


@auth.command("sign-permit")
@click.option("--token", "token_ref", required=True, help="Currency code (settlement record) or token address.")
@click.option("--spender", required=True, help="An address, or pvp, htlc, escrow:CUR (from the settlement record).")
@click.option("--amount", required=True, help="The allowance, currency units.")
@click.option("--valid-for", type=click.IntRange(min=1), default=3600, show_default=True, help="Seconds from now.")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@signer_options
@pass_env
def sign_permit(env: Env, token_ref: str, spender: str, amount: str, valid_for: int, out: str, signer: Any) -> None:
    """The owner signs an allowance for --spender (EIP-2612)."""
    from ..token import authorizations as a

    client = token_client(env, token_ref)
    who = signer()
    spender = _settlement_party(env, spender)
    signed = a.sign(who, a.permit(client, who, spender, amount, deadline=client.now() + valid_for))
    path = _write(signed, out)
    emit(env, _summary(client, signed), f"permit of {client.format(signed.message['value'])} for {spender} signed: {path}")


@auth.command("sign-cancel")
@click.option("--token", "token_ref", required=True)
@click.option("--nonce", required=True, help="The authorization's nonce (0x + 64 hex digits).")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@signer_options
@pass_env
def sign_cancel(env: Env, token_ref: str, nonce: str, out: str, signer: Any) -> None:
    """The payer signs the cancellation of its unused authorization --nonce."""
    from ..token import authorizations as a

    client = token_client(env, token_ref)
    who = signer()
    signed = a.sign(who, a.cancel_authorization(client, who, nonce))
    emit(env, _summary(client, signed), f"cancellation signed: {_write(signed, out)}")


def _load(env: Env, path: str, token_ref: str | None) -> tuple[Any, Any]:
    from ..token import authorizations as a

    signed = a.SignedMessage.load(path)
    connect(env)
    return token_client(env, token_ref or signed.data["domain"]["verifyingContract"]), signed


@auth.command("verify")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--token", "token_ref", help="Default: the token the file was signed for.")
@pass_env
def verify(env: Env, path: str, token_ref: str | None) -> None:
    """Checks a signed file as the token would (exit 1 and the reason if it would fail)."""
    from ..token import authorizations as a

    client, signed = _load(env, path, token_ref)
    a.verify(client, signed)
    emit(env, _summary(client, signed), f"{signed.kind} by {signed.signer}: valid now")


@auth.command("submit")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--token", "token_ref", help="Default: the token the file was signed for.")
@signer_options
@pass_env
def submit(env: Env, path: str, token_ref: str | None, signer: Any) -> None:
    """Sends a signed file to the token (anyone pays the gas; the payee for a receive authorization)."""
    from ..token import authorizations as a

    client, signed = _load(env, path, token_ref)
    receipt = a.submit(client, signed, sender=signer())
    emit(env, {**_summary(client, signed), "tx": receipt.txn_hash}, f"{signed.kind} by {signed.signer} done: {receipt.txn_hash}")
