"""The event indexer: the token's events into the ledger, incrementally, in chunks, confirmed blocks
only, surviving reorgs; and the queries on them (account statements, supply history).

``sync`` takes blocks up to ``head - confirmations``, ``chunk_blocks`` per ``eth_getLogs`` call,
committing after each chunk with the hash of its last block. Before going on it checks that hash
against the chain: if the chain has replaced blocks already indexed (a reorg deeper than the
confirmations), it walks back through the stored block hashes to the last block both agree on,
drops everything indexed after it (redemptions already paid out are kept, marked ``orphaned``,
for the reconciliation to flag) and indexes the new blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.orm import Session

from ..errors import DepositTokenError
from .models import ChainEvent, Client, IndexedBlock, Redemption, SyncState
from .statuses import RedemptionStatus

if TYPE_CHECKING:
    from .context import IssuerContext

ZERO = "0x0000000000000000000000000000000000000000"
Progress = Callable[[int, int], None]  # (events in the chunk, blocks in the chunk)


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex() if isinstance(value, bytes | bytearray) else str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if abs(value) > 2**53 else value
    return value


class _Decoder:
    """Decodes the token's logs with its ABI (topic0 -> event)."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        from eth_utils import event_abi_to_log_topic
        from web3 import Web3

        self.codec = Web3().codec
        self.events = {"0x" + event_abi_to_log_topic(e).hex(): e for e in abi if e.get("type") == "event"}

    def decode(self, log: Any) -> tuple[str, dict[str, Any]] | None:
        from web3._utils.events import get_event_data

        topics = log["topics"]
        abi = self.events.get(_hex(topics[0])) if topics else None
        if abi is None:
            return None
        data = get_event_data(self.codec, abi, log)
        return abi["name"], dict(data["args"])


def _row(name: str, args: dict[str, Any], log: Any, timestamp: int) -> dict[str, Any]:
    sender = recipient = amount = reference = None
    if name == "Transfer":
        sender, recipient, amount = str(args["from"]), str(args["to"]), int(args["value"])
    elif name in ("Minted", "Redeemed", "Burned", "Seized"):
        amount = int(args["amount"])
        sender = str(args.get("account") or args.get("from") or args.get("minter"))
        recipient = str(args["to"]) if "to" in args else None
        reference = _hex(args.get("depositRef") or args.get("payoutRef") or args.get("burnRef") or args.get("legalOrderRef"))
    elif "account" in args:
        sender = str(args["account"])
    return {
        "block_number": int(log["blockNumber"]),
        "block_hash": _hex(log["blockHash"]),
        "timestamp": timestamp,
        "tx_hash": _hex(log["transactionHash"]),
        "log_index": int(log["logIndex"]),
        "name": name,
        "sender": sender,
        "recipient": recipient,
        "amount": amount,
        "reference": reference,
        "args": {k: _plain(v) for k, v in args.items()},
    }


@dataclass(frozen=True)
class SyncResult:
    from_block: int
    to_block: int  # the last block indexed (head - confirmations)
    head: int
    events: int
    reorg_from: int | None  # the first block dropped by a reorg, if one was found
    waiting: str | None = None  # the newest blocks not yet confirmed, if any (``unconfirmed``)


def _state(session: Session, ops: IssuerContext) -> SyncState:
    state = session.get(SyncState, ops.token)
    if state is None:
        raise DepositTokenError("the ledger is not bound to this token yet")
    return state


def _hash_at(w3: Any, number: int) -> str | None:
    """The hash of the chain's block ``number``; None if the chain has no such block (it is shorter
    since a reorg, or has not grown back to that height yet)."""
    from web3.exceptions import BlockNotFound

    try:
        return _hex(w3.eth.get_block(number)["hash"])
    except BlockNotFound:
        return None


def _rollback(session: Session, state: SyncState, w3: Any, floor: int) -> int | None:
    """If the chain no longer has the last indexed block, drops what came after the fork."""
    if not state.block_hash or _hash_at(w3, state.block_number) == state.block_hash:
        return None
    fork = floor
    for block in session.scalars(select(IndexedBlock).where(IndexedBlock.number > floor).order_by(IndexedBlock.number.desc())):
        if _hash_at(w3, block.number) == block.hash:
            fork = block.number
            break
    session.execute(delete(ChainEvent).where(ChainEvent.block_number > fork))
    session.execute(delete(IndexedBlock).where(IndexedBlock.number > fork))
    for redemption in session.scalars(select(Redemption).where(Redemption.block_number > fork)):
        if redemption.status == RedemptionStatus.RECORDED:
            session.delete(redemption)
        else:
            redemption.status = RedemptionStatus.ORPHANED  # paid or instructed: the reconciliation must flag it
    kept = session.get(IndexedBlock, fork)
    state.block_number, state.block_hash = fork, kept.hash if kept is not None else ""
    session.commit()
    return fork + 1


