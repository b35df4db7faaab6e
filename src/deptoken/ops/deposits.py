"""Deposits the bank received, entered by hand, from a CSV file or from an ISO 20022 camt.054 credit
notification; each becomes a mint request (the maker is who records it) awaiting a checker.

All deposits of one input are checked first (known active client, the token's currency, amount
precision, a bank reference never seen before); one bad deposit records none of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import DepositTokenError
from . import workflow
from .context import Ops
from .csvfiles import parse_text, problems_summary
from .deposit_file import read_deposit_file
from .models import Client, Deposit, Request


@dataclass(frozen=True)
class DepositInput:
    bank_reference: str
    client_id: str
    amount: Decimal  # currency units
    currency: str
    value_date: date
    where: str  # "line 4", "entry 2", "command line"


def record_deposits(
    session: Session, ops: Ops, deposits: Sequence[DepositInput], maker: Any, *, source: str, label: str | None = None
) -> list[Request]:
    """Records ``deposits`` and a mint request for each, signed by ``maker``; all or nothing. Errors
    name ``label`` (the file's path as the operator gave it), else ``source`` (what the ledger stores)."""
    shown = label or source
    if not deposits:
        raise DepositTokenError(f"{shown}: no deposits")
    currency = ops.client.currency
    refs = [d.bank_reference for d in deposits]
    seen = set(session.scalars(select(Deposit.bank_reference).where(Deposit.bank_reference.in_(refs))))
    clients = {c.client_id: c for c in session.scalars(select(Client).where(Client.client_id.in_([d.client_id for d in deposits])))}
    problems, units = [], []
    for d in deposits:
        client = clients.get(d.client_id)
        try:
            parse_text(d.bank_reference, "bank_reference", 35)  # the ledger's column, as the files allow
            if d.bank_reference in seen:
                raise DepositTokenError(f"deposit {d.bank_reference!r} was already recorded (a replayed deposit)")
            if refs.count(d.bank_reference) > 1:
                raise DepositTokenError(f"deposit {d.bank_reference!r} appears twice")
            if client is None:
                raise DepositTokenError(f"unknown client {d.client_id!r}")
            if client.status != "active":
                raise DepositTokenError(f"client {d.client_id} is {client.status}, not active")
            if d.currency != currency:
                raise DepositTokenError(f"currency {d.currency} is not the token's {currency}")
            units.append(ops.client.units(d.amount))
        except DepositTokenError as exc:
            problems.append(f"{d.where}: {exc}")
    if problems:
        raise DepositTokenError(f"{shown}: {len(problems)} bad deposit(s), nothing recorded: " + "; ".join(problems[:20]))
    requests = []
    for d, amount in zip(deposits, units, strict=True):
        client = clients[d.client_id]
        deposit = Deposit(bank_reference=d.bank_reference, client=client, amount=amount, currency=d.currency,
                          value_date=d.value_date, source=source[:200])
        session.add(deposit)
        session.flush()
        params = {"to": client.address, "amount": amount, "deposit_reference": d.bank_reference}
        requests.append(workflow.propose(session, ops, "mint", params, maker, deposit=deposit))
    return requests


def _source(kind: str, path: Path) -> str:
    return f"{kind}:{path.name}:{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"


def from_csv(path: str | Path, currency: str) -> tuple[list[DepositInput], str]:
    """The deposits of a CSV file (``bank_reference,client_id,amount,currency,value_date``)."""
    path = Path(path)
    rows, problems = read_deposit_file(path, currency=currency)
    if problems:
        raise DepositTokenError(problems_summary(path, problems) + "; nothing recorded")
    inputs = [DepositInput(r.bank_reference, r.client_id, r.amount, r.currency, r.value_date, f"line {r.line}") for r in rows]
    return inputs, _source("csv", path)


def from_camt054(path: str | Path) -> tuple[list[DepositInput], str]:
    """The booked credits of a camt.054 notification (client id from the remittance information)."""
    from ..iso20022 import parse_camt054

    path = Path(path)
    if not path.is_file():
        raise DepositTokenError(f"camt.054 file {path} not found")
    entries = parse_camt054(path.read_bytes(), source=str(path))
    inputs = [
        DepositInput(e.bank_reference, e.client_id, e.amount, e.currency, e.value_date or e.booking_date, f"entry {e.entry}")
        for e in entries
    ]
    return inputs, _source("camt.054", path)
