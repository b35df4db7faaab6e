"""Exactly-once transactions: sign, store, then broadcast; after a crash, find out what happened.

``send`` signs a contract call, stores the signed transaction (hash, nonce, raw bytes) and commits
*before* broadcasting it, then broadcasts, waits for the receipt and stores it. ``resolve`` settles a
stored transaction whose outcome is unknown (the process died, the node restarted):

* a receipt exists -> ``mined`` (or ``reverted``);
* the node still has it pending -> wait for the receipt;
* the sender's confirmed nonce has moved past it -> ``void``: another transaction used that nonce,
  so this one can never be mined (safe to sign anew);
* otherwise the node lost it -> broadcast the very same bytes again (same hash: it cannot run twice).

So a signed transaction either runs once or is provably dead before anything is signed in its place.

``Pipeline`` keeps several transactions of one sender in flight at once (consecutive nonces): each is
signed and stored before any of them is broadcast, the node is asked for receipts as the sender's
confirmed nonce moves past them, and one the node lost in the middle (a nonce gap) is broadcast again
as the same bytes. ``resolve_many`` settles a whole batch left in flight by a crash: first every
transaction whose fate is known now (mined, void, or lost: sent again), then the receipts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eth_utils import keccak
from hexbytes import HexBytes
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import DepositTokenError, first_line
from .faults import checkpoint
from .models import Transaction

RECEIPT_TIMEOUT = 120
UNRESOLVED = ("signed", "broadcast")
POLL_SECONDS = 0.1  # how often a pipeline asks for the sender's confirmed nonce
LOST_CHECK_SECONDS = 3.0  # a pipeline waiting this long without progress checks the oldest transaction is still known
VOID_CHECK_SECONDS = 5.0  # a mined nonce without this transaction's receipt: how long to ask again before calling it void


def _web3() -> Any:
    from ..node import current

    return current().web3


def _receipt(tx_hash: str) -> Any | None:
    from web3.exceptions import TransactionNotFound

    try:
        return _web3().eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        return None


def _late_receipt(tx_hash: str) -> dict[str, str] | None:
    """The receipt of a transaction whose nonce the node counts as mined although it gave no receipt: a
    node may count the nonce a moment before it serves the receipt (Anvil mining on an interval was seen
    to, under load). Asked again for up to ``VOID_CHECK_SECONDS`` while the node still knows the
    transaction; None: it does not (its nonce went to another transaction)."""
    deadline = time.monotonic() + VOID_CHECK_SECONDS
    while True:
        receipt = _receipt(tx_hash)
        if receipt is not None:
            return {k: hex(int(receipt[k])) for k in ("status", "blockNumber", "gasUsed")}
        if not _pending(tx_hash) or time.monotonic() > deadline:
            return None
        time.sleep(POLL_SECONDS)


def _pending(tx_hash: str) -> bool:
    from web3.exceptions import TransactionNotFound

    try:
        return _web3().eth.get_transaction(tx_hash) is not None
    except TransactionNotFound:
        return False


def rpc_batch(calls: Sequence[tuple[str, list[Any]]]) -> list[tuple[Any, str | None]]:
    """JSON-RPC ``calls`` in one request (one by one where the provider cannot batch): each call's
    result and error message (None when it succeeded)."""
    from ..node import current

    return current().batch(calls)


def _store_receipt(tx: Transaction, receipt: Any) -> None:
    tx.status = "mined" if int(receipt["status"]) == 1 else "reverted"
    tx.block_number = int(receipt["blockNumber"])
    tx.gas_used = int(receipt["gasUsed"])


@contextmanager
def _node(tx: Transaction) -> Iterator[None]:
    """Node calls about ``tx``: losing the node (stopped, restarting) becomes one line; ``tx`` stays
    recorded as it is and is settled by the next run (without this, web3's ``CannotHandleRequest``
    escaped as a traceback)."""
    from web3.exceptions import CannotHandleRequest, ProviderConnectionError

    try:
        yield
    except (OSError, CannotHandleRequest, ProviderConnectionError) as exc:
        raise DepositTokenError(
            f"lost the node while settling transaction {tx.tx_hash} ({first_line(exc)}); "
            f"it stays recorded ({tx.status}) and is checked on the next run"
        ) from None


def _wait(tx: Transaction) -> Any:
    from web3.exceptions import TimeExhausted

    try:
        with _node(tx):
            return _web3().eth.wait_for_transaction_receipt(tx.tx_hash, timeout=RECEIPT_TIMEOUT, poll_latency=0.05)
    except TimeExhausted:
        raise DepositTokenError(
            f"transaction {tx.tx_hash} not mined within {RECEIPT_TIMEOUT} s; it stays recorded and is checked on the next run"
        ) from None


def _broadcast(tx: Transaction) -> None:
    try:
        _web3().eth.send_raw_transaction(HexBytes(tx.raw))
    except Exception as exc:  # noqa: BLE001 - nodes word these differently
        message = first_line(exc)
        if "already known" in message.lower() or "already imported" in message.lower():
            return
        raise DepositTokenError(f"the node refused transaction {tx.tx_hash}: {message}") from None


def _signed(sender: Any, tx: dict[str, Any], purpose: str) -> Transaction:
    """The outbox row of ``tx`` (a JSON-RPC transaction dict) signed by ``sender`` (not yet added to the session)."""
    from ..accounts import sign_transaction

    raw = sign_transaction(sender, tx)
    return Transaction(
        purpose=purpose,
        chain_id=int(tx["chainId"]),
        sender=str(sender.address),
        nonce=int(tx["nonce"]),
        tx_hash="0x" + keccak(raw).hex(),
        raw="0x" + raw.hex(),
        status="signed",
    )


def send(
    session: Session,
    contract: Any,
    method: str,
    args: tuple[Any, ...],
    sender: Any,
    *,
    purpose: str,
    link: Callable[[Transaction], None] | None = None,
) -> Transaction:
    """Signs ``contract.method(*args)`` from ``sender``, stores it (``link`` ties it to its request in
    the same commit), broadcasts it and records the receipt. Commits ``session`` at each step."""
    from ..node import current

    # an unsettled earlier transaction on this chain would share the nonce
    resolve_all(session, sender=str(sender.address), chain_id=current().signing_chain_id)
    checkpoint("before_sign")
    tx = _signed(sender, getattr(contract, method).transaction(*args, sender=sender), purpose)
    session.add(tx)
    session.flush()
    if link is not None:
        link(tx)
    session.commit()
    checkpoint("after_sign")
    _broadcast(tx)
    tx.status = "broadcast"
    session.commit()
    checkpoint("after_broadcast")
    receipt = _wait(tx)
    checkpoint("before_receipt_stored")
    _store_receipt(tx, receipt)
    session.commit()
    return tx


def _settle_now(session: Session, tx: Transaction) -> bool:
    """Settles ``tx`` if its fate is known now (mined, reverted, void); broadcasts it again if the node
    lost it. True when it still awaits its receipt. Commits."""
    with _node(tx):
        receipt = _receipt(tx.tx_hash)
        lost = receipt is None and not _pending(tx.tx_hash)
        confirmed = int(_web3().eth.get_transaction_count(tx.sender, "latest")) if lost else 0
    if receipt is not None:
        _store_receipt(tx, receipt)
    elif lost and confirmed > tx.nonce:
        tx.status = "void"
    elif lost:
        _broadcast(tx)  # the node lost it: the same bytes again
        tx.status = "broadcast"
    session.commit()
    return tx.status in UNRESOLVED


def resolve_many(session: Session, txs: Sequence[Transaction]) -> list[Transaction]:
    """Settles stored transactions of unknown outcome (see the module docstring), oldest first: every
    one whose fate is known now at once (a lost one is sent again), then the receipts of those still
    pending, so a whole batch in flight costs a block or two, not a block each. Commits."""
    ordered = sorted(txs, key=lambda tx: tx.id)
    waiting = [tx for tx in ordered if tx.status in UNRESOLVED and _settle_now(session, tx)]
    for tx in waiting:
        _store_receipt(tx, _wait(tx))
        session.commit()
    return ordered


def resolve(session: Session, tx: Transaction) -> Transaction:
    """Settles one stored transaction of unknown outcome (see the module docstring); commits."""
    return resolve_many(session, [tx])[0]


def resolve_all(session: Session, *, sender: str | None = None, chain_id: int | None = None) -> list[Transaction]:
    """Settles every stored transaction of unknown outcome (of ``sender``, or all; on chain ``chain_id``,
    or all: the ledger may hold another chain's, e.g. the cross-chain relayer's, which only that chain's
    node can settle), oldest first, against the current node."""
    query = select(Transaction).where(Transaction.status.in_(UNRESOLVED)).order_by(Transaction.id)
    if sender is not None:
        query = query.where(Transaction.sender == sender)
    if chain_id is not None:
        query = query.where(Transaction.chain_id == chain_id)
    return resolve_many(session, session.scalars(query).all())


class Pipeline:
    """Transactions of one ``sender`` in flight together, with consecutive nonces, exactly once.

    ``sign`` signs a call with the next nonce and adds it to the session (the caller commits: stored
    before broadcast); ``broadcast`` sends the signed ones; ``settle`` waits until the oldest in flight
    is mined and returns every one whose receipt is now stored (``mined``/``reverted``) or whose nonce
    another transaction used (``void``). Opening one first settles the sender's unsettled transactions."""

    def __init__(self, session: Session, sender: Any) -> None:
        from ..node import current

        self.session, self.sender = session, sender
        self.address = str(sender.address)
        resolve_all(session, sender=self.address)
        self.chain_id = current().chain_id()
        self.nonce = int(_web3().eth.get_transaction_count(self.address, "pending"))
        self.in_flight: list[Transaction] = []
        self.unsent: list[Transaction] = []
        self.refresh_fees()

    def refresh_fees(self) -> None:
        """The fees of the transactions signed next (``deptoken.contracts.fees``)."""
        from ..contracts import fees
        from ..node import current

        self.fees = fees(current())

    def simulate(self, contract: Any, method: str, calls: Sequence[tuple[Any, ...]]) -> list[tuple[int | None, str | None]]:
        """``contract.method(*args)`` for each of ``calls`` run by the node against its latest state
        (one request): the gas to give each, or why it would revert."""
        handler = getattr(contract, method)
        estimates = rpc_batch([("eth_estimateGas", [{"from": self.address, "to": str(contract.address),
                                                      "data": "0x" + bytes(handler.encode_input(*args)).hex()}])
                               for args in calls])
        return [(int(gas, 16) * 6 // 5 if error is None else None, error) for gas, error in estimates]

    def sign(self, contract: Any, method: str, args: tuple[Any, ...], gas: int, *, purpose: str) -> Transaction:
        """Signs the call with the next nonce and adds it (status ``signed``) to the session."""
        checkpoint("before_sign")
        call = "0x" + bytes(getattr(contract, method).encode_input(*args)).hex()
        tx = _signed(self.sender, {"from": self.address, "to": str(contract.address), "data": call, "nonce": self.nonce,
                                   "gas": gas, "chainId": self.chain_id, **self.fees}, purpose)
        self.session.add(tx)
        self.nonce += 1
        self.unsent.append(tx)
        return tx

    def broadcast(self) -> None:
        """Broadcasts every transaction signed since the last call (they must be committed); commits."""
        sent, self.unsent = self.unsent, []
        try:
            for tx in sent:
                _broadcast(tx)
                tx.status = "broadcast"
                self.in_flight.append(tx)
                checkpoint("after_broadcast")
        finally:  # one refused: the rest stay stored as signed, settled by the next run
            self.session.commit()

    def settle(self) -> list[Transaction]:
        """Waits until at least the oldest transaction in flight is mined (broadcasting again one
        the node lost), stores the receipts of all that are; returns them. Commits."""
        if not self.in_flight:
            return []
        web3 = _web3()
        started = last_check = time.monotonic()
        while True:
            with _node(self.in_flight[0]):
                confirmed = int(web3.eth.get_transaction_count(self.address, "latest"))
            done = [tx for tx in self.in_flight if tx.nonce < confirmed]
            if done:
                break
            now = time.monotonic()
            if now - started > RECEIPT_TIMEOUT:
                raise DepositTokenError(
                    f"transaction {self.in_flight[0].tx_hash} not mined within {RECEIPT_TIMEOUT} s; it stays recorded "
                    "and is checked on the next run"
                )
            if now - last_check > LOST_CHECK_SECONDS:  # a nonce gap: the node lost the oldest one
                last_check = now
                oldest = self.in_flight[0]
                with _node(oldest):
                    if _receipt(oldest.tx_hash) is None and not _pending(oldest.tx_hash):
                        _broadcast(oldest)
            time.sleep(POLL_SECONDS)
        with _node(done[0]):
            receipts = rpc_batch([("eth_getTransactionReceipt", [tx.tx_hash]) for tx in done])
        for tx, (receipt, error) in zip(done, receipts, strict=True):
            if error is not None:
                raise DepositTokenError(f"lost the node while settling transaction {tx.tx_hash} ({error}); it stays "
                                        f"recorded ({tx.status}) and is checked on the next run")
            checkpoint("before_receipt_stored")
            if receipt is None:
                with _node(tx):
                    receipt = _late_receipt(tx.tx_hash)
            if receipt is None:  # its nonce was used by another transaction: this one can never be mined
                tx.status = "void"
            else:
                _store_receipt(tx, {k: int(v, 16) for k, v in receipt.items() if k in ("status", "blockNumber", "gasUsed")})
        self.in_flight = [tx for tx in self.in_flight if tx.nonce >= confirmed]
        self.session.commit()
        return done


def transport(session: Session, *, purpose: str, link: Callable[[Transaction], None] | None = None) -> Callable[..., Transaction]:
    """A ``TokenClient`` transport that sends each checked call exactly once through :func:`send`
    (stored before it is broadcast): ``client.with_transport(transport(session, purpose=...))``."""

    def send_through_outbox(contract: Any, method: str, args: tuple[Any, ...], sender: Any) -> Transaction:
        return send(session, contract, method, args, sender, purpose=purpose, link=link)

    return send_through_outbox
