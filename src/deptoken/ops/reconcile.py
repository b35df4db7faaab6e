"""Reconciliation of the chain with the ledger, and the daily camt.053 statement of the token
liability account.

At the indexer's last confirmed block ``B`` it compares:

* the total supply at ``B`` with what the ledger explains: deposits minted, plus interbank payments
  in, minus redemptions (paid, or awaiting payout), minus the bank's burns, minus interbank payments
  out (the networks of the policy's ``interbank_networks`` mint the payments in and burn those out,
  under the payment id), plus and minus the bank's own transfers from and to its other chains (its
  messenger, the policy's ``crosschain_messengers``, mints and burns them under the message id; that
  each one arrived once is ``deptoken xchain reconcile``'s to check);
* every holder's balance at ``B`` with the indexed events, and every holder with the client list;
* every ``Minted`` event with an executed mint request of a recorded deposit (same reference,
  amount and client), and every executed mint request with its ``Minted`` event;
* every ``Redeemed`` event with a recorded redemption, and no paid redemption orphaned by a reorg.

Each difference is listed with what explains it. ``ok`` is False when any is a mismatch (info lines,
such as redemptions awaiting payout or mints not yet confirmed, do not fail it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import DepositTokenError
from ..references import Reference
from . import audit
from .context import IssuerContext
from .indexer import ZERO, indexed_balances
from .models import ChainEvent, Client, IndexedBlock, Reconciliation, Redemption, Request, Statement, SyncState, Transaction


@dataclass(frozen=True)
class Finding:
    severity: str  # mismatch | info
    code: str
    subject: str
    detail: str


@dataclass
class ClientPosition:
    client_id: str
    address: str
    minted: int  # deposits minted to the client
    redeemed: int  # the client's redemptions (paid or not)
    transfers: int  # net transfers in (+) / out (-), legal transfers and interbank payments out included
    chain_balance: int
    interbank_in: int = 0  # interbank payments received from clients of other banks
    crosschain_in: int = 0  # the bank's messenger minted it: transfers from the bank's other chains (refunds too)

    @property
    def explained(self) -> int:
        return self.minted + self.interbank_in + self.crosschain_in - self.redeemed + self.transfers


@dataclass
class Report:
    block_number: int
    total_supply: int
    ledger_minted: int
    redemptions_paid: int
    redemptions_unpaid: int
    burned: int  # the bank's own burns
    interbank_in: int = 0  # minted by an interbank network: clients of other banks paid clients of this one
    interbank_out: int = 0  # burned by an interbank network: this bank's clients paid other banks' clients
    crosschain_in: int = 0  # minted by the bank's messenger: received from its other chains, or refunded
    crosschain_out: int = 0  # burned by the bank's messenger: sent to its other chains (`deptoken xchain reconcile`)
    clients: list[ClientPosition] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.severity == "mismatch" for f in self.findings)

    @property
    def ledger_liability(self) -> int:
        """Deposits minted, plus interbank payments in, minus interbank payments out and redemptions
        paid: what the bank's books owe the token holders and redeemers."""
        return (self.ledger_minted + self.interbank_in - self.interbank_out + self.crosschain_in - self.crosschain_out
                - self.redemptions_paid)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"], data["ledger_liability"] = self.ok, self.ledger_liability
        return data


def _mismatch(report: Report, code: str, subject: str, detail: str) -> None:
    report.findings.append(Finding("mismatch", code, subject, detail))


def _info(report: Report, code: str, subject: str, detail: str) -> None:
    report.findings.append(Finding("info", code, subject, detail))


def _indexed_block(session: Session, ops: IssuerContext) -> int:
    """The indexer's last block; refuses an index that has nothing yet."""
    state = session.get(SyncState, ops.token)
    if state is None or state.block_number < 0:
        raise DepositTokenError("nothing indexed yet: run `deptoken sync` first")
    return state.block_number


