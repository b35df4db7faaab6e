"""Lists at bank scale and the daily report: filters (status, kind, client, date range) applied in
the database, paging (``Page``), and the day's issuance and payouts from the index and the ledger.
Ledger-only: no node. Amounts are minor units."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..errors import DepositTokenError
from .indexer import ZERO
from .models import AuditEntry, ChainEvent, Client, PayoutFile, Redemption, Request

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """Which rows to show: page ``number`` (from 1) of ``size`` rows; ``size`` None: every row."""

    number: int = 1
    size: int | None = None

    def slice(self, rows: list[T]) -> list[T]:
        if self.size is None:
            return rows
        start = (self.number - 1) * self.size
        return rows[start:start + self.size]


@dataclass(frozen=True)
class Listing:
    rows: list[Any]
    total: int  # rows matching the filters, on every page
    page: Page


def _bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """UTC datetimes of the start of ``first`` and the end of ``last`` (inclusive days)."""
    if first and last and last < first:
        raise DepositTokenError(f"the period ends ({last}) before it starts ({first})")
    start = datetime.combine(first, time(), UTC) if first else None
    end = datetime.combine(last + timedelta(days=1), time(), UTC) if last else None
    return start, end


def paged(session: Session, query: Select[Any], page: Page) -> Listing:
    """``query``'s rows of ``page`` and how many match in all (one count query, one page query)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    if page.size is not None:
        query = query.offset((page.number - 1) * page.size).limit(page.size)
    return Listing(list(session.scalars(query)), total, page)


def client_address(session: Session, client_id: str) -> str:
    address = session.scalars(select(Client.address).where(Client.client_id == client_id)).first()
    if address is None:
        raise DepositTokenError(f"unknown client {client_id!r}")
    return address


def list_clients(session: Session, *, status: str | None = None, client_id: str | None = None, first: date | None = None,
                 last: date | None = None, page: Page = Page()) -> Listing:
    """Clients by id; ``first``/``last``: onboarded (recorded) in that period."""
    start, end = _bounds(first, last)
    query = select(Client).order_by(Client.id)
    if status:
        query = query.where(Client.status == status)
    if client_id:
        query = query.where(Client.client_id == client_id)
    if start:
        query = query.where(Client.created_at >= start)
    if end:
        query = query.where(Client.created_at < end)
    return paged(session, query, page)


def search_clients(session: Session, text: str, *, page: Page = Page(size=50)) -> Listing:
    """Clients whose id starts with ``text``, whose legal name contains it (any case), or at the
    address ``text`` (any case); every client for an empty ``text``."""
    text = text.strip()
    query = select(Client).order_by(Client.client_id)
    if text:
        like = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Client.client_id.startswith(text, autoescape=True)
                            | func.lower(Client.legal_name).like(f"%{like.lower()}%", escape="\\")
                            | (func.lower(Client.address) == text.lower()))
    return paged(session, query, page)


@dataclass(frozen=True)
class Movement:
    """One indexed event that moved a client's tokens: mint, redemption, transfer in or out, burn."""

    block_number: int
    timestamp: int
    tx_hash: str
    kind: str  # mint | redeem | transfer in | transfer out | burn | seized | ...
    counterparty: str | None
    amount: int  # minor units, signed: + received, - paid or burned
    reference: str | None


def client_history(session: Session, address: str, *, limit: int = 200) -> list[Movement]:
    """The newest ``limit`` token movements of ``address`` from the index (Transfer events), newest first."""
    query = (select(ChainEvent).where(ChainEvent.name == "Transfer", (ChainEvent.sender == address) | (ChainEvent.recipient == address))
             .order_by(ChainEvent.block_number.desc(), ChainEvent.log_index.desc()).limit(limit))
    events = list(session.scalars(query))
    refs = {(e.tx_hash): e.reference for e in session.scalars(select(ChainEvent).where(
        ChainEvent.tx_hash.in_({e.tx_hash for e in events}), ChainEvent.reference.is_not(None)))} if events else {}
    names = {e.tx_hash: e.name for e in session.scalars(select(ChainEvent).where(
        ChainEvent.tx_hash.in_({e.tx_hash for e in events}), ChainEvent.name != "Transfer"))} if events else {}
    moves = []
    for e in events:
        incoming = e.recipient == address
        if e.sender == ZERO:
            kind = "mint"
        elif e.recipient == ZERO:
            kind = {"Redeemed": "redemption", "Burned": "burn"}.get(names.get(e.tx_hash, ""), "burn")
        else:
            kind = "transfer in" if incoming else "transfer out"
        moves.append(Movement(e.block_number, e.timestamp, e.tx_hash, kind, e.sender if incoming else e.recipient,
                              e.amount if incoming else -(e.amount or 0), refs.get(e.tx_hash)))
    return moves


