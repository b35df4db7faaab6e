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
cancel     request, reason                       (ledger only: cancels an approved or failed request)
return     deposit_reference, reason             (ledger only: the deposit goes back to the payer)
=========  ====================================  =========

The parameters of each kind are a typed dataclass (``params``: ``MintParams``, ...), stored as the
JSON object the operators sign (``params.to_json``; amounts are minor units as decimal text,
references their text). A request above the policy's ``two_approvals_above`` needs two approvals.
Nothing runs unless, at execution time, the parameters still hash to the signed digest (for this
chain and token) and the maker's and every approver's signature check out. A ledger-only request
takes effect when it is approved (its status becomes ``executed``).

Lifecycle: pending -> approved | rejected; approved -> executing (an executor's lease) -> executed |
failed (reverted, or refused by the checks before anything was sent: set aside, not retried by
later runs unless named); approved or failed -> cancelled (a ``cancel`` request) | expired (approved
longer than the policy's ``approved_expire_hours``); a mint whose reference was minted on-chain with
other terms -> conflict. A mint whose deposit has a future value date is held (stays approved).
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from eth_utils import keccak
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..amounts import Money
from ..errors import DepositTokenError, first_line
from ..references import Reference
from ..token import TokenClient
from . import audit, operators, outbox
from . import params as request_params
from .context import IssuerContext
from .faults import checkpoint
from .models import Approval, Deposit, Request, Transaction, utcnow
from .params import (
    CancelParams,
    FreezeParams,
    LienParams,
    MintParams,
    PauseParams,
    RecoverParams,
    RequestParams,
    ReturnParams,
    SeizeParams,
    UnfreezeParams,
    UnpauseParams,
)
from .statuses import RequestKind, RequestStatus

# kind -> (its parameters' JSON names, the token role that sends it; None: ledger only)
KINDS: dict[str, tuple[tuple[str, ...], str | None]] = {
    kind: (cls.json_fields(), cls.SIGNER) for kind, cls in request_params.TYPES.items()
}
LEDGER_KINDS = (RequestKind.CANCEL, RequestKind.RETURN)  # take effect when approved; nothing is sent
CANCELLABLE = (RequestStatus.APPROVED, RequestStatus.FAILED)
# this process as an executor: host and pid let a later run on the same host see that it died
EXECUTOR = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[-80:]


def signer_role(kind: str) -> str | None:
    """The token role whose holder sends a request of ``kind`` (None: a ledger-only request)."""
    return KINDS[kind][1]


def normalize_params(kind: str, params: dict[str, Any] | RequestParams) -> dict[str, Any]:
    """Checks ``params`` for ``kind`` and gives the JSON object that is signed and stored
    (``params.parse`` then ``params.to_json``)."""
    return request_params.to_json(request_params.parse(kind, params))


def _digest(ops: IssuerContext, kind: str, params: dict[str, Any], nonce: str) -> str:
    body = json.dumps(
        {"chain_id": ops.chain_id, "token": ops.token, "kind": kind, "params": params, "nonce": nonce},
        sort_keys=True, separators=(",", ":"),
    )
    return "0x" + keccak(text=body).hex()


def _required_approvals(ops: IssuerContext, amount: int | None) -> int:
    """Approvals the policy requires for a request of ``amount`` minor units (None: no amount)."""
    threshold = ops.client.units(ops.policy.two_approvals_above, allow_zero=True)
    return 2 if amount is not None and amount > threshold else 1


DEAD = (RequestStatus.REJECTED, RequestStatus.CANCELLED, RequestStatus.EXPIRED)  # never ran and never will


def _mint_for_reference(session: Session, reference: Reference, *, live_only: bool = False) -> Request | None:
    """A mint request for the deposit ``reference`` (stored as its text in any case, or as its bytes32
    in hex); ``live_only``: not one rejected, cancelled or expired."""
    stored = func.lower(Request.params["deposit_reference"].as_string())
    query = select(Request).where(Request.kind == RequestKind.MINT, stored.in_([reference.key, reference.hex]))
    if live_only:
        query = query.where(Request.status.not_in(DEAD))
    return session.scalars(query.order_by(Request.id).limit(1)).first()


def propose(
    session: Session, ops: IssuerContext, kind: str, params: dict[str, Any] | RequestParams, maker: Any, *,
    deposit: Deposit | None = None,
) -> Request:
    """Records a request signed by ``maker`` (an ape account of a registered operator); ``params``:
    the typed parameters of ``kind`` (``params.MintParams``, ...) or their JSON names and values."""
    typed = request_params.parse(kind, params)
    clean = request_params.to_json(typed)
    amount = typed.minor_units
    operator = operators.operator_at(session, str(maker.address), may="request", action=kind, amount=amount)
    # A mint is bound to its deposit: the same deposit can never be proposed twice (unique digest);
    # an amended deposit (a new version) gets a mint of its own once the earlier ones are dead.
    amended = deposit is not None and deposit.supersedes_id is not None
    if isinstance(typed, MintParams):
        nonce = f"deposit:{typed.deposit_reference}" + (f":{deposit.id}" if amended else "")
    else:
        nonce = uuid.uuid4().hex
    if isinstance(typed, CancelParams):
        target = get_request(session, typed.request)
        if target.kind in LEDGER_KINDS or target.status not in CANCELLABLE:
            raise DepositTokenError(f"request #{target.id} is {target.status}: only an approved or failed request can be cancelled")
    digest = _digest(ops, kind, clean, nonce)
    if session.scalars(select(Request).where(Request.digest == digest)).first() is not None:
        raise DepositTokenError(f"this {kind} request exists already")
    if isinstance(typed, MintParams) and (other := _mint_for_reference(session, typed.deposit_reference, live_only=amended)):
        # the digest covers the amount and recipient too: a changed one must not make a second request
        raise DepositTokenError(
            f"deposit reference {typed.deposit_reference.text!r} has a mint request already (#{other.id})"
        )
    request = Request(
        kind=typed.kind,
        params=clean | {"nonce": nonce},
        digest=digest,
        amount=amount,
        deposit_id=deposit.id if deposit is not None else None,
        required_approvals=_required_approvals(ops, amount),
        status=RequestStatus.PENDING,
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


def decide(session: Session, request_id: int, checker: Any, *, approve: bool, reason: str | None = None) -> Request:
    """``checker`` (an ape account of a registered operator, not the maker) approves or rejects
    (``reason``: recorded with a rejection). A ledger-only request takes effect once approved; an
    approved ``operator`` request at once (``operators.apply_change``)."""
    request = get_request(session, request_id)
    permission = "operators" if request.kind == RequestKind.OPERATOR else request.kind
    operator = operators.operator_at(session, str(checker.address), may="approve", action=permission, amount=request.amount)
    if request.status != RequestStatus.PENDING:
        raise DepositTokenError(f"request #{request.id} is {request.status}, not pending")
    if operator.id == request.maker_id:
        raise DepositTokenError(f"operator {operator.name} made request #{request.id} and cannot approve or reject it")
    if any(a.operator_id == operator.id for a in request.approvals):
        raise DepositTokenError(f"operator {operator.name} has already decided on request #{request.id}")
    reason = " ".join((reason or "").split())[:160] or None
    if approve and request.kind == RequestKind.MINT and request.params["to"] == operator.address:
        raise DepositTokenError(f"operator {operator.name} cannot approve request #{request.id}: it mints to their own address")
    action = "approve" if approve else "reject"
    approval = Approval(request=request, operator_id=operator.id, decision=action,
                        signature=operators.sign(checker, action, request.digest))
    session.add(approval)
    session.flush()
    if not approve:
        request.status = RequestStatus.REJECTED
        request.reason = f"rejected by {operator.name}: {reason}" if reason else f"rejected by {operator.name}"
    elif sum(a.decision == "approve" for a in request.approvals) >= request.required_approvals:
        request.status, request.approved_at = RequestStatus.APPROVED, utcnow()
    audit.record(session, operator.name, f"request.{action}", f"request {request.id}",
                 {"digest": request.digest, "status": request.status} | ({"reason": reason} if reason else {}))
    if request.status == RequestStatus.APPROVED and request.kind in LEDGER_KINDS:
        _apply(session, request, operator.name)
    elif request.kind == RequestKind.OPERATOR and request.status == RequestStatus.APPROVED:
        verify_signatures(request)
        operators.apply_change(session, request, actor=operator.name)
    return request


def _apply(session: Session, request: Request, actor: str) -> None:
    """Gives an approved ledger-only request its effect (in the caller's transaction)."""
    p = request.parameters
    if isinstance(p, CancelParams):
        reason = f"cancelled by request #{request.id}: {p.reason}"[:200]
        done = session.execute(
            update(Request).where(Request.id == p.request, Request.status.in_(CANCELLABLE))
            .values(status=RequestStatus.CANCELLED, reason=reason, lease_owner=None, lease_expires=None)
        ).rowcount
        if done != 1:
            raise DepositTokenError(f"request #{p.request} is {get_request(session, p.request).status} now: it can no longer be cancelled")
        audit.record(session, actor, "request.cancelled", f"request {p.request}", {"by": request.id, "reason": p.reason})
    elif isinstance(p, ReturnParams):
        from .deposits import apply_return

        apply_return(session, p.deposit_reference.text, p.reason, actor=actor, request_id=request.id)
    request.status = RequestStatus.EXECUTED
    session.flush()


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


def verify_request(ops: IssuerContext, request: Request) -> None:
    """Everything ``execute`` runs is what was signed: the parameters hash to the signed digest (for
    this chain and token), the signatures check out, as many checkers approved as the policy
    requires for the signed amount, and every approver is still active and permitted to approve it."""
    params = dict(request.params)
    nonce = params.pop("nonce", None)
    try:
        typed = request_params.from_json(request.kind, params)  # refuses a stored form to_json does not write
    except (DepositTokenError, TypeError, ValueError, AttributeError):
        typed = None
    if not isinstance(nonce, str) or typed is None or _digest(ops, request.kind, params, nonce) != request.digest:
        raise DepositTokenError(
            f"request #{request.id}: its parameters are not the ones signed for token {ops.token} on chain "
            f"{ops.chain_id} (ledger tampered?)"
        )
    verify_signatures(request, _required_approvals(ops, getattr(typed, "minor_units", None)))
    counting, lapsed = 0, []  # an approval counts only while its operator may still give it
    for approval in request.approvals:
        if approval.decision == "approve":
            try:
                operators.check_may(approval.operator, may="approve", action=request.kind, amount=request.amount)
                counting += 1
            except DepositTokenError as exc:
                lapsed.append(f"the approval by {approval.operator.name} no longer counts ({exc})")
    if lapsed and counting < request.required_approvals:
        raise DepositTokenError(f"request #{request.id}: {'; '.join(lapsed)}: {counting} of {request.required_approvals} approvals")


def _run(c: TokenClient, request: Request, sender: Any) -> Any:
    """Calls the ``TokenClient`` operation for ``request`` (its checks first, then the transport).
    Amounts go to the client as ``Money`` in the token's minor units: no conversion on the way."""
    p = request.parameters

    def money(units: int) -> Money:
        return Money(units, c.currency, c.decimals)

    match p:
        case MintParams():
            return c.mint(p.to, money(p.amount), p.deposit_reference.text, sender=sender)
        case FreezeParams():
            return c.freeze(p.account, sender=sender)
        case UnfreezeParams():
            return c.unfreeze(p.account, sender=sender)
        case LienParams():
            return c.set_frozen_amount(p.account, money(p.amount), sender=sender)
        case SeizeParams():
            return c.seize(p.from_, p.to, money(p.amount), p.order_reference.text, sender=sender)
        case RecoverParams():
            return c.recover_account(p.lost, p.replacement, sender=sender)
        case PauseParams():
            return c.pause(sender=sender)
        case UnpauseParams():
            return c.unpause(sender=sender)
    raise DepositTokenError(f"unknown request kind {str(request.kind)!r}")


class ClaimRefused(DepositTokenError):
    """Another executor holds the request (or its lease was taken over): this one sends nothing."""


class Unsettled(DepositTokenError):
    """A transaction was signed and stored but its fate is unknown (the node went away): the run
    stops; the next run settles it (``recover``)."""


@dataclass(frozen=True)
class Outcome:
    request_id: int
    # executed | failed (set aside) | conflict | held | skipped | expired | approved (recovered: runs again)
    status: str
    message: str
    tx_hash: str | None = None
    block_number: int | None = None


def describe(outcome: Outcome) -> str:
    """One line for an outcome: ``request #N: status (message) tx 0x... block B``."""
    return (f"request #{outcome.request_id}: {outcome.status} ({outcome.message})"
            + (f" tx {outcome.tx_hash} block {outcome.block_number}" if outcome.tx_hash else ""))


FAILURES = ("failed", "conflict")  # outcomes that make a run's exit status non-zero


def _finish(session: Session, request: Request, tx: Transaction, actor: str, *, commit: bool = True) -> Outcome:
    request.lease_expires = None
    if tx.status == "mined":
        request.status = RequestStatus.EXECUTED
        request.reason = None
    else:
        request.status = RequestStatus.FAILED
        request.reason = f"transaction {tx.tx_hash} reverted"
    audit.record(session, actor, f"request.{request.status}", f"request {request.id}",
                 {"kind": request.kind, "digest": request.digest}, tx_hash=tx.tx_hash, block_number=tx.block_number)
    if commit:
        session.commit()
    return Outcome(request.id, request.status, request.reason or "done", tx.tx_hash, tx.block_number)


def _minted_elsewhere(ops: IssuerContext, request: Request) -> tuple[str, int, str, int] | None:
    """For a mint whose deposit reference is already used on-chain: the transaction that used it,
    its block, and the recipient and amount it minted."""
    p = request.parameters
    assert isinstance(p, MintParams)
    ref = p.deposit_reference.bytes32
    if not ops.client.contract.isDepositRefUsed(ref):
        return None
    for event in ops.client.events(["Minted"]):
        if bytes(event.args["depositRef"]) == ref:
            return event.transaction, event.block, str(event.args["to"]), int(event.args["amount"])
    raise DepositTokenError(f"request #{request.id}: deposit reference used on-chain but no Minted event found")


def _lease_live(request: Request, now: datetime) -> bool:
    """Whether another executor still holds ``request``: its lease has not expired and, if it ran on
    this host, its process is alive (a killed executor's requests are recovered at once)."""
    if request.lease_expires is None or request.lease_expires <= now or request.lease_owner == EXECUTOR:
        return False
    host, _, rest = (request.lease_owner or "").partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    return True


def _holder(request: Request) -> str:
    until = request.lease_expires.isoformat(timespec="seconds") if request.lease_expires else "?"
    return f"being executed by {request.lease_owner} (lease until {until})"


def recover(session: Session, ops: IssuerContext, actor: str, *, now: datetime | None = None) -> list[Outcome]:
    """Settles every request left ``executing`` by an executor that is gone (see ``outbox.resolve``);
    one a live executor holds is skipped, not reset. Commits."""
    now = now or utcnow()
    outcomes = []
    executing = session.scalars(select(Request).where(Request.status == RequestStatus.EXECUTING).order_by(Request.id)).all()
    orphans = [r for r in executing if not _lease_live(r, now)]
    # a whole batch left in flight is settled together (a block or two), not one receipt at a time
    outbox.resolve_many(session, [tx for r in orphans if r.tx_id and (tx := session.get(Transaction, r.tx_id)) is not None])
    for request in executing:
        if request not in orphans:
            outcomes.append(Outcome(request.id, "skipped", f"{_holder(request)}: left alone"))
            continue
        tx = session.get(Transaction, request.tx_id) if request.tx_id else None
        if tx is not None and tx.status in ("mined", "reverted"):
            outcomes.append(_finish(session, request, tx, actor))
            continue
        outcomes.append(_reset(session, request, tx, actor))
    return outcomes


def _reset(session: Session, request: Request, tx: Transaction | None, actor: str) -> Outcome:
    """An ``executing`` request whose transaction was never sent, or provably never mined (void),
    goes back to approved: conditional, in case another executor got there first. Commits."""
    owner = request.lease_owner
    reset = session.execute(
        update(Request).where(Request.id == request.id, Request.status == RequestStatus.EXECUTING,
                              Request.lease_owner.is_(None) if owner is None else Request.lease_owner == owner)
        .values(status=RequestStatus.APPROVED, tx_id=None, lease_owner=None, lease_expires=None)
    ).rowcount
    if reset != 1:
        session.rollback()
        return Outcome(request.id, "skipped", "taken over by another executor meanwhile")
    audit.record(session, actor, "request.recovered", f"request {request.id}",
                 {"void_tx": tx.tx_hash if tx is not None else None, "lease_owner": owner})
    session.commit()
    return Outcome(request.id, "approved", "not executed before the interruption: ready to run again")


def expire_approved(session: Session, ops: IssuerContext, actor: str, *, now: datetime | None = None) -> list[Outcome]:
    """Approved requests older than the policy's ``approved_expire_hours`` (a held mint: counted from
    its value date) become ``expired``; commits."""
    hours = ops.policy.approved_expire_hours
    if not hours:
        return []
    cutoff = (now or utcnow()) - timedelta(hours=hours)
    outcomes = []
    for request in pending_requests(session, RequestStatus.APPROVED):
        since = request.approved_at or request.updated_at
        if request.kind == RequestKind.MINT and request.deposit is not None:  # a held mint waits from its value date on
            since = max(since, datetime.combine(request.deposit.value_date, time(), UTC))
        if since > cutoff:
            continue
        reason = f"approved {since.isoformat(timespec='seconds')}, not executed within {hours} h"
        if session.execute(update(Request).where(Request.id == request.id, Request.status == RequestStatus.APPROVED)
                           .values(status=RequestStatus.EXPIRED, reason=reason)).rowcount != 1:
            session.rollback()
            continue
        audit.record(session, actor, "request.expired", f"request {request.id}", {"reason": reason})
        session.commit()
        outcomes.append(Outcome(request.id, "expired", reason))
    return outcomes


def _set_aside(session: Session, request: Request, actor: str, status: str, reason: str, **where: Any) -> Outcome:
    request.status, request.reason, request.lease_expires = status, reason[:200], None
    audit.record(session, actor, f"request.{status}", f"request {request.id}", {"kind": request.kind, "reason": reason},
                 tx_hash=where.get("tx_hash"), block_number=where.get("block_number"))
    session.commit()
    return Outcome(request.id, status, reason, where.get("tx_hash"), where.get("block_number"))


def _held(request: Request, today: date) -> Outcome | None:
    """A mint whose deposit's value date is after ``today`` waits for it."""
    if request.deposit is not None and request.deposit.value_date > today:
        return Outcome(request.id, "held", f"held until its value date {request.deposit.value_date}")
    return None


def _already_minted(session: Session, ops: IssuerContext, request: Request, actor: str) -> Outcome | None:
    """A mint whose deposit reference is used on-chain: executed if the Minted event has the
    request's terms, set aside as a conflict if not (commits); None if the reference is unused."""
    if (done := _minted_elsewhere(ops, request)) is None:
        return None
    tx_hash, block, to, amount = done
    p = request.parameters
    assert isinstance(p, MintParams)
    if to == p.to and amount == p.amount:
        request.status, request.reason = RequestStatus.EXECUTED, f"deposit reference already minted by {tx_hash}"
        audit.record(session, actor, "request.executed", f"request {request.id}", {"note": request.reason},
                     tx_hash=tx_hash, block_number=block)
        session.commit()
        return Outcome(request.id, "executed", request.reason, tx_hash, block)
    fmt = ops.client.format
    reason = (f"deposit reference already minted by {tx_hash} with different terms: {fmt(amount)} to {to}, "
              f"the request says {fmt(p.amount)} to {p.to}")
    return _set_aside(session, request, actor, "conflict", reason, tx_hash=tx_hash, block_number=block)


def execute(session: Session, ops: IssuerContext, request: Request, sender: Any, actor: str, *,
            owner: str | None = None, retry: bool = False) -> Outcome:
    """Runs one approved request on-chain, exactly once; commits at every step.

    ``retry``: a ``failed`` request runs again (named by the operator). A request whose checks refuse
    it before anything is sent is set aside as ``failed`` with the reason; one another executor holds
    is skipped; a mint before its deposit's value date is held."""
    if request.kind in LEDGER_KINDS:
        raise DepositTokenError(f"request #{request.id} is a {request.kind}: it takes effect when approved")
    if request.status == RequestStatus.EXECUTING:
        return Outcome(request.id, "skipped", _holder(request))
    if request.status != RequestStatus.APPROVED and not (retry and request.status == RequestStatus.FAILED):
        raise DepositTokenError(f"request #{request.id} is {request.status}, not approved")
    verify_request(ops, request)
    if request.kind == RequestKind.MINT and (outcome := _held(request, ops.today()) or _already_minted(session, ops, request, actor)):
        return outcome
    owner = owner or EXECUTOR
    claim(session, request, owner=owner, lease_seconds=ops.policy.execution_lease_seconds)

    def link(tx: Transaction) -> None:
        # the lease must still be ours when the signed transaction is stored: otherwise nothing is sent
        held = session.execute(
            update(Request).where(Request.id == request.id, Request.status == RequestStatus.EXECUTING, Request.lease_owner == owner)
            .values(tx_id=tx.id)
        ).rowcount
        if held != 1:
            raise ClaimRefused(f"request #{request.id}: lost its execution lease to another executor; nothing sent")

    try:
        client = ops.client.with_transport(outbox.transport(session, purpose=f"request {request.id} {request.kind}", link=link))
        tx = _run(client, request, sender)
    except ClaimRefused as exc:
        session.rollback()
        return Outcome(request.id, "skipped", str(exc))
    except DepositTokenError as exc:
        session.rollback()
        if request.tx_id is not None:  # signed and stored: its fate is for recover() to settle
            raise Unsettled(str(exc)) from None
        if request.lease_owner != owner or request.status != RequestStatus.EXECUTING:
            return Outcome(request.id, "skipped", f"request #{request.id}: lost its execution lease; nothing sent")
        return _set_aside(session, request, actor, "failed", f"not run: {first_line(exc)}")
    return _finish(session, request, tx, actor)


def execute_all(session: Session, ops: IssuerContext, requests: list[Request], sender: Any, actor: str, *,
                owner: str | None = None, retry: bool = False, progress: Any = None) -> list[Outcome]:
    """Runs ``requests``: one that cannot run is reported (failed, held, skipped) and the others still
    run; ``progress(1, line)`` after each (``describe``). Mints run pipelined (``execute_mints``) when the policy's ``max_in_flight`` is above 1, other
    kinds one after the other. Stops only when a signed transaction's fate is unknown (``Unsettled``)."""
    if ops.policy.max_in_flight > 1 and requests and all(r.kind == RequestKind.MINT for r in requests):
        try:
            ops.client.mint_budget(sender)
        except DepositTokenError:
            pass  # cannot mint at all (role, paused): each request is set aside with the reason, one by one
        else:
            return execute_mints(session, ops, requests, sender, actor, owner=owner, retry=retry, progress=progress)
    outcomes = []
    for request in requests:
        try:
            outcome = execute(session, ops, request, sender, actor, owner=owner, retry=retry)
        except Unsettled:
            raise
        except ClaimRefused as exc:
            session.rollback()
            outcome = Outcome(request.id, "skipped", str(exc))
        except DepositTokenError as exc:
            session.rollback()
            outcome = Outcome(request.id, "failed", first_line(exc))
        outcomes.append(outcome)
        if progress is not None:
            progress(1, describe(outcome))
    return outcomes


def execute_mints(session: Session, ops: IssuerContext, requests: list[Request], sender: Any, actor: str, *,
                  owner: str | None = None, retry: bool = False, progress: Any = None) -> list[Outcome]:
    """Runs approved mints with up to the policy's ``max_in_flight`` transactions in flight at once
    (``outbox.Pipeline``: consecutive nonces, each stored before any is broadcast), exactly once.

    Per round: the requests are checked as ``execute`` checks them (signatures, value date), simulated
    by the node in one request, claimed under this executor's lease, checked against the minter's
    allowance and the supply cap as the mints before them use it up, signed, stored (one commit) and
    broadcast; then receipts are recorded as blocks come, and the room they leave is filled again.
    A mint the token would refuse is set aside with the reason and does not stop the others."""
    owner = owner or EXECUTOR
    order = {r.id: i for i, r in enumerate(requests)}
    outcomes: list[Outcome] = []

    def report(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if progress is not None:
            progress(1, describe(outcome))

    budget = ops.client.mint_budget(sender)
    pipeline = outbox.Pipeline(session, sender)
    running: dict[int, Request] = {}  # transaction id -> its request
    todo = list(requests)
    try:
        while todo or pipeline.in_flight:
            room = ops.policy.max_in_flight - len(pipeline.in_flight)
            chunk, todo = todo[:room], todo[room:]
            if chunk:
                _send_mints(session, ops, pipeline, budget, chunk, actor, owner, retry, running, report)
            for tx in pipeline.settle():
                request = running.pop(tx.id)
                if tx.status == "void":  # its nonce went to another transaction: the mint runs again later
                    session.commit()
                    report(_reset(session, request, tx, actor))
                else:
                    report(_finish(session, request, tx, actor, commit=False))
            session.commit()
    except Unsettled:
        raise
    except DepositTokenError as exc:
        session.rollback()
        if running:  # signed and stored: their fate is for recover() to settle
            raise Unsettled(str(exc)) from None
        raise
    return sorted(outcomes, key=lambda o: order[o.request_id])


def _send_mints(session: Session, ops: IssuerContext, pipeline: outbox.Pipeline, budget: Any, chunk: list[Request], actor: str,
                owner: str, retry: bool, running: dict[int, Request], report: Any) -> None:
    """One round of ``execute_mints``: checks, simulates, claims, signs, stores and broadcasts ``chunk``."""
    today, ready = ops.today(), []
    for request in chunk:
        try:
            if request.status == RequestStatus.EXECUTING:
                report(Outcome(request.id, "skipped", _holder(request)))
                continue
            if request.status != RequestStatus.APPROVED and not (retry and request.status == RequestStatus.FAILED):
                raise DepositTokenError(f"request #{request.id} is {request.status}, not approved")
            verify_request(ops, request)
        except DepositTokenError as exc:
            session.rollback()
            report(Outcome(request.id, "failed", first_line(exc)))
            continue
        if held := _held(request, today):
            report(held)
        else:
            ready.append(request)
    if not ready:
        return
    mints = {r.id: r.parameters for r in ready}
    calls = [(p.to, p.amount, p.deposit_reference.bytes32) for p in mints.values() if isinstance(p, MintParams)]
    pipeline.refresh_fees()
    claimed = []
    for request, args, (gas, error) in zip(ready, calls, pipeline.simulate(ops.client.contract, "mint", calls), strict=True):
        if error is not None and (outcome := _already_minted(session, ops, request, actor)):
            report(outcome)
        elif not _claimed(session, request, owner, ops.policy.execution_lease_seconds):
            report(Outcome(request.id, "skipped", f"request #{request.id} was taken by another executor (now {request.status})"))
        else:
            claimed.append((request, args, gas, error))
    session.commit()
    sendable = []
    for request, args, gas, error in claimed:
        reason = (ops.client.mint_refusal(args[0], mints[request.id].deposit_reference.text) if error else None) or budget(args[1])
        if reason is None and error is not None:
            reason = f"the token would revert it ({error})"
        if reason is not None:
            report(_set_aside(session, request, actor, "failed", f"not run: {reason}"))
        else:
            sendable.append((request, args, gas))
    for request, args, gas in sendable:
        # the lease must still be ours when the signed transaction is stored (the row stays locked until the commit)
        if session.execute(update(Request).where(Request.id == request.id, Request.status == RequestStatus.EXECUTING,
                                                 Request.lease_owner == owner).values(lease_owner=owner)
                           .execution_options(synchronize_session=False)).rowcount != 1:
            report(Outcome(request.id, "skipped", f"request #{request.id}: lost its execution lease to another executor; nothing sent"))
            continue
        tx = pipeline.sign(ops.client.contract, "mint", args, gas, purpose=f"request {request.id} mint")
        session.flush()
        request.tx_id = tx.id
        running[tx.id] = request
    session.commit()
    checkpoint("after_sign")
    pipeline.broadcast()


def _claimed(session: Session, request: Request, owner: str, lease_seconds: int) -> bool:
    """approved (or failed, retried) -> executing under ``owner``'s lease, one conditional UPDATE (not committed)."""
    return session.execute(
        update(Request).where(Request.id == request.id, Request.status == request.status,
                              Request.status.in_((RequestStatus.APPROVED, RequestStatus.FAILED)))
        .values(status=RequestStatus.EXECUTING, lease_owner=owner[:80], lease_expires=utcnow() + timedelta(seconds=lease_seconds))
    ).rowcount == 1


def claim(session: Session, request: Request, *, owner: str, lease_seconds: int) -> None:
    """approved (or failed, retried) -> executing under ``owner``'s lease, in one conditional UPDATE:
    of two executors racing for a request, one gets it and the other is refused before it signs anything."""
    claimed = _claimed(session, request, owner, lease_seconds)
    session.commit()
    session.refresh(request)
    if not claimed:
        raise ClaimRefused(f"request #{request.id} was taken by another executor (now {request.status})")


def pending_requests(session: Session, status: str | None = None) -> list[Request]:
    query = select(Request).order_by(Request.id)
    if status:
        query = query.where(Request.status == status)
    return list(session.scalars(query))
