"""The operations team: operators are known by the address of the key they sign with. Every request
and every decision on one is an EIP-191 signature over the request's digest, checked when it is
made and again before anything runs on-chain.

The team itself changes under maker-checker: adding an operator, deactivating one and changing an
operator's duties is a request (kind ``operator``) signed by an operator and taking effect when
another approves it; like every request, it is signed over the ledger's chain id and token. Only the very first operators are registered without approval, together, by
``bootstrap`` (refused once any operator exists). One person holds at most one operator identity
(one key, one ``person_id``). Each operator may be limited to some actions (``PERMISSIONS``) and to
amounts up to ``max_amount``; no operator approves a mint to their own address.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import DepositTokenError
from ..validation import parse_address
from . import audit
from .models import Operator, Request
from .params import OperatorChange
from .statuses import RequestKind, RequestStatus

ACTIONS = ("request", "approve", "reject")
# What an operator may be permitted: each request kind, and the ledger's own maker-checker steps.
PERMISSIONS = ("mint", "freeze", "unfreeze", "lien", "seize", "recover", "pause", "unpause", "cancel", "return",
               "operators", "clients", "payouts")
CHANGES = ("add", "deactivate", "duties")


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


def _name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64:
        raise DepositTokenError("operator name must be 1 to 64 characters")
    return name


def _person(person_id: str | None) -> str | None:
    if person_id is None:
        return None
    person_id = person_id.strip()
    if not person_id or len(person_id) > 64 or not person_id.isprintable():
        raise DepositTokenError("person id must be 1 to 64 printable characters")
    return person_id


def _permissions(permissions: Sequence[str] | None) -> list[str] | None:
    if permissions is None:
        return None
    unknown = sorted(set(permissions) - set(PERMISSIONS))
    if unknown:
        raise DepositTokenError(f"unknown permission(s) {', '.join(unknown)} (of {', '.join(PERMISSIONS)})")
    if not permissions:
        raise DepositTokenError("an operator needs at least one permitted action (or all)")
    return sorted(set(permissions))


def _limit(max_amount: int | None) -> int | None:
    if max_amount is not None and (isinstance(max_amount, bool) or not isinstance(max_amount, int) or max_amount < 1):
        raise DepositTokenError("an operator's amount limit must be a positive number of minor units")
    return max_amount


def _check_clash(session: Session, name: str, address: str, person_id: str | None) -> None:
    clash = session.scalars(select(Operator).where((Operator.name == name) | (Operator.address == address))).first()
    if clash is not None:
        raise DepositTokenError(f"operator {clash.name} ({clash.address}) already exists")
    if person_id is not None:
        same = session.scalars(select(Operator).where(Operator.person_id == person_id)).first()
        if same is not None:
            raise DepositTokenError(f"person {person_id} is already operator {same.name}: one person, one operator identity")


def add_operator(
    session: Session, name: str, address: str, *, request: bool, approve: bool, actor: str,
    person_id: str | None = None, permissions: Sequence[str] | None = None, max_amount: int | None = None,
) -> Operator:
    """Registers an operator (a name, the address they sign with, the person they are). The step an
    approved ``operator`` request or ``bootstrap`` takes: on its own it bypasses maker-checker."""
    name, person_id = _name(name), _person(person_id)
    address = parse_address(address, "operator address")
    if not (request or approve):
        raise DepositTokenError("an operator must be allowed to request, approve or both")
    permissions, max_amount = _permissions(permissions), _limit(max_amount)
    _check_clash(session, name, address, person_id)
    operator = Operator(name=name, address=address, can_request=request, can_approve=approve, active=True,
                        person_id=person_id, permissions=permissions, max_amount=max_amount)
    session.add(operator)
    session.flush()
    audit.record(session, actor, "operator.add", name, {"address": address, "request": request, "approve": approve,
                                                       "person_id": person_id, "permissions": permissions,
                                                       "max_amount": None if max_amount is None else str(max_amount)})
    return operator


def bootstrap(session: Session, team: Sequence[tuple[str, str, str]], *, actor: str) -> list[Operator]:
    """Registers the first operators ``(name, address, person_id)``, at least two, together, each
    allowed to request and approve: the one path without approval, refused once any operator exists."""
    if session.scalars(select(Operator.id).limit(1)).first() is not None:
        raise DepositTokenError("the team exists already: add operators with `deptoken operators add` (approved by another operator)")
    if len(team) < 2:
        raise DepositTokenError("bootstrap registers at least two operators (a maker and a checker)")
    audit.record(session, actor, "operators.bootstrap", f"{len(team)} operators", {"names": [t[0] for t in team]})
    return [add_operator(session, name, address, request=True, approve=True, actor=f"bootstrap by {actor}",
                         person_id=person_id)
            for name, address, person_id in team]


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


def operator_at(session: Session, address: str, *, may: str, action: str | None = None, amount: int | None = None) -> Operator:
    """The active operator signing with ``address``, allowed to ``may`` (request | approve), permitted
    ``action`` (one of ``PERMISSIONS``), for ``amount`` minor units."""
    operator = session.scalars(select(Operator).where(Operator.address == address)).first()
    if operator is None:
        raise DepositTokenError(f"{address} is not a registered operator (see `deptoken operators add`)")
    check_may(operator, may=may, action=action, amount=amount)
    return operator


def check_may(operator: Operator, *, may: str, action: str | None = None, amount: int | None = None) -> None:
    """Refuses unless ``operator`` is active, allowed to ``may``, permitted ``action`` for ``amount``
    (checked when they sign, and again for every approval when a request is executed)."""
    if not operator.active:
        raise DepositTokenError(f"operator {operator.name} is deactivated")
    if not (operator.can_request if may == "request" else operator.can_approve):
        raise DepositTokenError(f"operator {operator.name} may not {may}")
    if action is not None and operator.permissions is not None and action not in operator.permissions:
        raise DepositTokenError(f"operator {operator.name} is not permitted {action} (permitted: {', '.join(operator.permissions)})")
    if amount is not None and operator.max_amount is not None and amount > operator.max_amount:
        raise DepositTokenError(f"operator {operator.name} may {may} amounts up to {operator.max_amount} minor units, not {amount}")


def list_operators(session: Session) -> list[Operator]:
    return list(session.scalars(select(Operator).order_by(Operator.id)))


# ---------------------------------------------------------------------------- changes under maker-checker


def _change_params(session: Session, change: str, name: str, *, address: str | None = None, person_id: str | None = None,
                   request: bool | None = None, approve: bool | None = None, permissions: Sequence[str] | None = None,
                   max_amount: int | None = None) -> OperatorChange:
    """The checked parameters of an operator change (``to_json``: as signed and stored)."""
    if change not in CHANGES:
        raise DepositTokenError(f"unknown operator change {change!r} (one of {', '.join(CHANGES)})")
    name = _name(name)
    if change == "deactivate":
        operator = operator_named(session, name)
        if not operator.active:
            raise DepositTokenError(f"operator {name} is deactivated already")
        return OperatorChange(change, name)
    if request is None or approve is None or not (request or approve):
        raise DepositTokenError("an operator must be allowed to request, approve or both")
    listed = _permissions(permissions)
    duties = {"request": request, "approve": approve, "permissions": None if listed is None else tuple(listed),
              "max_amount": _limit(max_amount)}
    if change == "duties":
        operator_named(session, name)
        return OperatorChange(change, name, **duties)
    if person_id is None:
        raise DepositTokenError("a new operator needs the person id of who they are (one person, one operator identity)")
    address, person_id = parse_address(str(address), "operator address"), _person(person_id)
    _check_clash(session, name, address, person_id)
    return OperatorChange(change, name, address, person_id, **duties)


def _binding(session: Session) -> tuple[int, str]:
    """The chain id and token the ledger is bound to: an operator change is signed over them (like
    every request), so a signed change cannot be replayed on another ledger."""
    from .context import ledger_binding

    binding = ledger_binding(session)
    if binding is None:
        raise DepositTokenError("the ledger is not bound to a token yet: team changes are signed for one "
                                "(run a chain command first, e.g. `deptoken --network ... sync`)")
    return binding[0], binding[1]


def _digest(session: Session, params: dict[str, Any]) -> str:
    """What the maker and checker sign: the change and its nonce, for the ledger's chain and token."""
    chain_id, token = _binding(session)
    body = json.dumps({"chain_id": chain_id, "token": token, "kind": "operator", "params": params},
                      sort_keys=True, separators=(",", ":"))
    return "0x" + keccak(text=body).hex()


