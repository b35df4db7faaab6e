"""Reconciliation of one bank's deposit token across its chains: the bank's total liability is the sum of
the token's supply on every chain plus the messages burned and not yet minted or refunded (in flight).

Read from each chain (its token's and messenger's events from ``from_block``, and ``totalSupply``):

* the bank's own issuance, by chain: mints (``Minted`` by any minter but the messenger: deposits, interbank
  payments in; ERC-7802 ``CrosschainMint`` by another bridge the bank made a minter) less redemptions and
  burns (``Redeemed``; ``Burned`` by any account but the messenger; ``CrosschainBurn``);
* the messenger's burns (``Burned`` by the messenger, the message id as reference) and mints (``Minted`` by
  the messenger, the id as deposit reference), each tied to its message: ``MessageSent`` on the source,
  ``MessageReceived`` on the destination or ``MessageRefunded`` back on the source.

Mismatches (each names its message ids): a chain whose supply its events do not explain; a message minted
on a destination with no send on the chains given; a burn, mint or refund of another amount than the
message's; a message both minted and refunded; a refund without the destination's refusal; the whole
(supplies plus in flight) differing from the bank's issuance or from its books (``books``, if given).
Information, not a mismatch: messages in flight, those past their deadline (to be refused and refunded),
messages to a chain not among those given.

:func:`camt053_chain` and :func:`camt053_whole` write the statements: one per chain (every supply change,
the messenger's marked cross-chain out/in with the message id), and one for the whole, where the
messenger's burns and mints move the liability between chains and in flight but not out of the bank's
books: its entries are the issuance's, its balances the supplies plus in flight.

Usage::

    result = reconcile_chains([(node_a, "0xMessengerA"), (node_b, "0xMessengerB")])
    result.ok, result.liability, [f.message_ids for f in result.findings]
    Path("whole.xml").write_bytes(camt053_whole(result, day=date.today(), bank=Party(...)))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from ..errors import DepositTokenError, WrongChain
from ..iso20022 import Party, StatementEntry, build_camt053
from ..node import Node
from .messenger import Message

MISMATCH, INFO = "mismatch", "info"


@dataclass(frozen=True)
class Movement:
    """One change of a chain's token supply."""

    chain_id: int
    block_number: int
    timestamp: int
    tx_hash: str
    log_index: int
    amount: int  # minor units; + minted, - redeemed or burned
    kind: str  # issuance | xchain-out | xchain-in | xchain-refund
    reference: str  # the deposit, payout or burn reference; the message id for the messenger's


@dataclass
class ChainBook:
    """What one chain shows: its supply, the bank's issuance there, and the messenger's traffic."""

    chain_id: int
    token: str
    messenger: str
    symbol: str
    currency: str
    decimals: int
    block_number: int
    supply: int
    issued: int = 0  # the bank's own mints less redemptions and burns
    sent: int = 0  # burned by the messenger (messages out)
    received: int = 0  # minted by the messenger for messages in
    refunded: int = 0  # minted by the messenger back to senders
    movements: list[Movement] = field(default_factory=list)

    @property
    def explained(self) -> int:
        return self.issued - self.sent + self.received + self.refunded


@dataclass(frozen=True)
class InFlight:
    message_id: str
    source_chain_id: int
    destination_chain_id: int
    amount: int
    deadline: int
    sent_at: int  # the send's block timestamp


@dataclass(frozen=True)
class Finding:
    severity: str  # mismatch | info
    code: str
    detail: str
    message_ids: tuple[str, ...] = ()


@dataclass
class CrossChainReport:
    chains: list[ChainBook]
    in_flight: list[InFlight]
    findings: list[Finding]
    books: int | None = None  # the bank's books' liability, if given

    @property
    def ok(self) -> bool:
        return not any(f.severity == MISMATCH for f in self.findings)

    @property
    def supply(self) -> int:
        return sum(c.supply for c in self.chains)

    @property
    def in_flight_total(self) -> int:
        return sum(m.amount for m in self.in_flight)

    @property
    def liability(self) -> int:
        """The token liability: every chain's supply plus the messages in flight."""
        return self.supply + self.in_flight_total

    @property
    def issued(self) -> int:
        return sum(c.issued for c in self.chains)

    def as_dict(self) -> dict[str, Any]:
        chains = [{k: v for k, v in asdict(c).items() if k != "movements"} | {"movements": len(c.movements)} for c in self.chains]
        return {"ok": self.ok, "liability": self.liability, "supply": self.supply, "in_flight_total": self.in_flight_total,
                "issued": self.issued, "books": self.books, "chains": chains, "in_flight": [asdict(m) for m in self.in_flight],
                "findings": [asdict(f) for f in self.findings]}