def list_requests(session: Session, *, status: str | None = None, kind: str | None = None, client_id: str | None = None,
                  first: date | None = None, last: date | None = None, page: Page = Page()) -> Listing:
    """Requests by id; ``client_id``: mints to that client; ``first``/``last``: made in that period."""
    start, end = _bounds(first, last)
    query = select(Request).order_by(Request.id)
    if status:
        query = query.where(Request.status == status)
    if kind:
        query = query.where(Request.kind == kind)
    if client_id:
        query = query.where(Request.params["to"].as_string() == client_address(session, client_id))
    if start:
        query = query.where(Request.created_at >= start)
    if end:
        query = query.where(Request.created_at < end)
    return paged(session, query, page)


def list_audit(session: Session, *, action: str | None = None, actor: str | None = None, subject: str | None = None,
               first: date | None = None, last: date | None = None, page: Page = Page(size=50)) -> Listing:
    """Audit entries, newest first; ``action``: exact or a prefix ending in ``.`` (``request.``)."""
    start, end = _bounds(first, last)
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if action:
        query = query.where(AuditEntry.action.startswith(action) if action.endswith(".") else AuditEntry.action == action)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if subject:
        query = query.where(AuditEntry.subject == subject)
    if start:
        query = query.where(AuditEntry.at >= start)
    if end:
        query = query.where(AuditEntry.at < end)
    return paged(session, query, page)


@dataclass(frozen=True)
class Flow:
    count: int
    total: int  # minor units


@dataclass(frozen=True)
class DailyReport:
    """One UTC day's issuance and payouts: from the indexed events (mints, redemptions, burns,
    supply) and the ledger (payout files exported, payouts marked paid)."""

    day: date
    indexed_to: int | None  # the index's last block: a day after it is incomplete
    mints: Flow
    redemptions: Flow
    burns: Flow
    payouts_exported: Flow  # payout files written that day
    payouts_paid: Flow  # redemptions marked paid that day
    supply_open: int
    supply_close: int

    def rows(self) -> list[tuple[str, int, int]]:
        """(item, count, minor units) for a table or a CSV file."""
        return [("mints", self.mints.count, self.mints.total), ("redemptions", self.redemptions.count, self.redemptions.total),
                ("burns", self.burns.count, self.burns.total),
                ("payouts exported", self.payouts_exported.count, self.payouts_exported.total),
                ("payouts paid", self.payouts_paid.count, self.payouts_paid.total),
                ("supply open", 0, self.supply_open), ("supply close", 0, self.supply_close)]


def daily_report(session: Session, day: date) -> DailyReport:
    """The issuance and payout report of ``day`` (UTC)."""
    from .models import SyncState

    start, end = _bounds(day, day)
    assert start is not None and end is not None
    lo, hi = int(start.timestamp()), int(end.timestamp())

    def flow(name: str) -> Flow:
        amounts = list(session.scalars(select(ChainEvent.amount).where(ChainEvent.name == name, ChainEvent.timestamp >= lo,
                                                                       ChainEvent.timestamp < hi)))
        return Flow(len(amounts), sum(amounts))

    open_, close = 0, 0
    for sender, amount, stamp in session.execute(select(ChainEvent.sender, ChainEvent.amount, ChainEvent.timestamp).where(
            ChainEvent.name == "Transfer", (ChainEvent.sender == ZERO) | (ChainEvent.recipient == ZERO), ChainEvent.timestamp < hi)):
        signed = amount if sender == ZERO else -amount
        close += signed
        if stamp < lo:
            open_ += signed
    files = list(session.scalars(select(PayoutFile).where(PayoutFile.created_at >= start, PayoutFile.created_at < end)))
    paid = list(session.scalars(select(Redemption.amount).where(Redemption.status == "paid", Redemption.paid_at >= start,
                                                                Redemption.paid_at < end)))
    state = session.scalars(select(SyncState).limit(1)).first()
    return DailyReport(day, state.block_number if state and state.block_number >= 0 else None, flow("Minted"), flow("Redeemed"),
                       flow("Burned"), Flow(sum(f.count for f in files), sum(f.total for f in files)), Flow(len(paid), sum(paid)),
                       open_, close)