def propose_change(session: Session, change: str, name: str, maker: Any, **fields: Any) -> Request:
    """Records an operator change (``add``, ``deactivate`` or ``duties`` of operator ``name``) signed by
    ``maker`` (an ape account of an operator permitted ``operators``); another operator approves it."""
    params = _change_params(session, change, name, **fields).to_json()
    operator = operator_at(session, str(maker.address), may="request", action="operators")
    if change != "add" and name == operator.name:
        raise DepositTokenError(f"operator {name} cannot propose a change of their own duties")
    params["nonce"] = uuid.uuid4().hex
    digest = _digest(session, params)
    request = Request(kind=RequestKind.OPERATOR, params=params, digest=digest, amount=None, deposit_id=None, required_approvals=1,
                      status=RequestStatus.PENDING, maker_id=operator.id, maker_signature=sign(maker, "request", digest))
    session.add(request)
    session.flush()
    audit.record(session, operator.name, "request.create", f"request {request.id}",
                 {"kind": "operator", "params": {k: v for k, v in params.items() if k != "nonce"}, "digest": digest,
                  "required_approvals": 1})
    return request


def apply_change(session: Session, request: Request, *, actor: str) -> None:
    """Makes an approved ``operator`` request take effect (the checks again: the team may have changed)."""
    p = dict(request.params)
    if _digest(session, p) != request.digest:
        raise DepositTokenError(f"request #{request.id}: its parameters are not the ones signed for this ledger's chain and "
                                "token (ledger tampered, or replayed from another ledger?)")
    who = f"{actor} (request {request.id})"
    change = OperatorChange.from_json({k: v for k, v in p.items() if k != "nonce"})
    permissions = None if change.permissions is None else list(change.permissions)
    if change.change == "add":
        add_operator(session, change.name, str(change.address), request=bool(change.request), approve=bool(change.approve),
                     actor=who, person_id=change.person_id, permissions=permissions, max_amount=change.max_amount)
    elif change.change == "deactivate":
        deactivate_operator(session, change.name, actor=who)
    else:
        operator = operator_named(session, change.name)
        operator.can_request, operator.can_approve = bool(change.request), bool(change.approve)
        operator.permissions, operator.max_amount = permissions, change.max_amount
        audit.record(session, who, "operator.duties", change.name, {k: p[k] for k in ("request", "approve", "permissions", "max_amount")})
    request.status = RequestStatus.EXECUTED