def reconcile(session: Session, ops: IssuerContext, *, actor: str) -> Report:
    """Reconciles at the indexer's last block (run ``indexer.sync`` first); records the result."""
    block = _indexed_block(session, ops)
    c, fmt = ops.client.contract, ops.client.format
    events = list(session.scalars(select(ChainEvent).where(ChainEvent.name.in_(["Minted", "Redeemed", "Burned"]))))
    networks = set(ops.policy.interbank_networks)  # their mints and burns are interbank payments
    messengers = set(ops.policy.crosschain_messengers)  # theirs are the bank's own transfers between its chains
    minted_events = {e.reference: e for e in events if e.name == "Minted" and e.sender not in networks | messengers}
    received: dict[str, int] = {}
    moved_in: dict[str, int] = {}
    for e in events:
        if e.name == "Minted" and e.sender in networks | messengers:
            into = received if e.sender in networks else moved_in
            into[str(e.recipient)] = into.get(str(e.recipient), 0) + e.amount
    interbank_out = sum(e.amount for e in events if e.name == "Burned" and e.sender in networks)
    crosschain_out = sum(e.amount for e in events if e.name == "Burned" and e.sender in messengers)
    burned = sum(e.amount for e in events if e.name == "Burned" and e.sender not in networks | messengers)
    redemption_rows = {(r.tx_hash, r.log_index): r for r in session.scalars(select(Redemption))}
    paid = sum(r.amount for r in redemption_rows.values() if r.status == "paid")
    unpaid = sum(r.amount for r in redemption_rows.values() if r.status in ("recorded", "instructed"))
    report = Report(block, int(c.totalSupply(block=block)), 0, paid, unpaid, burned, sum(received.values()), interbank_out,
                    sum(moved_in.values()), crosschain_out)

    # Mints: every executed request has its event, every event its request.
    mints = session.scalars(select(Request).where(Request.kind == "mint", Request.status.in_(["executed", "executing", "approved", "pending"])))
    matched: set[str] = set()
    minted_to: dict[str, int] = {}  # confirmed mints of recorded deposits, per recipient
    for request in mints:
        ref = Reference(request.params["deposit_reference"]).hex  # as the indexer stores the event's depositRef
        event = minted_events.get(ref)
        subject = f"deposit {request.params['deposit_reference']}"
        if request.status != "executed":
            if event is not None:
                _mismatch(report, "MINTED_NOT_RECORDED", subject, f"minted on chain in {event.tx_hash} but request #{request.id} is {request.status}: run `deptoken requests execute` to settle it")
                matched.add(ref)
            else:
                _info(report, "DEPOSIT_NOT_YET_MINTED", subject, f"request #{request.id} is {request.status}: the bank owes {fmt(request.amount)} not yet tokenised")
            continue
        if event is None:
            tx = session.get(Transaction, request.tx_id) if request.tx_id else None
            if tx is not None and tx.block_number is not None and tx.block_number > block:
                _info(report, "MINT_NOT_CONFIRMED", subject, f"minted in block {tx.block_number}, after the last confirmed block {block}")
            else:
                _mismatch(report, "MINT_MISSING_ON_CHAIN", subject, f"request #{request.id} is executed but no Minted event carries its reference")
            continue
        matched.add(ref)
        report.ledger_minted += request.amount
        minted_to[request.params["to"]] = minted_to.get(request.params["to"], 0) + request.amount
        if event.amount != request.amount or event.recipient != request.params["to"]:
            _mismatch(report, "MINT_DIFFERS", subject, f"ledger {fmt(request.amount)} to {request.params['to']}, chain {fmt(event.amount)} to {event.recipient}")
    for ref, event in minted_events.items():
        if ref not in matched:
            _mismatch(report, "MINT_WITHOUT_DEPOSIT", f"mint {event.tx_hash}", f"{fmt(event.amount)} minted to {event.recipient} (reference {ref}) with no deposit in the ledger")

    # Redemptions: every event recorded; nothing paid that the chain no longer has.
    for event in (e for e in events if e.name == "Redeemed"):
        if (event.tx_hash, event.log_index) not in redemption_rows:
            _mismatch(report, "REDEMPTION_NOT_RECORDED", f"redemption {event.tx_hash}", f"{fmt(event.amount)} by {event.sender}")
    for r in redemption_rows.values():
        subject = f"redemption {r.tx_hash}:{r.log_index}"
        if r.status == "orphaned":
            _mismatch(report, "PAYOUT_FOR_ORPHANED_REDEMPTION", subject, f"{fmt(r.amount)} instructed or paid, but a reorg removed the redemption")
        elif r.status in ("recorded", "instructed"):
            _info(report, "PAYOUT_PENDING", subject, f"{fmt(r.amount)} to {r.client.client_id if r.client else r.holder}: {r.status}, not yet paid")

    # Supply: what the ledger explains.
    explained = (report.ledger_minted + report.interbank_in - paid - unpaid - burned - interbank_out
                 + report.crosschain_in - crosschain_out)
    if report.total_supply != explained:
        interbank = (f" + interbank in {fmt(report.interbank_in)} - interbank out {fmt(interbank_out)}"
                     if report.interbank_in or interbank_out else "")
        interbank += (f" + cross-chain in {fmt(report.crosschain_in)} - cross-chain out {fmt(crosschain_out)}"
                      if report.crosschain_in or crosschain_out else "")
        _mismatch(report, "SUPPLY", "total supply", f"chain {fmt(report.total_supply)}, ledger explains {fmt(explained)} (minted {fmt(report.ledger_minted)}{interbank} - paid {fmt(paid)} - awaiting payout {fmt(unpaid)} - burned {fmt(burned)})")

    # Holders: chain balance = indexed balance; every holder a client; per-client breakdown.
    indexed = indexed_balances(session)
    clients = {cl.address: cl for cl in session.scalars(select(Client))}
    redeemed_by, moved = _movements(session)
    holders = sorted(set(indexed) | set(clients))
    balances = ops.client.balances_at(holders, block)
    for address in holders:
        balance = balances[address]
        if balance != indexed.get(address, 0):
            _mismatch(report, "BALANCE_INDEX", address, f"chain {fmt(balance)}, indexed events {fmt(indexed.get(address, 0))}")
        client = clients.get(address)
        if client is None:
            if balance:
                _mismatch(report, "UNKNOWN_HOLDER", address, f"holds {fmt(balance)} but is no client in the ledger")
            continue
        report.clients.append(ClientPosition(client.client_id, address, minted_to.get(address, 0),
                                             redeemed_by.get(address, 0), moved.get(address, 0), balance, received.get(address, 0),
                                             moved_in.get(address, 0)))
    for position in report.clients:
        if position.explained != position.chain_balance:
            _mismatch(report, "CLIENT_BALANCE", position.client_id, f"chain {fmt(position.chain_balance)}, ledger explains {fmt(position.explained)}")

    session.add(Reconciliation(block_number=block, ok=report.ok, report=report.as_dict()))
    audit.record(session, actor, "reconcile", f"block {block}", {"ok": report.ok, "mismatches": sum(f.severity == "mismatch" for f in report.findings)})
    return report