def _record_redemptions(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    clients = None
    for row in rows:
        if row["name"] != "Redeemed":
            continue
        if clients is None:
            clients = dict(session.execute(select(Client.address, Client.id)).all())
        # One redemption per holder and payout reference (the token refuses a reference twice), so
        # that is what identifies it: back after a reorg, its event usually has another log index.
        known = session.scalars(
            select(Redemption).where(Redemption.holder == row["sender"], Redemption.payout_ref == row["reference"])
        ).first()
        if known is not None:  # back after a reorg: what was paid stays paid
            known.status = (RedemptionStatus.PAID if known.paid_at else RedemptionStatus.INSTRUCTED if known.payout_file_id
                            else RedemptionStatus.RECORDED)
            known.tx_hash, known.log_index, known.block_number = row["tx_hash"], row["log_index"], row["block_number"]
            continue
        session.add(Redemption(
            tx_hash=row["tx_hash"], log_index=row["log_index"], block_number=row["block_number"], holder=row["sender"],
            client_pk=clients.get(row["sender"]), amount=row["amount"], payout_ref=row["reference"], status=RedemptionStatus.RECORDED,
        ))


def sync(session: Session, ops: IssuerContext, *, confirmations: int | None = None, progress: Progress | None = None) -> SyncResult:
    """Indexes confirmed blocks since the last sync (see the module docstring); commits per chunk."""
    from ..node import current

    w3 = current().web3
    confirmations = ops.policy.confirmations if confirmations is None else confirmations
    state = _state(session, ops)
    floor = ops.client.deployment.deploy_block - 1 if ops.client.deployment else -1
    reorg_from = _rollback(session, state, w3, floor)
    head = int(w3.eth.block_number)
    target = head - confirmations
    first = start = state.block_number + 1
    decoder = _Decoder(ops.client.deployment.abi if ops.client.deployment else ops.client.contract.abi)
    count = 0
    while start <= target:
        end = min(start + ops.policy.chunk_blocks - 1, target)
        logs = w3.eth.get_logs({"address": ops.token, "fromBlock": start, "toBlock": end})
        headers: dict[int, tuple[str, int]] = {}
        rows = []
        for log in logs:
            decoded = decoder.decode(log)
            if decoded is None:
                continue
            number = int(log["blockNumber"])
            if number not in headers:
                stamp = log.get("blockTimestamp")
                stamp = int(stamp, 16) if isinstance(stamp, str) else stamp
                if stamp is None:
                    stamp = int(w3.eth.get_block(number)["timestamp"])
                headers[number] = (_hex(log["blockHash"]), int(stamp))
            rows.append(_row(*decoded, log, headers[number][1]))
        last = w3.eth.get_block(end)
        headers[end] = (_hex(last["hash"]), int(last["timestamp"]))
        if rows:
            session.execute(insert(ChainEvent), rows)
            _record_redemptions(session, rows)
        known = set(session.scalars(select(IndexedBlock.number).where(IndexedBlock.number.in_(list(headers)))))
        session.execute(insert(IndexedBlock), [
            {"number": n, "hash": h, "timestamp": t} for n, (h, t) in headers.items() if n not in known
        ])
        state.block_number, state.block_hash = end, headers[end][0]
        session.commit()
        count += len(rows)
        if progress:
            progress(len(rows), end - start + 1)
        start = end + 1
    return SyncResult(first, state.block_number, head, count, reorg_from, unconfirmed(session, ops, confirmations=confirmations))


def unconfirmed(session: Session, ops: IssuerContext, *, confirmations: int | None = None) -> str | None:
    """What the index does not show yet, in one sentence (None: it is up to the node's head): blocks
    not synced, and the newest blocks, not yet ``confirmations`` deep, with how many of the token's
    events they hold and how many more blocks confirm the first of them. On an idle devnet no block
    follows a transaction: its events wait until that many blocks are mined."""
    from ..node import current

    w3 = current().web3
    confirmations = ops.policy.confirmations if confirmations is None else confirmations
    indexed, head = _state(session, ops).block_number, int(w3.eth.block_number)
    if indexed >= head:
        return None
    target = head - confirmations
    if indexed < target:
        return f"blocks {indexed + 1}..{target} are not indexed yet: run `deptoken sync`"
    first = indexed + 1
    events = len(w3.eth.get_logs({"address": ops.token, "fromBlock": first, "toBlock": head}))
    need = first + confirmations - head
    return (f"blocks {first}..{head} are not yet confirmed ({confirmations} confirmations) and hold {events} event(s) "
            f"of the token: block {first} is indexed once {need} more block(s) are mined")


# ---------------------------------------------------------------------- queries


def _day_bounds(first: date, last: date) -> tuple[int, int]:
    start = int(datetime.combine(first, time(), tzinfo=UTC).timestamp())
    end = int(datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC).timestamp())
    return start, end