@dataclass
class _Traffic:
    """The messenger events of one chain, by message id."""

    sent: dict[str, tuple[Message, int]] = field(default_factory=dict)  # id -> (message, send timestamp)
    received: dict[str, int] = field(default_factory=dict)  # id -> amount
    refused: set[str] = field(default_factory=set)
    refunded: dict[str, int] = field(default_factory=dict)  # id -> amount
    burned: dict[str, int] = field(default_factory=dict)  # by the messenger, id -> amount
    minted: dict[str, int] = field(default_factory=dict)  # by the messenger, id -> amount


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex() if isinstance(value, bytes | bytearray) else str(value).lower()


def _timestamps(node: Node, blocks: Iterable[int]) -> dict[int, int]:
    numbers = sorted(set(blocks))
    answers = node.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
    stamps = {}
    for number, (block, error) in zip(numbers, answers):
        if error or block is None:
            raise DepositTokenError(f"chain {node.chain_id()}: block {number} could not be read ({error or 'not found'})")
        stamps[number] = int(block["timestamp"], 16)
    return stamps


def _read_chain(node: Node, messenger_address: str, from_block: int) -> tuple[ChainBook, _Traffic]:
    from ..contracts import contract_at
    from ..node import using

    with using(node):
        chain_id = node.chain_id()
        if not node.code(messenger_address):
            raise DepositTokenError(f"no contract at {messenger_address} on chain {chain_id} (its messenger)")
        messenger = contract_at("DepositTokenMessenger", messenger_address)
        try:
            token = contract_at("DepositToken", messenger.token())
        except DepositTokenError:
            raise DepositTokenError(f"{messenger.address} on chain {chain_id} is not a DepositTokenMessenger (its token() failed)") from None
        head = node.block_number()
        book = ChainBook(chain_id, token.address, messenger.address, str(token.symbol()), str(token.currency()),
                         int(token.decimals()), head, int(token.totalSupply(block=head)))
        token_logs = token.logs(["Minted", "Redeemed", "Burned", "CrosschainMint", "CrosschainBurn"], from_block=from_block,
                                to_block=head)
        messenger_logs = messenger.logs(["MessageSent", "MessageReceived", "MessageRefused", "MessageRefunded"],
                                        from_block=from_block, to_block=head)
    stamps = _timestamps(node, [log.block_number for log in [*token_logs, *messenger_logs]])
    traffic = _Traffic()
    own = book.messenger.lower()
    for log in token_logs:
        when = stamps[log.block_number]
        if log.event_name == "Minted":
            amount, ref = int(log.amount), _hex(log.depositRef)
            kind = "xchain-in" if str(log.minter).lower() == own else "issuance"
        elif log.event_name == "Redeemed":
            amount, ref, kind = -int(log.amount), _hex(log.payoutRef), "issuance"
        elif log.event_name.startswith("Crosschain"):  # ERC-7802, by a bridge other than the bank's messenger
            amount = int(log.amount) if log.event_name == "CrosschainMint" else -int(log.amount)
            ref, kind = f"erc7802:{log.sender}", "issuance"
        else:
            amount, ref = -int(log.amount), _hex(log.burnRef)
            kind = "xchain-out" if str(log.account).lower() == own else "issuance"
        if kind == "issuance":
            book.issued += amount
        elif kind == "xchain-out":
            traffic.burned[ref] = traffic.burned.get(ref, 0) - amount
        else:
            traffic.minted[ref] = traffic.minted.get(ref, 0) + amount
        book.movements.append(Movement(chain_id, log.block_number, when, log.transaction_hash, log.log_index, amount, kind, ref))
    for log in messenger_logs:
        ref = _hex(log.messageId)
        if log.event_name == "MessageSent":
            traffic.sent[ref] = (Message.decode(bytes(log.message)), stamps[log.block_number])
        elif log.event_name == "MessageReceived":
            traffic.received[ref] = int(log.amount)
        elif log.event_name == "MessageRefused":
            traffic.refused.add(ref)
        else:
            traffic.refunded[ref] = int(log.amount)
    refunds = set(traffic.refunded)
    book.movements = [replace(m, kind="xchain-refund") if m.kind == "xchain-in" and m.reference in refunds else m
                      for m in book.movements]
    book.sent = sum(traffic.burned.values())
    book.refunded = sum(a for ref, a in traffic.minted.items() if ref in refunds)
    book.received = sum(a for ref, a in traffic.minted.items() if ref not in refunds)
    return book, traffic