def _movements(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    """Per address, from the index: its redemptions and its net transfers."""
    redeemed: dict[str, int] = {}
    for r in session.scalars(select(Redemption).where(Redemption.status != "orphaned")):
        redeemed[r.holder] = redeemed.get(r.holder, 0) + r.amount
    moved: dict[str, int] = {}
    query = select(ChainEvent.sender, ChainEvent.recipient, ChainEvent.amount).where(
        ChainEvent.name == "Transfer", ChainEvent.sender != ZERO, ChainEvent.recipient != ZERO
    )
    for sender, recipient, amount in session.execute(query):
        moved[sender] = moved.get(sender, 0) - amount
        moved[recipient] = moved.get(recipient, 0) + amount
    return redeemed, moved


def issue_camt053(session: Session, ops: IssuerContext, day: date, report: Report, path: str | Path, *, actor: str = "reconcile") -> Path:
    """Writes the camt.053 statement for ``day`` to ``path`` if ``report`` (the reconciliation just
    made) passed, and records it (commits): its message and statement id ``DTS-YYYYMMDD-N`` and its
    electronic sequence number carry the ledger's sequence ``N``, unique however many are written a
    day. The file is written before it is recorded; after a mismatch nothing is written or recorded."""
    if not report.ok:
        mismatches = sum(f.severity == "mismatch" for f in report.findings)
        raise DepositTokenError(f"camt.053 statement not written: the reconciliation at block {report.block_number} found "
                                f"{mismatches} mismatch(es) (see `deptoken reconcile`)")
    record = Statement(day=day, message_id=f"DTS-{day:%Y%m%d}-pending", block_number=report.block_number, reconciled=True)
    session.add(record)
    session.flush()  # the id: the sequence
    record.message_id = f"DTS-{day:%Y%m%d}-{record.id}"
    data = camt053_statement(session, ops, day, sequence=record.id, statement_id=record.message_id)
    audit.record(session, actor, "camt053.issue", record.message_id, {"day": day, "block": report.block_number,
                                                                      "path": str(Path(path).resolve())})
    path = Path(path)
    try:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except BaseException:
        session.rollback()
        raise
    session.commit()
    return path


def camt053_statement(
    session: Session, ops: IssuerContext, day: date, *, sequence: int | None = None, statement_id: str | None = None
) -> bytes:
    """The token liability account's statement for ``day`` (UTC) as ISO 20022 camt.053, from the index:
    opening and closing supply, one entry per mint (credit) and per redemption or burn (debit); an
    interbank payment's mint or burn says so, with the payment's reference (``paymentReference(payer, id)``,
    the token reference of both legs: the same value in both banks' statements).
    ``issue_camt053`` writes and records one with a unique id."""
    from ..iso20022 import Party, StatementEntry, build_camt053

    start = datetime.combine(day, time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    indexed_to = session.get(IndexedBlock, _indexed_block(session, ops))
    if indexed_to is None or indexed_to.timestamp < int(start.timestamp()):
        raise DepositTokenError(f"the index does not reach {day} yet: run `deptoken sync` first")
    end = min(end, datetime.fromtimestamp(indexed_to.timestamp + 1, UTC))  # a day in progress: up to the last indexed block
    opening, moved, entries = 0, 0, []
    networks = list(ops.policy.interbank_networks)
    interbank = {(e.tx_hash, e.name): e.reference for e in session.scalars(  # payments in (Minted) and out (Burned)
        select(ChainEvent).where(ChainEvent.name.in_(["Minted", "Burned"]), ChainEvent.sender.in_(networks)))}
    crosschain = {(e.tx_hash, e.name): e.reference for e in session.scalars(  # the messenger's: transfers in and out
        select(ChainEvent).where(ChainEvent.name.in_(["Minted", "Burned"]), ChainEvent.sender.in_(list(ops.policy.crosschain_messengers))))}
    query = select(ChainEvent).where(ChainEvent.name == "Transfer", (ChainEvent.sender == ZERO) | (ChainEvent.recipient == ZERO))
    for e in session.scalars(query.order_by(ChainEvent.block_number, ChainEvent.log_index)):
        signed = e.amount if e.sender == ZERO else -e.amount
        when = datetime.fromtimestamp(e.timestamp, UTC)
        if when < start:
            opening += signed
        elif when < end:
            moved += signed
            payment = interbank.get((e.tx_hash, "Minted" if signed > 0 else "Burned"))
            message = crosschain.get((e.tx_hash, "Minted" if signed > 0 else "Burned"))
            kind = ("Mint" if signed > 0 else "Redemption/burn") if payment is None else (
                f"Interbank payment {'in' if signed > 0 else 'out'} {payment}")
            if message is not None:
                kind = f"Cross-chain transfer {'in' if signed > 0 else 'out'}, message {message}"
            entries.append(StatementEntry(
                reference=f"{e.tx_hash}:{e.log_index}", amount=ops.client.to_decimal(e.amount), credit=signed > 0, booking=when,
                description=f"{kind} block {e.block_number}", payment_reference=payment,
            ))
    return build_camt053(
        statement_id=statement_id or f"DTS-{day:%Y%m%d}", created=datetime.now(UTC).replace(microsecond=0),
        account=Party(name=f"{ops.client.symbol} deposit token liability", account=ops.policy.liability_account),
        servicer=ops.bank(), currency=ops.client.currency,
        period_start=start, period_end=end - timedelta(seconds=1),
        opening=ops.client.to_decimal(opening), closing=ops.client.to_decimal(opening + moved), entries=entries, sequence=sequence,
    )
