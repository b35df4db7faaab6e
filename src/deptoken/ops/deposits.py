"""Deposits the bank received, entered by hand, from a CSV file or from an ISO 20022 camt.054 credit
notification; each becomes a mint request (the maker is who records it) awaiting a checker.

All deposits of one input are checked first (known active client, the token's currency, amount
precision, the policy's limits per deposit and per client per value date, the policy's value-date
rule, a bank reference never seen before); one bad deposit records none of them. Options:

* ``skip_known``: an entry recorded before with the same terms is reported as a duplicate and
  skipped (banks resend overlapping notifications); one whose known reference arrives with other
  terms is still bad.
* ``suspense``: a credit for an unknown client is parked in suspense instead of refusing the input;
  ``amend_deposit`` assigns it to a client later (a new mint request, maker-checker).

References are compared without regard to case: ``d-bom-1`` after ``D-BOM-1`` is the same deposit
(refused), because the on-chain reference hashes the exact text and would let both be minted.

A deposit whose mint request was rejected, cancelled or expired (or one in suspense) can be amended
(``amend_deposit``: a new version of the deposit superseding the old one, with its own mint request
for a checker) or returned to the payer (``propose_return``: a ``return`` request for a checker).
Every version stays in the ledger.

An amount arrives as ``Money`` (minor units, from the command line) or as the exact ``Decimal`` a
file holds (the CSV and camt.054 readers); ``intake`` turns it into minor units of the token once,
and it stays minor units from there: the ledger row, the mint request's parameters (``MintParams``),
the chain call (``workflow`` hands the token client a ``Money``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..amounts import Money
from ..errors import DepositTokenError
from ..references import Reference
from . import audit, operators, workflow
from .context import IssuerContext
from .csvfiles import parse_text, problems_summary
from .deposit_file import read_deposit_file
from .models import Client, Deposit, Request
from .params import MintParams
from .statuses import ClientStatus, DepositStatus, RequestStatus

LIVE = (DepositStatus.RECORDED, DepositStatus.SUSPENSE)  # deposit versions that count (not superseded, not returned)


@dataclass(frozen=True)
class DepositInput:
    """A deposit as received; ``amount`` is ``Money`` (minor units, as the command line gives it) or the
    exact ``Decimal`` of currency units a file holds (checked against the token's decimals)."""

    bank_reference: str
    client_id: str
    amount: Money | Decimal
    currency: str
    value_date: date
    where: str  # "line 4", "entry 2", "command line"

    def __post_init__(self) -> None:
        if isinstance(self.amount, Money) and self.amount.currency != self.currency:
            raise ValueError(f"{self.where}: amount in {self.amount.currency}, deposit in {self.currency}")


class DepositProblems(DepositTokenError):
    """An input with bad deposits: nothing was recorded; ``problems`` names each (``"entry 2: ..."``)."""

    def __init__(self, label: str, problems: list[str]) -> None:
        super().__init__(f"{label}: {len(problems)} bad deposit(s), nothing recorded: " + "; ".join(problems[:20]))
        self.problems = problems


@dataclass
class Intake:
    """What an input recorded: mint requests, known entries skipped, credits parked in suspense."""

    requests: list[Request] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # "entry 1: DEP-1"
    suspended: list[str] = field(default_factory=list)  # "entry 3: DEP-3 (unknown client 'C-9')"
    planned: list[Planned] = field(default_factory=list)  # a dry run: what would be recorded


@dataclass(frozen=True)
class Planned:
    """A deposit a dry run would record: its mint (``to`` None: parked in suspense)."""

    bank_reference: str
    client_id: str
    to: str | None
    amount: int  # minor units
    value_date: date


def _known(session: Session, refs: Sequence[str]) -> dict[str, list[Deposit]]:
    """Every recorded version of each reference in ``refs``, by lower-cased reference."""
    known: dict[str, list[Deposit]] = {}
    lowered = sorted({r.lower() for r in refs})
    for start in range(0, len(lowered), 500):
        query = select(Deposit).where(func.lower(Deposit.bank_reference).in_(lowered[start:start + 500])).order_by(Deposit.id)
        for deposit in session.scalars(query):
            known.setdefault(deposit.bank_reference.lower(), []).append(deposit)
    return known


def _client_id(deposit: Deposit) -> str:
    return deposit.client.client_id if deposit.client is not None else (deposit.client_ref or "?")


def _terms(ops: IssuerContext, client_id: str, units: int, value_date: date) -> str:
    return f"{ops.client.format(units)} to {client_id} value {value_date}"


def _day_totals(session: Session, keys: set[tuple[int, date]], *, excluding: int | None = None) -> dict[tuple[int, date], int]:
    """Minor units already recorded per (client, value date) among ``keys`` (live deposits only)."""
    totals: dict[tuple[int, date], int] = {}
    if not keys:
        return totals
    query = select(Deposit).where(Deposit.client_pk.in_({k[0] for k in keys}), Deposit.value_date.in_({k[1] for k in keys}),
                                  Deposit.status == DepositStatus.RECORDED)
    for d in session.scalars(query):
        if d.id != excluding and (d.client_pk, d.value_date) in keys:
            totals[(d.client_pk, d.value_date)] = totals.get((d.client_pk, d.value_date), 0) + d.amount
    return totals


def _limit_units(ops: IssuerContext, limit: object | None) -> int | None:
    return None if limit is None else ops.client.units(limit)


def intake(
    session: Session, ops: IssuerContext, deposits: Sequence[DepositInput], maker: Any, *, source: str, label: str | None = None,
    skip_known: bool = False, suspense: bool = False, replacing: Deposit | None = None, reason: str | None = None,
    dry_run: bool = False,
) -> Intake:
    """Records ``deposits`` and a mint request for each, signed by ``maker``; all or nothing (see the
    module docstring for ``skip_known`` and ``suspense``). ``replacing``: the deposit version the
    single input amends (``amend_deposit``). Errors name ``label`` (the file's path as the operator
    gave it), else ``source`` (what the ledger stores). ``dry_run``: every check, the maker's
    included, but nothing recorded or signed: ``planned`` lists what would be."""
    if not deposits:
        raise DepositTokenError(f"{label or source}: no deposits")
    policy, currency = ops.policy, ops.client.currency
    today = ops.today()
    known = _known(session, [d.bank_reference for d in deposits])
    if replacing is not None:
        known.pop(replacing.bank_reference.lower(), None)
    lowered = [d.bank_reference.lower() for d in deposits]
    clients = {c.client_id: c for c in session.scalars(select(Client).where(Client.client_id.in_([d.client_id for d in deposits])))}
    max_deposit, max_daily = _limit_units(ops, policy.max_deposit), _limit_units(ops, policy.max_client_daily)
    problems: list[str] = []
    accepted: list[tuple[DepositInput, int, Client | None]] = []
    result = Intake()
    for d in deposits:
        client = clients.get(d.client_id)
        try:
            parse_text(d.bank_reference, "bank_reference", 35)  # the ledger's column, as the files allow
            units = ops.client.units(d.amount)  # its minor units as they are (in the token's decimals)
            if d.currency != currency:
                raise DepositTokenError(f"currency {d.currency} is not the token's {currency}")
            if versions := known.get(d.bank_reference.lower()):
                first = versions[0].bank_reference
                if first != d.bank_reference:
                    raise DepositTokenError(f"deposit {d.bank_reference!r} was already recorded as {first!r} "
                                            "(references that differ only in case are the same deposit)")
                terms = _terms(ops, d.client_id, units, d.value_date)
                if not skip_known:
                    raise DepositTokenError(f"deposit {d.bank_reference!r} was already recorded (a replayed deposit)")
                if all(_terms(ops, _client_id(v), v.amount, v.value_date) != terms or v.currency != d.currency for v in versions):
                    was = _terms(ops, _client_id(versions[0]), versions[0].amount, versions[0].value_date)
                    raise DepositTokenError(f"deposit {d.bank_reference!r} was already recorded with different terms ({was}, now {terms})")
                result.duplicates.append(f"{d.where}: {d.bank_reference}")
                continue
            if lowered.count(d.bank_reference.lower()) > 1:
                twice = "appears twice" if [x.bank_reference for x in deposits].count(d.bank_reference) > 1 else "appears twice (ignoring case)"
                raise DepositTokenError(f"deposit {d.bank_reference!r} {twice}")
            if max_deposit is not None and units > max_deposit:
                raise DepositTokenError(f"amount {ops.client.format(units)} is above the policy's limit per deposit "
                                        f"({ops.client.format(max_deposit)})")
            if policy.value_date == "same_day_only" and d.value_date > today:
                raise DepositTokenError(f"value date {d.value_date} is after today ({today}): the policy takes same-day deposits only")
            if client is None:
                if not suspense:
                    raise DepositTokenError(f"unknown client {d.client_id!r}")
                result.suspended.append(f"{d.where}: {d.bank_reference} (unknown client {d.client_id!r})")
            elif client.status != ClientStatus.ACTIVE:
                raise DepositTokenError(f"client {d.client_id} is {client.status}, not active")
            accepted.append((d, units, client))
        except DepositTokenError as exc:
            problems.append(f"{d.where}: {exc}")
    if not problems and max_daily is not None:  # per client and value date, with what is recorded already
        keys = {(c.id, d.value_date) for d, _, c in accepted if c is not None}
        totals = _day_totals(session, keys, excluding=replacing.id if replacing is not None else None)
        for d, units, client in accepted:
            if client is None:
                continue
            key = (client.id, d.value_date)
            totals[key] = totals.get(key, 0) + units
            if totals[key] > max_daily:
                problems.append(f"{d.where}: client {client.client_id} would receive {ops.client.format(totals[key])} for "
                                f"{d.value_date}, above the policy's limit per client per day ({ops.client.format(max_daily)})")
    if problems:
        raise DepositProblems(label or source, problems)
    if dry_run:
        for d, units, client in accepted:
            if client is not None:
                operators.operator_at(session, str(maker.address), may="request", action="mint", amount=units)
            result.planned.append(Planned(d.bank_reference, d.client_id, client.address if client else None, units, d.value_date))
        return result
    for d, units, client in accepted:
        deposit = Deposit(bank_reference=d.bank_reference, client=client, client_ref=d.client_id, amount=units,
                          currency=d.currency, value_date=d.value_date, source=source[:200],
                          status=DepositStatus.RECORDED if client is not None else DepositStatus.SUSPENSE,
                          supersedes_id=replacing.id if replacing is not None else None, reason=reason)
        session.add(deposit)
        session.flush()
        if client is None:
            audit.record(session, operators.operator_at(session, str(maker.address), may="request").name,
                         "deposit.suspense", f"deposit {d.bank_reference}",
                         {"client_id": d.client_id, "amount": units, "value_date": d.value_date, "source": source})
            continue
        params = MintParams(client.address, units, Reference.parse(d.bank_reference, "deposit reference"))
        result.requests.append(workflow.propose(session, ops, "mint", params, maker, deposit=deposit))
    return result


def record_deposits(session: Session, ops: IssuerContext, deposits: Sequence[DepositInput], maker: Any, *, source: str,
                    label: str | None = None, skip_known: bool = False, suspense: bool = False) -> list[Request]:
    """Records ``deposits`` and a mint request for each, signed by ``maker``; all or nothing."""
    return intake(session, ops, deposits, maker, source=source, label=label, skip_known=skip_known, suspense=suspense).requests


# ---------------------------------------------------------------------------- corrections


def live_deposit(session: Session, reference: str) -> Deposit:
    """The current version of the deposit ``reference`` (any case)."""
    versions = _known(session, [reference.strip()]).get(reference.strip().lower(), [])
    live = [d for d in versions if d.status != DepositStatus.SUPERSEDED]
    if not live:
        raise DepositTokenError(f"no deposit {reference.strip()!r}")
    return live[-1]


def mint_of(session: Session, deposit: Deposit) -> Request | None:
    return session.scalars(select(Request).where(Request.deposit_id == deposit.id)).first()


def _correctable(session: Session, deposit: Deposit, what: str) -> None:
    """Refuses a correction of a deposit that is minted, returned, or whose mint may still run."""
    if deposit.status == DepositStatus.RETURNED:
        raise DepositTokenError(f"deposit {deposit.bank_reference!r} was returned: it cannot be {what}")
    request = mint_of(session, deposit)
    if request is None:
        return  # in suspense
    if request.status == RequestStatus.EXECUTED:
        raise DepositTokenError(f"deposit {deposit.bank_reference!r} is minted: it cannot be {what}")
    if request.status not in workflow.DEAD:
        raise DepositTokenError(f"deposit {deposit.bank_reference!r} has mint request #{request.id} {request.status}: "
                                "reject or cancel it first")


def amend_deposit(
    session: Session, ops: IssuerContext, reference: str, maker: Any, *, reason: str, client_id: str | None = None,
    amount: Money | Decimal | None = None, value_date: date | None = None,
) -> Request:
    """A new version of deposit ``reference`` (corrected client, amount or value date; a suspense
    credit's client), superseding the current one, with a mint request signed by ``maker`` for a
    checker. Only for a deposit not minted whose mint request is rejected, cancelled or expired, or
    one in suspense."""
    reason = " ".join(reason.split())
    if not reason:
        raise DepositTokenError("an amendment needs a reason")
    old = live_deposit(session, reference)
    _correctable(session, old, "amended")
    new = DepositInput(old.bank_reference, (client_id or _client_id(old)).strip(),
                       Money(old.amount, old.currency, ops.client.decimals) if amount is None else amount,
                       old.currency, value_date or old.value_date, "amendment")
    if (new.client_id, ops.client.units(new.amount), new.value_date) == (_client_id(old), old.amount, old.value_date) and old.client:
        raise DepositTokenError(f"deposit {old.bank_reference!r}: the amendment changes nothing")
    old.status = DepositStatus.SUPERSEDED
    session.flush()
    result = intake(session, ops, [new], maker, source=f"amend:{old.id}", replacing=old, reason=reason[:200])
    (request,) = result.requests
    audit.record(session, request.maker.name, "deposit.amend", f"deposit {old.bank_reference}",
                 {"reason": reason, "was": {"client_id": _client_id(old), "amount": old.amount, "value_date": old.value_date},
                  "now": {"client_id": new.client_id, "amount": request.amount, "value_date": new.value_date},
                  "request": request.id})
    return request


def propose_return(session: Session, ops: IssuerContext, reference: str, maker: Any, reason: str) -> Request:
    """A ``return`` request (for a checker): deposit ``reference``, never minted, goes back to the payer."""
    deposit = live_deposit(session, reference)
    _correctable(session, deposit, "returned")
    return workflow.propose(session, ops, "return", {"deposit_reference": deposit.bank_reference, "reason": reason}, maker)


def apply_return(session: Session, reference: str, reason: str, *, actor: str, request_id: int) -> None:
    """Marks deposit ``reference`` returned (an approved ``return`` request); checked again now."""
    deposit = live_deposit(session, reference)
    _correctable(session, deposit, "returned")
    deposit.status, deposit.reason = DepositStatus.RETURNED, reason[:200]
    audit.record(session, actor, "deposit.returned", f"deposit {deposit.bank_reference}",
                 {"reason": reason, "request": request_id, "amount": deposit.amount})


# ---------------------------------------------------------------------------- listing


@dataclass(frozen=True)
class DepositView:
    bank_reference: str
    client_id: str
    amount: int  # minor units
    value_date: date
    state: str  # recorded | held until <date> | suspense | superseded | returned
    request_id: int | None
    request_status: str | None
    source: str


def list_deposits(session: Session, ops: IssuerContext, *, held: bool = False, suspense: bool = False,
                  history: bool = False) -> list[DepositView]:
    """Deposits, newest version of each (``history``: every version); ``held``: only those waiting for
    their value date (not yet minted); ``suspense``: only credits whose client is unknown."""
    today = ops.today()
    query = select(Deposit).order_by(Deposit.id)
    if not history:
        query = query.where(Deposit.status != DepositStatus.SUPERSEDED)
    if suspense:
        query = query.where(Deposit.status == DepositStatus.SUSPENSE)
    if held:
        query = query.where(Deposit.status == DepositStatus.RECORDED, Deposit.value_date > today)
    requests = {r.deposit_id: r for r in session.scalars(select(Request).where(Request.deposit_id.is_not(None)))}
    views = []
    for d in session.scalars(query):
        request = requests.get(d.id)
        state = str(d.status)
        if d.status == "recorded" and d.value_date > today and (request is None or request.status != "executed"):
            state = f"held until {d.value_date}"
        if held and not state.startswith("held"):
            continue
        views.append(DepositView(d.bank_reference, _client_id(d), d.amount, d.value_date, state,
                                 request.id if request else None, request.status if request else None, d.source))
    return views


# ---------------------------------------------------------------------------- input files


def _source(kind: str, path: Path) -> str:
    return f"{kind}:{path.name}:{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"


def from_csv(path: str | Path, currency: str, *, label: str | None = None) -> tuple[list[DepositInput], str]:
    """The deposits of a CSV file (``bank_reference,client_id,amount,currency,value_date``); errors name
    ``label`` (default: the path)."""
    path = Path(path)
    rows, problems = read_deposit_file(path, currency=currency)
    if problems:
        raise DepositTokenError(problems_summary(label or path, problems) + "; nothing recorded")
    inputs = [DepositInput(r.bank_reference, r.client_id, r.amount, r.currency, r.value_date, f"line {r.line}") for r in rows]
    return inputs, _source("csv", path)


def from_camt054(path: str | Path, *, label: str | None = None) -> tuple[list[DepositInput], str]:
    """The booked credits of a camt.054 notification (client id from the remittance information);
    errors name ``label`` (default: the path)."""
    from ..iso20022 import parse_camt054

    path = Path(path)
    if not path.is_file():
        raise DepositTokenError(f"camt.054 file {path} not found")
    entries = parse_camt054(path.read_bytes(), source=label or str(path))
    inputs = [
        DepositInput(e.bank_reference, e.client_id, e.amount, e.currency, e.value_date or e.booking_date, f"entry {e.entry}")
        for e in entries
    ]
    return inputs, _source("camt.054", path)
