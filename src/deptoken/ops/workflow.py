"""Maker-checker requests: a maker proposes an operation, other operators approve it, then it runs
on-chain exactly once through the outbox.

Kinds and what they run (``TokenClient``, the one implementation of each chain operation):

=========  ====================================  =========
kind       params                                signer
=========  ====================================  =========
mint       to, amount, deposit_reference         minter
freeze     account                               compliance
unfreeze   account                               compliance
lien       account, amount (0 releases)          legal
seize      from, to, amount, order_reference     legal
recover    lost, replacement, order_reference    legal
pause      (none)                                pauser
unpause    (none)                                pauser
=========  ====================================  =========

Amounts are minor units. A request above the policy's ``two_approvals_above`` needs two approvals.
Nothing runs unless, at execution time, the parameters still hash to the signed digest (for this
chain and token) and the maker's and every approver's signature check out.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..errors import DepositTokenError, first_line
from ..validation import parse_address, reference_to_bytes32
from . import audit, operators, outbox
from .context import Ops
from .models import Approval, Deposit, Request, Transaction

KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "mint": (("to", "amount", "deposit_reference"), "minter"),
    "freeze": (("account",), "compliance"),
    "unfreeze": (("account",), "compliance"),
    "lien": (("account", "amount"), "legal"),
    "seize": (("from", "to", "amount", "order_reference"), "legal"),
    "recover": (("lost", "replacement", "order_reference"), "legal"),
    "pause": ((), "pauser"),
    "unpause": ((), "pauser"),
}
_ADDRESSES = ("to", "account", "from", "lost", "replacement")
_REFERENCES = ("deposit_reference", "order_reference")


def signer_role(kind: str) -> str:
    """The token role whose holder sends a request of ``kind``."""
    return KINDS[kind][1]


def normalize_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Checks ``params`` for ``kind``: checksummed addresses, minor units as decimal text, references."""
    if kind not in KINDS:
        raise DepositTokenError(f"unknown request kind {kind!r} (one of {', '.join(KINDS)})")
    fields = KINDS[kind][0]
    if set(params) != set(fields):
        raise DepositTokenError(f"a {kind} request takes {', '.join(fields) or 'no parameters'}")
    clean: dict[str, Any] = {}
    for name in fields:
        value = params[name]
        if name in _ADDRESSES:
            clean[name] = parse_address(str(value), name)
        elif name == "amount":
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if kind == "lien" else 1):
                raise DepositTokenError(f"{kind} amount must be a positive number of minor units")
            clean[name] = str(value)
        else:
            text = str(value).strip()
            reference_to_bytes32(text, name.replace("_", " "))  # refuses empty / malformed
            clean[name] = text
    return clean


def _digest(ops: Ops, kind: str, params: dict[str, Any], nonce: str) -> str:
    body = json.dumps(
        {"chain_id": ops.chain_id, "token": ops.token, "kind": kind, "params": params, "nonce": nonce},
        sort_keys=True, separators=(",", ":"),
    )
    return "0x" + keccak(text=body).hex()


def _required_approvals(ops: Ops, amount: int | None) -> int:
    """Approvals the policy requires for a request of ``amount`` minor units (None: no amount)."""
    threshold = ops.client.units(ops.policy.two_approvals_above, allow_zero=True)
    return 2 if amount is not None and amount > threshold else 1


def _mint_for_reference(session: Session, reference: str) -> Request | None:
    """A mint request for the deposit reference ``reference`` (as text, or as its bytes32 in hex)."""
    as_hex = "0x" + reference_to_bytes32(reference).hex()
    stored = Request.params["deposit_reference"].as_string()
    query = select(Request).where(Request.kind == "mint", (stored == reference) | (func.lower(stored) == as_hex))
    return session.scalars(query.order_by(Request.id).limit(1)).first()


def propose(
    session: Session, ops: Ops, kind: str, params: dict[str, Any], maker: Any, *, deposit: Deposit | None = None
) -> Request:
    """Records a request signed by ``maker`` (an ape account of a registered operator)."""
    clean = normalize_params(kind, params)
    amount = int(clean["amount"]) if "amount" in clean else None
    operator = operators.operator_at(session, str(maker.address), may="request", action=kind, amount=amount)
    # A mint is bound to its deposit: the same deposit can never be proposed twice (unique digest).
    nonce = f"deposit:{clean['deposit_reference']}" if kind == "mint" else uuid.uuid4().hex
    digest = _digest(ops, kind, clean, nonce)
    if session.scalars(select(Request).where(Request.digest == digest)).first() is not None:
        raise DepositTokenError(f"this {kind} request exists already")
    if kind == "mint" and (other := _mint_for_reference(session, clean["deposit_reference"])) is not None:
        # the digest covers the amount and recipient too: a changed one must not make a second request
        raise DepositTokenError(
            f"deposit reference {clean['deposit_reference']!r} has a mint request already (#{other.id})"
        )
    request = Request(
        kind=kind,
        params=clean | {"nonce": nonce},
        digest=digest,
        amount=amount,
        deposit_id=deposit.id if deposit is not None else None,
        required_approvals=_required_approvals(ops, amount),
        status="pending",
        maker_id=operator.id,
        maker_signature=operators.sign(maker, "request", digest),
    )
    session.add(request)
    session.flush()
    audit.record(session, operator.name, "request.create", f"request {request.id}",
                 {"kind": kind, "params": clean, "digest": digest, "required_approvals": request.required_approvals})
    return request