def reconcile_chains(chains: Sequence[tuple[Node, str]], *, from_blocks: Sequence[int] | None = None,
                     books: str | Decimal | None = None, now: int | None = None) -> CrossChainReport:
    """The cross-chain reconciliation of the token behind the messengers ``chains`` (node, messenger
    address), one per chain id; ``books``: the liability in the bank's books (currency units, e.g.
    ``"1250.00"``), compared with the whole; ``now``: the time deadlines are judged at (default: the latest block time of the chains)."""
    if not chains:
        raise DepositTokenError("no chain to reconcile")
    read = [_read_chain(node, messenger, (from_blocks or [0] * len(chains))[i]) for i, (node, messenger) in enumerate(chains)]
    ids = [book.chain_id for book, _ in read]
    if len(set(ids)) != len(ids):
        raise WrongChain(f"a chain is given twice (chain ids {ids})")
    if len({(book.currency, book.decimals) for book, _ in read}) != 1:
        raise DepositTokenError("the chains' tokens are not in one currency: " +
                                ", ".join(f"chain {b.chain_id}: {b.currency}/{b.decimals}" for b, _ in read))
    by_chain = {book.chain_id: traffic for book, traffic in read}
    messengers = {book.chain_id: book.messenger.lower() for book, _ in read}
    from ..amounts import parse_amount

    report = CrossChainReport([book for book, _ in read], [], [], None if books is None else parse_amount(books, read[0][0].decimals))
    findings = report.findings
    if now is None:
        now = max(_timestamps(node, [book.block_number]).get(book.block_number, 0) for (node, _), (book, _) in zip(chains, read))

    for book in report.chains:
        if book.explained != book.supply:
            findings.append(Finding(MISMATCH, "supply-unexplained",
                                    f"chain {book.chain_id}: supply {book.supply} but its events explain {book.explained} "
                                    f"(issued {book.issued}, sent {book.sent}, received {book.received}, refunded {book.refunded})"))

    for source_id, traffic in by_chain.items():
        for ref, (m, sent_at) in traffic.sent.items():
            if traffic.burned.get(ref) != m.amount:
                findings.append(Finding(MISMATCH, "burn-amount", f"chain {source_id} burned {traffic.burned.get(ref, 0)} "
                                                                 f"for a message of {m.amount}", (ref,)))
            refunded = ref in traffic.refunded
            if refunded and traffic.minted.get(ref) != m.amount:
                findings.append(Finding(MISMATCH, "refund-amount", f"chain {source_id} refunded {traffic.minted.get(ref, 0)} "
                                                                   f"of a message of {m.amount}", (ref,)))
            dest = by_chain.get(m.destinationChainId)
            if dest is None:
                findings.append(Finding(INFO, "destination-not-given", f"message to chain {m.destinationChainId}, not "
                                                                       "reconciled here: counted in flight", (ref,)))
                report.in_flight.append(InFlight(ref, source_id, m.destinationChainId, m.amount, m.deadline, sent_at))
                continue
            received = ref in dest.received
            if received and dest.minted.get(ref) != m.amount:
                findings.append(Finding(MISMATCH, "mint-amount", f"chain {m.destinationChainId} minted {dest.minted.get(ref, 0)} "
                                                                 f"for a message of {m.amount}", (ref,)))
            if received and refunded:
                findings.append(Finding(MISMATCH, "minted-and-refunded", f"minted on chain {m.destinationChainId} and "
                                                                         f"refunded on chain {source_id}", (ref,)))
            if refunded and ref not in dest.refused:
                findings.append(Finding(MISMATCH, "refund-without-refusal", f"refunded on chain {source_id}, not refused "
                                                                            f"on chain {m.destinationChainId}", (ref,)))
            if not received and not refunded:
                report.in_flight.append(InFlight(ref, source_id, m.destinationChainId, m.amount, m.deadline, sent_at))
                if ref in dest.refused:
                    findings.append(Finding(INFO, "awaiting-refund", f"refused on chain {m.destinationChainId}: to be "
                                                                     f"refunded on chain {source_id}", (ref,)))
                elif m.deadline < now:
                    findings.append(Finding(INFO, "past-deadline", f"not received by its deadline {m.deadline}: to be refused "
                                                                   f"on chain {m.destinationChainId} and refunded", (ref,)))

    sent_anywhere = {ref: m for t in by_chain.values() for ref, (m, _) in t.sent.items()}
    for chain_id, traffic in by_chain.items():
        for ref in traffic.minted:
            if ref in traffic.refunded:
                continue
            m = sent_anywhere.get(ref)
            if m is None or m.destinationChainId != chain_id or m.destinationMessenger.lower() != messengers[chain_id]:
                findings.append(Finding(MISMATCH, "minted-without-send", f"chain {chain_id} minted {traffic.minted[ref]} "
                                                                         "for a message no chain given sent to it", (ref,)))

    if report.liability != report.issued:
        findings.append(Finding(MISMATCH, "liability-unexplained",
                                f"supplies {report.supply} + in flight {report.in_flight_total} = {report.liability}, "
                                f"but the bank issued {report.issued}"))
    if report.books is not None and report.books != report.liability:
        findings.append(Finding(MISMATCH, "books-differ", f"the books say {report.books}, the chains {report.liability} "
                                                          f"(difference {report.liability - report.books})"))
    return report


