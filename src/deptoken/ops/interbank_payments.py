"""The bank's interbank payments, exactly once, and its queue of payments over its headroom.

When the paying side is a bank's tooling with a ledger (``deptoken interbank pay|submit --ledger``, ``queue``),
a payment goes through the outbox (``deptoken.ops.outbox``: signed and stored before it is broadcast, settled
after a crash) and is recorded in ``interbank_payments`` with the transaction that paid it. Every run first
settles the sender's transactions left in flight, then asks the network: a payment id already used
(by its payer: ``isPaymentIdUsed(payer, id)``) whose ``InterbankPayment`` event has the same terms is done (``already``: nothing is sent
again); under other terms it is refused (``ReferenceUsed``). So a process killed between signing and broadcast,
or a node restarted with the payment in flight, ends with the payment made once, or not at all until run again.

A payer's signed payment (``deptoken interbank sign``) refused only because it would take the paying bank past
its headroom (``HeadroomExceeded``) may be queued (:func:`enqueue`); :func:`run_queue` submits the queued payments
in order while the headroom allows (after collateral is posted or a cycle settles), marks those past their
``validBefore`` expired, and stops at the first that does not fit (later ones wait behind it).

Usage::

    with ledger.new_session() as session:
        sent = submit(session, network, signed, sender=relayer)      # Sent(tx=..., already=False)
        try:
            submit(session, network, signed, sender=relayer)
        except HeadroomExceeded:
            enqueue(session, network, signed)                         # InterbankPaymentRecord, status queued
        run_queue(session, network, sender=relayer)                   # [QueueOutcome]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import DepositTokenError, HeadroomExceeded, InvalidInput, Refused, ReferenceUsed, TransactionReverted, first_line
from ..validation import address_of
from . import audit, outbox
from .context import ledger_binding
from .models import InterbankPaymentRecord, Transaction
from .statuses import InterbankPaymentStatus as Status
from .statuses import TransactionStatus

if TYPE_CHECKING:
    from ..settlement.interbank import InterbankClient, InterbankPayment, SignedPayment
    from ..token import TokenClient

OPEN = (Status.QUEUED, Status.SENDING)


@dataclass(frozen=True)
class Sent:
    """A payment made: ``tx`` the hash of the transaction that paid it; ``already``: paid before this run
    (nothing sent); ``record``: its ledger row (None without a ledger); ``approve_tx``: an approval sent first."""

    payment_id: bytes
    tx: str
    already: bool = False
    record: int | None = None
    approve_tx: str | None = None
    same_bank: bool = False


@dataclass(frozen=True)
class QueueOutcome:
    """What :func:`run_queue` did with one queued payment: ``status`` its status now; ``detail`` why (waiting
    for headroom, expired, refused), ``tx`` the transaction that paid it."""

    record: int
    payment_id: str
    amount: int
    status: str
    tx: str | None = None
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"record": self.record, "payment_id": self.payment_id, "amount": self.amount, "status": self.status,
                "tx": self.tx, "detail": self.detail}


def record_dict(r: InterbankPaymentRecord) -> dict[str, Any]:
    """A ledger row as JSON (amount in minor units)."""
    return {"record": r.id, "payment_id": r.payment_id, "network": r.network, "from_token": r.from_token,
            "to_token": r.to_token, "payer": r.payer, "payee": r.payee, "amount": int(r.amount),
            "valid_before": r.valid_before, "status": str(r.status), "tx": r.tx_hash, "error": r.error,
            "created_at": r.created_at.isoformat()}


def _hex(pid: bytes) -> str:
    return "0x" + pid.hex()


def paid_before(client: InterbankClient, frm: TokenClient, to: TokenClient, payer: str, payee: str, units: int,
                pid: bytes) -> InterbankPayment | None:
    """The network's payment under ``pid`` if it was made with these terms; None if ``pid`` is unused.
    ``ReferenceUsed`` if it was used with other terms (another payment, or another bank's reference)."""
    if not bool(client.contract.isPaymentIdUsed(payer, pid)):
        return None
    label = f"payment id {_hex(pid)}"
    found = [p for p in client.payments(payment_id=pid) if p.payer.lower() == payer.lower()]
    if not found:
        raise ReferenceUsed(f"{label} was already used by {payer} in the network (no InterbankPayment event of it from "
                            f"block {client.deploy_block}: check --interbank and the record's deploy block)")
    p = found[0]
    terms = [x.lower() for x in (p.from_token, p.to_token, p.payer, p.payee)]
    if terms != [x.lower() for x in (frm.address, to.address, payer, payee)] or p.amount != units:
        raise ReferenceUsed(f"{label} was already used in the network with other terms: {p.payer} paid {p.payee} "
                            f"{frm.format(p.amount)} from {client.token(p.from_token).symbol} to "
                            f"{client.token(p.to_token).symbol} in tx {p.tx}")
    return p


def require_bank_ledger(session: Session, frm: TokenClient) -> None:
    """Refuses a ledger that is not the paying bank's (bound to ``frm``'s token on the connected chain)."""
    from ..chain import connected_chain_id

    binding = ledger_binding(session)
    if binding is None:
        raise DepositTokenError("this ledger is not bound to a token yet: the paying bank's ledger records its interbank "
                                "payments (any chain-facing ledger command binds it, e.g. deptoken sync)")
    chain_id, token, _ = binding
    if token.lower() != frm.address.lower():
        raise DepositTokenError(f"this ledger belongs to token {token}, not the paying bank's {frm.symbol} {frm.address}: "
                                "a payment is sent by the paying bank's tooling")
    if chain_id != connected_chain_id():
        raise DepositTokenError(f"this ledger belongs to chain {chain_id}, not the connected chain {connected_chain_id()}")


def _records(payer: str, pid: bytes) -> Any:
    """The query of ``payer``'s payments under ``pid`` (ids are scoped by the payer)."""
    return select(InterbankPaymentRecord).where(InterbankPaymentRecord.payment_id == _hex(pid),
                                                InterbankPaymentRecord.payer == payer).order_by(InterbankPaymentRecord.id)


def _open_record(session: Session, payer: str, pid: bytes) -> InterbankPaymentRecord | None:
    return session.scalars(_records(payer, pid).where(InterbankPaymentRecord.status.in_(OPEN))).first()


def _mark_paid(session: Session, record: InterbankPaymentRecord | None, tx: str, actor: str) -> None:
    if record is None:
        return
    record.status, record.tx_hash, record.error = Status.PAID, tx, None
    audit.record(session, actor, "interbank.paid", f"interbank payment {record.id}",
                 {"payment_id": record.payment_id, "amount": int(record.amount), "payee": record.payee}, tx_hash=tx)


def _new_record(client: InterbankClient, frm: TokenClient, to: TokenClient, payer: str, payee: str, units: int,
                pid: bytes, signed: SignedPayment | None, status: Status) -> InterbankPaymentRecord:
    return InterbankPaymentRecord(
        payment_id=_hex(pid), network=client.address, from_token=frm.address, to_token=to.address, payer=payer,
        payee=payee, amount=units, status=status, signed=signed.to_json() if signed is not None else None,
        valid_before=int(signed.authorization.message["validBefore"]) if signed is not None else None)


def _sending(session: Session, make: Callable[[], InterbankPaymentRecord], payer: str, pid: bytes) -> Callable[[Transaction], None]:
    """The outbox ``link``: the payment's row (the open one, else a new one) points at the transaction
    stored, in the same commit."""

    def link(tx: Transaction) -> None:
        record = _open_record(session, payer, pid)
        if record is None:
            record = make()
            session.add(record)
        record.status, record.tx_id, record.error = Status.SENDING, tx.id, None
        session.flush()

    return link


def _settled(session: Session, payer: str, pid: bytes, tx: Transaction, actor: str) -> Sent:
    """After the outbox sent the payment: its row paid (or failed: the transaction reverted)."""
    record = _open_record(session, payer, pid)
    if tx.status != TransactionStatus.MINED:
        if record is not None:
            record.status, record.error = Status.FAILED, f"transaction {tx.tx_hash} {tx.status}"
        session.commit()
        raise TransactionReverted(f"the payment's transaction {tx.tx_hash} was {tx.status}: payment id {_hex(pid)} is unpaid")
    _mark_paid(session, record, tx.tx_hash, actor)
    session.commit()
    return Sent(pid, tx.tx_hash, record=record.id if record is not None else None)


def _outbox_client(session: Session, client: InterbankClient, payer: str, pid: bytes,
                   make: Callable[[], InterbankPaymentRecord]) -> InterbankClient:
    return client.with_transport(outbox.transport(session, purpose=f"interbank payment {_hex(pid)[:18]}",
                                                  link=_sending(session, make, payer, pid)))


def _already(session: Session, pid: bytes, done: InterbankPayment, actor: str) -> Sent:
    record = _open_record(session, done.payer, pid)
    _mark_paid(session, record, done.tx, actor)
    session.commit()
    if record is None:  # recorded as paid by an earlier run (or paid around this ledger: None)
        record = session.scalars(_records(done.payer, pid).where(InterbankPaymentRecord.status == Status.PAID)).first()
    return Sent(pid, done.tx, already=True, record=record.id if record is not None else None)


def submit(session: Session | None, client: InterbankClient, signed: SignedPayment, *, sender: Any) -> Sent:
    """Submits a payer's signed payment. With the bank's ledger (``session``, the paying bank's): through the
    outbox, exactly once (see the module docstring); without: straight to the node."""
    if session is None:
        receipt = client.submit_signed_payment(signed, sender=sender)
        return Sent(signed.payment_id, str(receipt.txn_hash))
    frm, to = client.token(signed.from_token), client.token(signed.to_token)
    actor = address_of(sender, "sender")
    require_bank_ledger(session, frm)
    outbox.resolve_all(session, sender=actor)  # a crash left it in flight: mined, sent again, or void
    pid = signed.payment_id
    if (done := paid_before(client, frm, to, signed.payer, signed.payee, signed.amount, pid)) is not None:
        return _already(session, pid, done, actor)

    def make() -> InterbankPaymentRecord:
        return _new_record(client, frm, to, signed.payer, signed.payee, signed.amount, pid, signed, Status.SENDING)

    tx = _outbox_client(session, client, signed.payer, pid, make).submit_signed_payment(signed, sender=sender)
    return _settled(session, signed.payer, pid, tx, actor)


def pay(session: Session | None, client: InterbankClient, payer: Any, from_token: Any, to_token: Any, payee: Any,
        amount: Any, payment_id: str | bytes, *, approve: bool = True) -> Sent:
    """``payer`` pays ``payee`` (``InterbankClient.pay``). With the bank's ledger (``session``): through the
    outbox, exactly once, the approval too; a payment within one bank (a plain transfer, no id on chain) is
    refused there."""
    from ..settlement.interbank import payment_id_bytes

    if session is None:
        result = client.pay(payer, from_token, to_token, payee, amount, payment_id, sender=payer, approve=approve)
        approve_tx = str(result.approve_receipt.txn_hash) if result.approve_receipt else None
        return Sent(result.payment_id, str(result.receipt.txn_hash), approve_tx=approve_tx, same_bank=result.same_bank)
    frm, to = client.token(from_token), client.token(to_token)
    if frm.address == to.address:
        raise InvalidInput("a payment within one bank is a plain transfer (no payment id on chain): the ledger records "
                           "interbank payments only")
    payer_address, payee_address = address_of(payer, "payer"), address_of(payee, "payee")
    units, pid = frm.units(amount), payment_id_bytes(payment_id)
    require_bank_ledger(session, frm)
    outbox.resolve_all(session, sender=payer_address)
    if (done := paid_before(client, frm, to, payer_address, payee_address, units, pid)) is not None:
        return _already(session, pid, done, payer_address)

    def make() -> InterbankPaymentRecord:
        return _new_record(client, frm, to, payer_address, payee_address, units, pid, None, Status.SENDING)

    try:
        result = _outbox_client(session, client, payer_address, pid, make).pay(payer, frm, to, payee_address, amount, pid,
                                                                                 sender=payer, approve=approve)
    except (Refused, InvalidInput, TransactionReverted) as exc:  # refused before the payment was signed
        session.rollback()
        if (record := _open_record(session, payer_address, pid)) is not None:  # only its approval was sent
            record.status, record.error = Status.FAILED, first_line(exc)
            session.commit()
        raise
    sent = _settled(session, payer_address, pid, result.receipt, payer_address)
    approve_tx = result.approve_receipt.tx_hash if result.approve_receipt is not None else None
    return Sent(pid, sent.tx, record=sent.record, approve_tx=approve_tx)


# ---------------------------------------------------------------------------- the queue


def enqueue(session: Session, client: InterbankClient, signed: SignedPayment, *, actor: str = "interbank") -> InterbankPaymentRecord:
    """Queues a payer's signed payment in the paying bank's ledger (after checking the signature: network,
    payee, bank and id bound by its nonce, signer, validity, nonce unused). Commits."""
    from ..settlement.interbank import payment_nonce
    from ..token.authorizations import verify

    frm, to = client.token(signed.from_token), client.token(signed.to_token)
    require_bank_ledger(session, frm)
    message = signed.authorization.message
    if signed.network != client.address or message["to"] != client.address:
        raise InvalidInput(f"the payment was signed for the network {message['to']}, not {client.address}")
    if message["nonce"] != payment_nonce(client.address, to.address, signed.payee, signed.payment_id):
        raise InvalidInput("the signature was not given for this payee, bank and payment id (its nonce differs)")
    verify(frm, signed.authorization, sender=client.address)
    if (found := _open_record(session, signed.payer, signed.payment_id)) is not None:
        raise ReferenceUsed(f"payment id {_hex(signed.payment_id)} is already {found.status} in this ledger (#{found.id})")
    record = _new_record(client, frm, to, signed.payer, signed.payee, signed.amount, signed.payment_id, signed, Status.QUEUED)
    session.add(record)
    session.flush()
    audit.record(session, actor, "interbank.queued", f"interbank payment {record.id}",
                 {"payment_id": record.payment_id, "amount": signed.amount, "payee": signed.payee})
    session.commit()
    return record


def queued(session: Session, *, every: bool = False) -> Sequence[InterbankPaymentRecord]:
    """The queue in order (``every``: every recorded payment, whatever its status)."""
    query = select(InterbankPaymentRecord).order_by(InterbankPaymentRecord.id)
    if not every:
        query = query.where(InterbankPaymentRecord.status.in_(OPEN))
    return session.scalars(query).all()


def drop(session: Session, record_id: int, *, actor: str = "interbank") -> InterbankPaymentRecord:
    """Takes a queued payment off the queue (nothing was sent for it). Commits."""
    record = session.get(InterbankPaymentRecord, record_id)
    if record is None:
        raise InvalidInput(f"no interbank payment #{record_id} in this ledger")
    if record.status != Status.QUEUED:
        raise Refused(f"interbank payment #{record_id} is {record.status}, not queued"
                      + (": its transaction is in flight (queue run settles it)" if record.status == Status.SENDING else ""))
    record.status = Status.DROPPED
    audit.record(session, actor, "interbank.dropped", f"interbank payment {record.id}", {"payment_id": record.payment_id})
    session.commit()
    return record


def run_queue(session: Session, client: InterbankClient, *, sender: Any) -> list[QueueOutcome]:
    """Submits the queued signed payments of ``client``'s network in order, each through the outbox, while the
    paying bank's headroom allows; the first that does not fit and every one behind it stay queued. Already
    paid (a crash after broadcast) -> paid; past ``validBefore`` -> expired; refused otherwise -> failed. Commits."""
    from ..chain import next_block_time
    from ..settlement.interbank import SignedPayment

    actor = address_of(sender, "sender")
    outbox.resolve_all(session, sender=actor)
    records = session.scalars(select(InterbankPaymentRecord).where(
        InterbankPaymentRecord.status.in_(OPEN), InterbankPaymentRecord.network == client.address,
        InterbankPaymentRecord.signed.is_not(None)).order_by(InterbankPaymentRecord.id)).all()
    outcomes: list[QueueOutcome] = []
    waiting: str | None = None
    now = next_block_time()

    def note(record: InterbankPaymentRecord, detail: str | None = None) -> None:
        outcomes.append(QueueOutcome(record.id, record.payment_id, int(record.amount), str(record.status), record.tx_hash, detail))

    for record in records:
        signed = SignedPayment.from_json(record.signed or "")
        frm, to = client.token(signed.from_token), client.token(signed.to_token)
        require_bank_ledger(session, frm)
        pid = signed.payment_id
        try:
            done = paid_before(client, frm, to, signed.payer, signed.payee, signed.amount, pid)
        except ReferenceUsed as exc:
            record.status, record.error = Status.FAILED, str(exc)
            session.commit()
            note(record, str(exc))
            continue
        if done is not None:
            _mark_paid(session, record, done.tx, actor)
            session.commit()
            note(record, "already paid")
            continue
        if record.valid_before is not None and record.valid_before <= now:
            record.status, record.error = Status.EXPIRED, f"its signature expired (validBefore {record.valid_before})"
            audit.record(session, actor, "interbank.expired", f"interbank payment {record.id}", {"payment_id": record.payment_id})
            session.commit()
            note(record, record.error)
            continue
        if waiting is not None:  # in order: nothing overtakes a payment waiting for headroom
            note(record, f"behind #{waiting}")
            continue
        try:
            tx = _outbox_client(session, client, signed.payer, pid, lambda: record).submit_signed_payment(signed, sender=sender)
        except HeadroomExceeded as exc:
            session.rollback()
            waiting = str(record.id)
            note(record, str(exc))
            continue
        except (Refused, InvalidInput, TransactionReverted) as exc:
            session.rollback()
            if record.status == Status.SENDING and record.tx_id is not None:
                raise  # signed and stored: the next run settles it
            record.status, record.error = Status.FAILED, first_line(exc)
            session.commit()
            note(record, record.error)
            continue
        try:
            _settled(session, signed.payer, pid, tx, actor)
        except TransactionReverted as exc:
            note(record, str(exc))
            continue
        note(record)
    return outcomes


__all__ = ["QueueOutcome", "Sent", "drop", "enqueue", "paid_before", "pay", "queued", "record_dict", "require_bank_ledger",
           "run_queue", "submit"]