def get_request(session: Session, request_id: int) -> Request:
    request = session.get(Request, request_id)
    if request is None:
        raise DepositTokenError(f"no request #{request_id}")
    return request


def decide(session: Session, request_id: int, checker: Any, *, approve: bool) -> Request:
    """``checker`` (an ape account of a registered operator, not the maker) approves or rejects. An
    approved ``operator`` request takes effect at once (``operators.apply_change``)."""
    request = get_request(session, request_id)
    permission = "operators" if request.kind == "operator" else request.kind
    operator = operators.operator_at(session, str(checker.address), may="approve", action=permission, amount=request.amount)
    if request.status != "pending":
        raise DepositTokenError(f"request #{request.id} is {request.status}, not pending")
    if operator.id == request.maker_id:
        raise DepositTokenError(f"operator {operator.name} made request #{request.id} and cannot approve or reject it")
    if any(a.operator_id == operator.id for a in request.approvals):
        raise DepositTokenError(f"operator {operator.name} has already decided on request #{request.id}")
    if approve and request.kind == "mint" and request.params["to"] == operator.address:
        raise DepositTokenError(f"operator {operator.name} cannot approve request #{request.id}: it mints to their own address")
    action = "approve" if approve else "reject"
    approval = Approval(request=request, operator_id=operator.id, decision=action,
                        signature=operators.sign(checker, action, request.digest))
    session.add(approval)
    session.flush()
    if not approve:
        request.status = "rejected"
    elif sum(a.decision == "approve" for a in request.approvals) >= request.required_approvals:
        request.status = "approved"
    audit.record(session, operator.name, f"request.{action}", f"request {request.id}",
                 {"digest": request.digest, "status": request.status})
    if request.kind == "operator" and request.status == "approved":
        verify_signatures(request)
        operators.apply_change(session, request, actor=operator.name)
    return request


def _signer_or_none(action: str, digest: str, signature: str) -> str | None:
    try:
        return operators.signer_of(action, digest, signature)
    except DepositTokenError:  # malformed bytes: no one signed this
        return None


def verify_signatures(request: Request, required: int | None = None) -> None:
    """Re-checks, from the stored signatures alone, that the request was made and approved as recorded
    (by at least ``required`` checkers, if given, whatever the ledger's count says)."""
    if _signer_or_none("request", request.digest, request.maker_signature) != request.maker.address:
        raise DepositTokenError(f"request #{request.id}: the maker's signature does not match (ledger tampered?)")
    approvers = set()
    for approval in request.approvals:
        if approval.decision != "approve":
            continue
        signer = _signer_or_none("approve", request.digest, approval.signature)
        if signer != approval.operator.address or signer == request.maker.address:
            raise DepositTokenError(f"request #{request.id}: approval {approval.id} does not check out (ledger tampered?)")
        approvers.add(signer)
    if required is not None and request.required_approvals < required:
        raise DepositTokenError(
            f"request #{request.id}: the policy requires {required} approvals, the ledger records "
            f"{request.required_approvals} (ledger tampered, or the policy changed since it was proposed?)"
        )
    if len(approvers) < request.required_approvals:
        raise DepositTokenError(f"request #{request.id} has {len(approvers)} of {request.required_approvals} approvals")


def verify_request(ops: Ops, request: Request) -> None:
    """Everything ``execute`` runs is what was signed: the parameters hash to the signed digest (for
    this chain and token), the signatures check out, and as many checkers approved as the policy
    requires for the signed amount."""
    params = dict(request.params)
    nonce = params.pop("nonce", None)
    try:
        clean = normalize_params(request.kind, {k: int(v) if k == "amount" else v for k, v in params.items()})
    except (DepositTokenError, TypeError, ValueError):
        clean = None
    if not isinstance(nonce, str) or clean != params or _digest(ops, request.kind, params, nonce) != request.digest:
        raise DepositTokenError(
            f"request #{request.id}: its parameters are not the ones signed for token {ops.token} on chain "
            f"{ops.chain_id} (ledger tampered?)"
        )
    verify_signatures(request, _required_approvals(ops, int(params["amount"]) if "amount" in params else None))