# ---------------------------------------------------------------------- camt.053


def _day(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def _decimal(units: int, decimals: int) -> Decimal:
    return Decimal(units).scaleb(-decimals)


_DESCRIPTIONS = {"issuance": "Mint", "xchain-out": "Cross-chain out", "xchain-in": "Cross-chain in",
                 "xchain-refund": "Cross-chain refund"}


def _statement(report: CrossChainReport, moves: list[Movement], day: date, *, statement_id: str,
               account_name: str, account: str, bank: Party) -> bytes:
    first = report.chains[0]
    start, end = _day(day)
    opening_units = sum(m.amount for m in moves if m.timestamp < start.timestamp())
    during = [m for m in moves if start.timestamp() <= m.timestamp < end.timestamp()]
    entries = []
    for m in during:
        label = _DESCRIPTIONS[m.kind] if m.kind != "issuance" or m.amount > 0 else "Redemption/burn"
        entries.append(StatementEntry(
            reference=f"{m.chain_id}:{m.tx_hash}:{m.log_index}", amount=_decimal(abs(m.amount), first.decimals),
            credit=m.amount > 0, booking=datetime.fromtimestamp(m.timestamp, UTC),
            description=f"{label} chain {m.chain_id} block {m.block_number}" + (f" message {m.reference}" if m.kind != "issuance" else ""),
        ))
    closing = opening_units + sum(m.amount for m in during)
    return build_camt053(
        statement_id=statement_id, created=datetime.now(UTC).replace(microsecond=0),
        account=Party(name=account_name, account=account), servicer=bank, currency=first.currency,
        period_start=start, period_end=end - timedelta(seconds=1),
        opening=_decimal(opening_units, first.decimals), closing=_decimal(closing, first.decimals), entries=entries,
    )


def camt053_chain(report: CrossChainReport, chain_id: int, day: date, *, bank: Party, account: str | None = None) -> bytes:
    """The token liability account on chain ``chain_id`` for ``day`` (UTC): every supply change of that
    chain, the messenger's burns and mints marked cross-chain with their message ids."""
    book = next((c for c in report.chains if c.chain_id == chain_id), None)
    if book is None:
        raise DepositTokenError(f"chain {chain_id} is not in this reconciliation")
    return _statement(report, sorted(book.movements, key=lambda m: (m.timestamp, m.block_number, m.log_index)), day,
                      statement_id=f"DTX-{chain_id}-{day:%Y%m%d}", account_name=f"{book.symbol} liability, chain {chain_id}",
                      account=account or f"DT-{book.symbol}-{chain_id}", bank=bank)


def camt053_whole(report: CrossChainReport, day: date, *, bank: Party, account: str | None = None) -> bytes:
    """The bank's whole token liability (every chain plus in flight) for ``day`` (UTC): the issuance's
    movements on all chains; cross-chain transfers move the liability within it, so they are not entries.
    Refused (not written) when the reconciliation found a mismatch: the statement would not balance."""
    if not report.ok:
        raise DepositTokenError("camt.053 for the whole not written: the cross-chain reconciliation found "
                                f"{sum(f.severity == MISMATCH for f in report.findings)} mismatch(es)")
    moves = sorted((m for c in report.chains for m in c.movements if m.kind == "issuance"),
                   key=lambda m: (m.timestamp, m.chain_id, m.block_number, m.log_index))
    symbol = report.chains[0].symbol
    return _statement(report, moves, day, statement_id=f"DTX-ALL-{day:%Y%m%d}",
                      account_name=f"{symbol} liability, all chains", account=account or f"DT-{symbol}-ALL", bank=bank)
