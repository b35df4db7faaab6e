"""Bulk work on requests: choosing pending requests for one checker to approve (each still signed on
its own by ``workflow.decide``), and the dry run of an execution: what would be sent, what would be
held or refused, and whether the minter's allowance covers it. Nothing here records or sends anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import DepositTokenError, first_line
from . import operators, workflow
from .context import IssuerContext
from .models import Client, Operator, Request
from .status import eligible_checkers


@dataclass
class Selection:
    """Pending requests one checker may decide, with their totals, and those left out (and why)."""

    requests: list[Request] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "#12: made by ana"

    @property
    def total(self) -> int:
        return sum(r.amount or 0 for r in self.requests)

    def by_kind(self) -> dict[str, tuple[int, int]]:
        """kind -> (count, total minor units)."""
        kinds: dict[str, tuple[int, int]] = {}
        for r in self.requests:
            count, total = kinds.get(r.kind, (0, 0))
            kinds[r.kind] = (count + 1, total + (r.amount or 0))
        return kinds


def select_pending(session: Session, checker: str, *, ids: list[int] | None = None, kind: str | None = None,
                   client_id: str | None = None, maker: str | None = None) -> Selection:
    """The pending requests (``ids``, or every one matching ``kind``/``client_id``/``maker``) that the
    operator signing with ``checker`` may approve; the others are listed in ``skipped``."""
    me = operators.operator_at(session, checker, may="approve")
    query = select(Request).order_by(Request.id)
    if ids:
        query = query.where(Request.id.in_(ids))
        missing = sorted(set(ids) - set(session.scalars(select(Request.id).where(Request.id.in_(ids)))))
        if missing:
            raise DepositTokenError(f"no request #{missing[0]}")
    else:  # team changes only when asked for by kind
        query = query.where(Request.status == "pending", Request.kind == kind if kind else Request.kind != "operator")
    if kind:
        query = query.where(Request.kind == kind)
    if maker:
        query = query.where(Request.maker_id == operators.operator_named(session, maker).id)
    address = None
    if client_id:
        address = session.scalars(select(Client.address).where(Client.client_id == client_id)).first()
        if address is None:
            raise DepositTokenError(f"unknown client {client_id!r}")
    team = list(session.scalars(select(Operator)))
    chosen = Selection()
    for request in session.scalars(query):
        if address is not None and request.params.get("to") != address:
            continue
        if request.status != "pending":
            chosen.skipped.append(f"#{request.id}: {request.status}, not pending")
        elif request.maker_id == me.id:
            chosen.skipped.append(f"#{request.id}: made by {me.name}")
        elif me.name not in eligible_checkers(team, request):
            chosen.skipped.append(f"#{request.id}: {me.name} may not approve it (decided already, permissions, "
                                  "amount limit or a mint to their own address)")
        else:
            chosen.requests.append(request)
    return chosen


@dataclass(frozen=True)
class Step:
    request_id: int
    kind: str
    action: str  # send | held | refused
    detail: str  # why held or refused ("" when it would be sent)
    amount: int | None
    params: dict[str, Any]


@dataclass
class ExecutionPlan:
    """What `requests execute` would do now, without doing it."""

    steps: list[Step]
    sender: str
    paused: bool
    minting: int  # minor units of the mints that would be sent
    allowance: int | None  # the sender's minter allowance left (mints only)

    @property
    def allowance_ok(self) -> bool:
        return self.allowance is None or self.minting <= self.allowance


def plan_execution(session: Session, ops: IssuerContext, requests: list[Request], sender: str, *, today: date | None = None) -> ExecutionPlan:
    """The dry run of ``workflow.execute_all``: each request's checks (signatures, status, value date),
    the mints' total against ``sender``'s allowance, the token's pause state. Sends nothing."""
    today = today or ops.today()
    steps = []
    for request in requests:
        params = {k: v for k, v in request.params.items() if k != "nonce"}
        try:
            if request.status not in ("approved", "failed"):
                raise DepositTokenError(f"request #{request.id} is {request.status}, not approved")
            workflow.verify_request(ops, request)
        except DepositTokenError as exc:
            steps.append(Step(request.id, request.kind, "refused", first_line(exc), request.amount, params))
            continue
        if request.kind == "mint" and request.deposit is not None and request.deposit.value_date > today:
            steps.append(Step(request.id, request.kind, "held", f"held until its value date {request.deposit.value_date}",
                              request.amount, params))
        else:
            steps.append(Step(request.id, request.kind, "send", "", request.amount, params))
    minting = sum(s.amount or 0 for s in steps if s.kind == "mint" and s.action == "send")
    mints = any(s.kind == "mint" for s in steps)
    allowance = int(ops.client.contract.minterAllowance(sender)) if mints else None
    return ExecutionPlan(steps, sender, bool(ops.client.contract.paused()), minting, allowance)


def mint_allowance_check(session: Session, ops: IssuerContext, adding: int) -> dict[str, Any]:
    """Whether one minter's allowance covers the approved mints waiting plus ``adding`` minor units:
    ``{"waiting": ..., "adding": ..., "largest_allowance": ..., "minter": ..., "ok": ...}``."""
    from .status import token_state

    waiting = sum(r.amount or 0 for r in session.scalars(select(Request).where(Request.kind == "mint",
                                                                              Request.status.in_(("approved", "pending")))))
    allowances = token_state(ops.client).minter_allowances
    minter, largest = max(allowances.items(), key=lambda item: item[1]) if allowances else (None, 0)
    return {"waiting": waiting, "adding": adding, "largest_allowance": largest, "minter": minter,
            "ok": waiting + adding <= largest}
