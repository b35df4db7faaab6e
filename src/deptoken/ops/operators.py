"""The operations team: operators are known by the address of the key they sign with. Every request
and every decision on one is an EIP-191 signature over the request's digest, checked when it is
made and again before anything runs on-chain."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import DepositTokenError
from ..validation import parse_address
from . import audit
from .models import Operator

ACTIONS = ("request", "approve", "reject")


def message(action: str, digest: str) -> str:
    """The text an operator signs: ``deptoken <action> <digest>``."""
    if action not in ACTIONS:
        raise ValueError(action)
    return f"deptoken {action} {digest}"


def sign(signer: Any, action: str, digest: str) -> str:
    """``signer`` (an ape account) signs ``action`` on ``digest``; the 65-byte signature as hex."""
    signature = signer.sign_message(encode_defunct(text=message(action, digest)))
    if signature is None:
        raise DepositTokenError(f"{signer.address} declined to sign")
    return "0x" + bytes(signature.encode_rsv()).hex()


def signer_of(action: str, digest: str, signature: str) -> str:
    """The address that signed ``action`` on ``digest``."""
    try:
        return str(Account.recover_message(encode_defunct(text=message(action, digest)), signature=signature))
    except Exception:  # noqa: BLE001 - malformed signature bytes
        raise DepositTokenError("malformed operator signature") from None


def add_operator(session: Session, name: str, address: str, *, request: bool, approve: bool, actor: str) -> Operator:
    """Registers an operator (a name and the address they sign with)."""
    name = name.strip()
    if not name or len(name) > 64:
        raise DepositTokenError("operator name must be 1 to 64 characters")
    address = parse_address(address, "operator address")
    if not (request or approve):
        raise DepositTokenError("an operator must be allowed to request, approve or both")
    clash = session.scalars(select(Operator).where((Operator.name == name) | (Operator.address == address))).first()
    if clash is not None:
        raise DepositTokenError(f"operator {clash.name} ({clash.address}) already exists")
    operator = Operator(name=name, address=address, can_request=request, can_approve=approve, active=True)
    session.add(operator)
    session.flush()
    audit.record(session, actor, "operator.add", name, {"address": address, "request": request, "approve": approve})
    return operator


def deactivate_operator(session: Session, name: str, *, actor: str) -> Operator:
    operator = operator_named(session, name)
    operator.active = False
    audit.record(session, actor, "operator.deactivate", name, {"address": operator.address})
    return operator


def operator_named(session: Session, name: str) -> Operator:
    operator = session.scalars(select(Operator).where(Operator.name == name)).first()
    if operator is None:
        raise DepositTokenError(f"unknown operator {name!r}")
    return operator


def operator_at(session: Session, address: str, *, may: str) -> Operator:
    """The active operator signing with ``address``, allowed to ``may`` (request | approve)."""
    operator = session.scalars(select(Operator).where(Operator.address == address)).first()
    if operator is None:
        raise DepositTokenError(f"{address} is not a registered operator (see `deptoken operators add`)")
    if not operator.active:
        raise DepositTokenError(f"operator {operator.name} is deactivated")
    if not (operator.can_request if may == "request" else operator.can_approve):
        raise DepositTokenError(f"operator {operator.name} may not {may}")
    return operator


def list_operators(session: Session) -> list[Operator]:
    return list(session.scalars(select(Operator).order_by(Operator.id)))
