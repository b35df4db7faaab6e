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
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from hexbytes import HexBytes
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import DepositTokenError, first_line
from .faults import checkpoint
from .models import Transaction

RECEIPT_TIMEOUT = 120
UNRESOLVED = ("signed", "broadcast")


def _web3() -> Any:
    from ape import networks

    return networks.provider.web3


def _receipt(tx_hash: str) -> Any | None:
    from web3.exceptions import TransactionNotFound

    try:
        return _web3().eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        return None


def _pending(tx_hash: str) -> bool:
    from web3.exceptions import TransactionNotFound

    try:
        return _web3().eth.get_transaction(tx_hash) is not None
    except TransactionNotFound:
        return False


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
    from ape import networks

    resolve_all(session, sender=str(sender.address))  # an unsettled earlier transaction would share the nonce
    checkpoint("before_sign")
    signed = getattr(contract, method).as_transaction(*args, sender=sender, sign=True)
    if not signed.signature:
        raise DepositTokenError(f"{sender.address} did not sign the {method} transaction")
    tx = Transaction(
        purpose=purpose,
        chain_id=int(networks.provider.chain_id),
        sender=str(sender.address),
        nonce=int(signed.nonce),
        tx_hash="0x" + bytes(signed.txn_hash).hex(),
        raw="0x" + bytes(signed.serialize_transaction()).hex(),
        status="signed",
    )
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


def resolve(session: Session, tx: Transaction) -> Transaction:
    """Settles one stored transaction of unknown outcome (see the module docstring); commits."""
    if tx.status not in UNRESOLVED:
        return tx
    with _node(tx):
        receipt = _receipt(tx.tx_hash)
        lost = receipt is None and not _pending(tx.tx_hash)
        confirmed = int(_web3().eth.get_transaction_count(tx.sender, "latest")) if lost else 0
    if lost:
        if confirmed > tx.nonce:
            tx.status = "void"
            session.commit()
            return tx
        _broadcast(tx)  # the node lost it: the same bytes again
        tx.status = "broadcast"
        session.commit()
    if receipt is None:
        receipt = _wait(tx)
    _store_receipt(tx, receipt)
    session.commit()
    return tx


def resolve_all(session: Session, *, sender: str | None = None) -> list[Transaction]:
    """Settles every stored transaction of unknown outcome (of ``sender``, or all), oldest first."""
    query = select(Transaction).where(Transaction.status.in_(UNRESOLVED)).order_by(Transaction.id)
    if sender is not None:
        query = query.where(Transaction.sender == sender)
    return [resolve(session, tx) for tx in session.scalars(query).all()]


@contextmanager
def attached(client: Any, session: Session, *, purpose: str, link: Callable[[Transaction], None] | None = None) -> Iterator[None]:
    """Within the block, ``client`` (a ``TokenClient``) sends its checked calls through ``send``."""

    def transport(contract: Any, method: str, args: tuple[Any, ...], sender: Any) -> Transaction:
        return send(session, contract, method, args, sender, purpose=purpose, link=link)

    client.transport = transport
    try:
        yield
    finally:
        client.transport = None
