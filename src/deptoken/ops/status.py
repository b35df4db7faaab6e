"""Status at a glance: what waits for whom, what is in flight, how far the index is, and the token's
state, in one call (``status``). The CLI (`deptoken status`), the ``ape run status`` script and a
web console show the same ``Status``.

It reads the ledger with a few aggregate queries and the node with one JSON-RPC batch (head, total
supply, pause state, the minter role's grants) and one for the minters' allowances (``token_state``),
so its cost does not grow with the number of clients on the node side. Amounts are minor units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from eth_utils import keccak, to_checksum_address
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..errors import DepositTokenError
from ..token.rate_limits import RateLimit, read_rate_limits
from ..roles import ROLES
from .indexer import ZERO
from .models import ChainEvent, Client, Deposit, InterbankPaymentRecord, Operator, Reconciliation, Request, SyncState, Transaction

AGES = (("under 1 h", timedelta(hours=1)), ("1 h to 1 day", timedelta(days=1)), ("1 to 7 days", timedelta(days=7)),
        ("over 7 days", None))
EXPIRY_DAYS = 30  # allowlist entries expiring within this many days are listed
NO_CHECKER = "(no eligible checker)"
_ROLE_EVENTS = {"0x" + keccak(text=f"{name}(bytes32,address,address)").hex(): name for name in ("RoleGranted", "RoleRevoked")}


@dataclass(frozen=True)
class TokenState:
    """What the node says now: its head, the token's supply and pause state, each minter's allowance left."""

    head: int
    total_supply: int
    paused: bool
    minter_allowances: dict[str, int]
    minter_rate_limits: dict[str, RateLimit] = field(default_factory=dict)  # on-chain rate limits, besides the allowances


@dataclass
class Queue:
    """Requests in one state: how many, their total amount, by kind, the oldest."""

    count: int = 0
    total: int = 0  # minor units of the requests that carry an amount
    by_kind: dict[str, int] = field(default_factory=dict)
    oldest_id: int | None = None
    oldest_at: datetime | None = None


@dataclass
class Pending(Queue):
    by_age: dict[str, int] = field(default_factory=lambda: {label: 0 for label, _ in AGES})
    by_checker: dict[str, int] = field(default_factory=dict)  # operator who may approve -> requests; NO_CHECKER: none may


@dataclass
class Approved(Queue):
    held: int = 0  # mints waiting for their deposit's value date


@dataclass(frozen=True)
class Expiring:
    client_id: str
    address: str
    review_date: date  # the allowlist entry ends with this day


@dataclass(frozen=True)
class LastReconciliation:
    at: datetime
    block_number: int
    ok: bool
    mismatches: int
    interbank_in: int = 0  # minor units, as that reconciliation found them (``reconcile.Report``)
    interbank_out: int = 0
    crosschain_in: int = 0
    crosschain_out: int = 0


@dataclass
class Status:
    at: datetime
    token: str | None
    chain_id: int | None
    pending: Pending
    approved: Approved
    executing: int  # requests under an executor's lease
    unsettled: int  # transactions signed or broadcast, not yet mined, reverted or void
    oldest_unsettled: datetime | None
    indexed_block: int | None  # None: nothing indexed yet
    head: int | None  # the node's; None without a node
    index_lag: int | None
    total_supply: int | None  # on-chain now
    indexed_supply: int  # minted minus retired in the indexed events
    ledger_minted: int  # executed mint requests
    paused: bool | None
    minter_allowances: dict[str, int] | None
    clients: dict[str, int]  # by status
    expiring: list[Expiring]  # active clients whose allowlist entry ends within EXPIRY_DAYS
    expiring_count: int
    held_deposits: int
    suspense_deposits: int
    node_error: str | None = None
    minter_rate_limits: dict[str, RateLimit] | None = None
    last_reconciliation: LastReconciliation | None = None  # None: never run
    interbank: dict[str, int] = field(default_factory=dict)  # the interbank payments the bank sends, by status

    @property
    def supply_difference(self) -> int | None:
        """On-chain supply minus the indexed one (blocks not indexed yet explain a difference)."""
        return None if self.total_supply is None else self.total_supply - self.indexed_supply


def token_state(client: Any) -> TokenState:
    """The node's head, the token's total supply, pause state and the minters' allowances left: one
    JSON-RPC batch (with the minter role's grants and revocations) and one for the allowances."""
    token = client.address
    minter_topic = "0x" + ROLES["minter"].hex()
    start = client.deployment.deploy_block if client.deployment else 0
    calls = [
        ("eth_blockNumber", []),
        ("eth_call", [{"to": token, "data": "0x" + keccak(text="totalSupply()")[:4].hex()}, "latest"]),
        ("eth_call", [{"to": token, "data": "0x" + keccak(text="paused()")[:4].hex()}, "latest"]),
        ("eth_getLogs", [{"address": token, "fromBlock": hex(start), "toBlock": "latest",
                          "topics": [list(_ROLE_EVENTS), minter_topic]}]),
    ]
    replies = client.contract.node.batch(calls)
    if problems := [error for _, error in replies if error is not None]:
        raise DepositTokenError(f"the node refused the status calls: {problems[0]}")
    head, supply, paused, logs = (result for result, _ in replies)
    minters: dict[str, None] = {}
    for log in sorted(logs, key=lambda entry: (int(entry["blockNumber"], 16), int(entry["logIndex"], 16))):
        account = to_checksum_address("0x" + log["topics"][2][-40:])
        if _ROLE_EVENTS[log["topics"][0]] == "RoleGranted":
            minters[account] = None
        else:
            minters.pop(account, None)
    allowances = client.read_many("minterAllowance", list(minters)) if minters else {}
    limits = read_rate_limits(client.contract, minters)
    return TokenState(int(head, 16), int(supply, 16), bool(int(paused, 16)), allowances, limits)


def eligible_checkers(operators: list[Operator], request: Request) -> list[str]:
    """The operators who may approve ``request`` now (the checks of ``operators.operator_at`` and ``decide``)."""
    permission = "operators" if request.kind == "operator" else request.kind
    decided = {a.operator_id for a in request.approvals}
    names = []
    for o in operators:
        if not (o.active and o.can_approve) or o.id == request.maker_id or o.id in decided:
            continue
        if o.permissions is not None and permission not in o.permissions:
            continue
        if request.amount is not None and o.max_amount is not None and request.amount > o.max_amount:
            continue
        if request.kind == "mint" and request.params.get("to") == o.address:
            continue
        names.append(o.name)
    return names


def _add(queue: Queue, request: Request) -> None:
    queue.count += 1
    queue.total += request.amount or 0
    queue.by_kind[request.kind] = queue.by_kind.get(request.kind, 0) + 1
    if queue.oldest_at is None or request.created_at < queue.oldest_at:
        queue.oldest_id, queue.oldest_at = request.id, request.created_at


def status(session: Session, client: Any = None, *, today: date | None = None, now: datetime | None = None,
           expiring_shown: int = 20, node_error: str | None = None) -> Status:
    """Everything `deptoken status` shows. ``client``: the connected ``TokenClient`` (None: the ledger
    only, the node's fields None, ``node_error`` saying why); ``today``: the day value dates and
    allowlist expiries are judged by (default: UTC today); ``expiring_shown``: how many expiring
    allowlist entries to list (all are counted)."""
    now = now or datetime.now(UTC)
    today = today or now.date()
    team = list(session.scalars(select(Operator).order_by(Operator.id)))
    pending, approved = Pending(), Approved()
    pending_query = select(Request).where(Request.status == "pending").options(selectinload(Request.approvals))
    for request in session.scalars(pending_query.order_by(Request.id)):  # approvals in one query, not one per request
        _add(pending, request)
        age = now - request.created_at
        pending.by_age[next(label for label, limit in AGES if limit is None or age < limit)] += 1
        for name in eligible_checkers(team, request) or [NO_CHECKER]:
            pending.by_checker[name] = pending.by_checker.get(name, 0) + 1
    held_ids = set(session.scalars(select(Deposit.id).where(Deposit.value_date > today)))
    for request in session.scalars(select(Request).where(Request.status == "approved").order_by(Request.id)):
        _add(approved, request)
        approved.held += request.deposit_id in held_ids
    executing = session.scalar(select(func.count()).select_from(Request).where(Request.status == "executing")) or 0
    unsettled, oldest_unsettled = session.execute(
        select(func.count(), func.min(Transaction.created_at)).where(Transaction.status.in_(("signed", "broadcast")))
    ).one()
    if oldest_unsettled is not None and oldest_unsettled.tzinfo is None:  # min() bypasses the column type on SQLite
        oldest_unsettled = datetime.fromisoformat(str(oldest_unsettled)).replace(tzinfo=UTC)
    state = session.scalars(select(SyncState).limit(1)).first()
    indexed = state.block_number if state is not None and state.block_number >= 0 else None
    supply = 0
    for sender, amount in session.execute(select(ChainEvent.sender, ChainEvent.amount).where(
            ChainEvent.name == "Transfer", (ChainEvent.sender == ZERO) | (ChainEvent.recipient == ZERO))):
        supply += amount if sender == ZERO else -amount
    minted = sum(session.scalars(select(Request.amount).where(Request.kind == "mint", Request.status == "executed")))
    clients = dict(session.execute(select(Client.status, func.count()).group_by(Client.status)).all())
    soon = select(Client).where(Client.status == "active", Client.review_date < today + timedelta(days=EXPIRY_DAYS))
    expiring_count = session.scalar(select(func.count()).select_from(soon.subquery())) or 0
    expiring = [Expiring(c.client_id, c.address, c.review_date)
                for c in session.scalars(soon.order_by(Client.review_date, Client.id).limit(expiring_shown))]
    held = session.scalar(select(func.count()).select_from(Deposit).where(Deposit.status == "recorded", Deposit.value_date > today,
                                                                         ~Deposit.id.in_(select(Request.deposit_id).where(
                                                                             Request.status == "executed",
                                                                             Request.deposit_id.is_not(None))))) or 0
    suspense = session.scalar(select(func.count()).select_from(Deposit).where(Deposit.status == "suspense")) or 0
    chain = token_state(client) if client is not None else None
    last = session.scalars(select(Reconciliation).order_by(Reconciliation.id.desc()).limit(1)).first()
    interbank = {str(k): n for k, n in session.execute(
        select(InterbankPaymentRecord.status, func.count()).group_by(InterbankPaymentRecord.status)).all()}
    return Status(
        at=now, token=state.token if state else None, chain_id=state.chain_id if state else None,
        pending=pending, approved=approved, executing=executing, unsettled=unsettled, oldest_unsettled=oldest_unsettled,
        indexed_block=indexed, head=chain.head if chain else None,
        index_lag=chain.head - indexed if chain and indexed is not None else None,
        total_supply=chain.total_supply if chain else None, indexed_supply=supply, ledger_minted=minted,
        paused=chain.paused if chain else None, minter_allowances=chain.minter_allowances if chain else None,
        minter_rate_limits=chain.minter_rate_limits if chain else None,
        clients=clients, expiring=expiring, expiring_count=expiring_count, held_deposits=held,
        suspense_deposits=suspense, node_error=node_error,
        last_reconciliation=_last(last) if last else None, interbank=interbank,
    )


def _last(run: Reconciliation) -> LastReconciliation:
    report = run.report
    return LastReconciliation(run.created_at, run.block_number, run.ok,
                              sum(f.get("severity") == "mismatch" for f in report.get("findings", [])),
                              *(int(report.get(k) or 0) for k in ("interbank_in", "interbank_out", "crosschain_in", "crosschain_out")))


@dataclass(frozen=True)
class SupplyPoint:
    timestamp: int  # the block's (seconds since 1970, UTC)
    block_number: int
    supply: int  # minor units after that block


def supply_history(session: Session, points: int = 60) -> list[SupplyPoint]:
    """Total supply over time from the indexed mints and burns: at most ``points`` points, evenly spread
    over the indexed blocks that changed it (the last point is the indexed supply)."""
    changes: list[tuple[int, int, int]] = []  # block, timestamp, supply after it
    supply = 0
    rows = session.execute(select(ChainEvent.block_number, ChainEvent.timestamp, ChainEvent.sender, ChainEvent.amount).where(
        ChainEvent.name == "Transfer", (ChainEvent.sender == ZERO) | (ChainEvent.recipient == ZERO))
        .order_by(ChainEvent.block_number, ChainEvent.log_index))
    for block, stamp, sender, amount in rows:
        supply += amount if sender == ZERO else -amount
        if changes and changes[-1][0] == block:
            changes[-1] = (block, stamp, supply)
        else:
            changes.append((block, stamp, supply))
    if len(changes) > points:
        step = len(changes) / points
        changes = [changes[min(len(changes) - 1, round((i + 1) * step) - 1)] for i in range(points)]
    return [SupplyPoint(stamp, block, value) for block, stamp, value in changes]