def _run(ops: Ops, request: Request, sender: Any) -> Any:
    """Calls the ``TokenClient`` operation for ``request`` (its checks first, then the transport)."""
    p, c = request.params, ops.client
    amount = c.to_decimal(int(p["amount"])) if "amount" in p else None
    match request.kind:
        case "mint":
            return c.mint(p["to"], amount, p["deposit_reference"], sender=sender)
        case "freeze":
            return c.freeze(p["account"], sender=sender)
        case "unfreeze":
            return c.unfreeze(p["account"], sender=sender)
        case "lien":
            return c.set_frozen_amount(p["account"], amount, sender=sender)
        case "seize":
            return c.seize(p["from"], p["to"], amount, p["order_reference"], sender=sender)
        case "recover":
            return c.recover_account(p["lost"], p["replacement"], sender=sender)
        case "pause":
            return c.pause(sender=sender)
        case "unpause":
            return c.unpause(sender=sender)
    raise DepositTokenError(f"unknown request kind {request.kind!r}")


@dataclass(frozen=True)
class Outcome:
    request_id: int
    status: str  # executed | failed | approved (not run: see message)
    message: str
    tx_hash: str | None = None
    block_number: int | None = None


def _finish(session: Session, request: Request, tx: Transaction, actor: str) -> Outcome:
    if tx.status == "mined":
        request.status = "executed"
        request.reason = None
    else:
        request.status = "failed"
        request.reason = f"transaction {tx.tx_hash} reverted"
    audit.record(session, actor, f"request.{request.status}", f"request {request.id}",
                 {"kind": request.kind, "digest": request.digest}, tx_hash=tx.tx_hash, block_number=tx.block_number)
    session.commit()
    return Outcome(request.id, request.status, request.reason or "done", tx.tx_hash, tx.block_number)


def _minted_elsewhere(ops: Ops, request: Request) -> tuple[str, int] | None:
    """For a mint whose deposit reference is already used on-chain: the transaction that used it."""
    ref = reference_to_bytes32(request.params["deposit_reference"])
    if not ops.client.contract.isDepositRefUsed(ref):
        return None
    for event in ops.client.events(["Minted"]):
        if bytes(event.args["depositRef"]) == ref:
            return event.transaction, event.block
    raise DepositTokenError(f"request #{request.id}: deposit reference used on-chain but no Minted event found")


def recover(session: Session, ops: Ops, actor: str) -> list[Outcome]:
    """Settles every request left ``executing`` by a crash (see ``outbox.resolve``); commits."""
    outcomes = []
    for request in session.scalars(select(Request).where(Request.status == "executing").order_by(Request.id)).all():
        tx = session.get(Transaction, request.tx_id) if request.tx_id else None
        if tx is not None:
            tx = outbox.resolve(session, tx)
            if tx.status in ("mined", "reverted"):
                outcomes.append(_finish(session, request, tx, actor))
                continue
        request.status, request.tx_id = "approved", None  # never sent, or provably never mined
        audit.record(session, actor, "request.recovered", f"request {request.id}",
                     {"void_tx": tx.tx_hash if tx is not None else None})
        session.commit()
        outcomes.append(Outcome(request.id, "approved", "not executed before the interruption: ready to run again"))
    return outcomes


def execute(session: Session, ops: Ops, request: Request, sender: Any, actor: str) -> Outcome:
    """Runs one approved request on-chain, exactly once; commits at every step."""
    if request.status != "approved":
        raise DepositTokenError(f"request #{request.id} is {request.status}, not approved")
    verify_request(ops, request)
    if request.kind == "mint" and (done := _minted_elsewhere(ops, request)) is not None:
        request.status, request.reason = "executed", f"deposit reference already minted by {done[0]}"
        audit.record(session, actor, "request.executed", f"request {request.id}", {"note": request.reason},
                     tx_hash=done[0], block_number=done[1])
        session.commit()
        return Outcome(request.id, "executed", request.reason, done[0], done[1])
    _claim(session, request)

    def link(tx: Transaction) -> None:
        request.tx_id = tx.id

    try:
        with outbox.attached(ops.client, session, purpose=f"request {request.id} {request.kind}", link=link):
            tx = _run(ops, request, sender)
    except DepositTokenError as exc:
        session.rollback()
        if request.tx_id is not None:  # signed and stored: its fate is for recover() to settle
            raise
        request.status, request.reason = "approved", first_line(exc)[:200]
        session.commit()
        return Outcome(request.id, "approved", f"not run: {first_line(exc)}")
    return _finish(session, request, tx, actor)


def _claim(session: Session, request: Request) -> None:
    """approved -> executing in one conditional UPDATE: of two executors racing for a request, one
    gets it and the other is refused before it signs anything."""
    claimed = session.execute(
        update(Request).where(Request.id == request.id, Request.status == "approved").values(status="executing")
    ).rowcount
    session.commit()
    session.refresh(request)
    if claimed != 1:
        raise DepositTokenError(f"request #{request.id} was taken by another executor (now {request.status})")


def pending_requests(session: Session, status: str | None = None) -> list[Request]:
    query = select(Request).order_by(Request.id)
    if status:
        query = query.where(Request.status == status)
    return list(session.scalars(query))