@dataclass(frozen=True)
class StatementLine:
    block_number: int
    timestamp: int
    tx_hash: str
    log_index: int
    counterparty: str
    amount: int  # minor units, signed: + in, - out
    balance: int
    kind: str  # mint | redeem | burn | transfer in | transfer out | seized | recovered


@dataclass(frozen=True)
class Statement:
    account: str
    first: date
    last: date
    opening: int
    closing: int
    lines: list[StatementLine]
    synced_to: int


def _transfers_of(account: str) -> Any:
    return select(ChainEvent).where(ChainEvent.name == "Transfer", or_(ChainEvent.sender == account, ChainEvent.recipient == account))


def statement(session: Session, ops: IssuerContext, account: str, first: date, last: date) -> Statement:
    """``account``'s movements between ``first`` and ``last`` (UTC days, inclusive), from the index."""
    if last < first:
        raise DepositTokenError(f"the period ends ({last}) before it starts ({first})")
    start, end = _day_bounds(first, last)
    opening = 0
    for event in session.scalars(_transfers_of(account).where(ChainEvent.timestamp < start)):
        opening += event.amount if event.recipient == account else -event.amount
    seized = {e.tx_hash for e in session.scalars(select(ChainEvent).where(ChainEvent.name.in_(["Seized", "AccountRecovered"])))}
    balance, lines = opening, []
    query = _transfers_of(account).where(ChainEvent.timestamp >= start, ChainEvent.timestamp < end)
    for event in session.scalars(query.order_by(ChainEvent.block_number, ChainEvent.log_index)):
        incoming = event.recipient == account
        other = event.sender if incoming else event.recipient
        if other == ZERO:
            kind = "mint" if incoming else "redeem/burn"
        elif event.tx_hash in seized:
            kind = "legal transfer in" if incoming else "legal transfer out"
        else:
            kind = "transfer in" if incoming else "transfer out"
        amount = event.amount if incoming else -event.amount
        balance += amount
        lines.append(StatementLine(event.block_number, event.timestamp, event.tx_hash, event.log_index, str(other), amount, balance, kind))
    return Statement(account, first, last, opening, balance, lines, _state(session, ops).block_number)


@dataclass(frozen=True)
class SupplyDay:
    day: date
    issued: int  # minted
    retired: int  # redeemed or burned
    supply: int  # at the end of the day


def supply_history(session: Session, first: date | None = None, last: date | None = None) -> list[SupplyDay]:
    """Daily issuance, retirement and closing supply, from the indexed Transfer events."""
    days: dict[date, list[int]] = {}
    query = select(ChainEvent).where(ChainEvent.name == "Transfer", or_(ChainEvent.sender == ZERO, ChainEvent.recipient == ZERO))
    for event in session.scalars(query.order_by(ChainEvent.block_number, ChainEvent.log_index)):
        day = datetime.fromtimestamp(event.timestamp, UTC).date()
        issued_retired = days.setdefault(day, [0, 0])
        issued_retired[0 if event.sender == ZERO else 1] += event.amount
    supply, history = 0, []
    for day in sorted(days):
        issued, retired = days[day]
        supply += issued - retired
        if (first is None or day >= first) and (last is None or day <= last):
            history.append(SupplyDay(day, issued, retired, supply))
    return history


def indexed_balances(session: Session) -> dict[str, int]:
    """Every address's balance according to the indexed Transfer events (non-zero ones)."""
    balances: dict[str, int] = {}
    for sender, recipient, amount in session.execute(
        select(ChainEvent.sender, ChainEvent.recipient, ChainEvent.amount).where(ChainEvent.name == "Transfer")
    ):
        if sender != ZERO:
            balances[sender] = balances.get(sender, 0) - amount
        if recipient != ZERO:
            balances[recipient] = balances.get(recipient, 0) + amount
    return {a: b for a, b in balances.items() if b}

