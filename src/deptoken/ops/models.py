"""The ledger's tables (SQLAlchemy 2): clients, operators, deposits, requests and approvals, the
transaction outbox, indexed chain events, redemptions and payouts, reconciliations, the audit log.

Amounts are integers in the currency's minor units (``MinorUnits``: exact on every database).
Statuses and kinds are ``StrEnum``s (``statuses``) that the database checks too (``state_column``).
Schema changes go through Alembic (``deptoken/ops/migrations``), never ``create_all``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

if TYPE_CHECKING:
    from .params import RequestParams

from .statuses import (
    ClientStatus,
    Decision,
    DepositStatus,
    InterbankPaymentStatus,
    JobAction,
    JobStatus,
    PayoutFormat,
    RedemptionStatus,
    RequestKind,
    RequestStatus,
    TransactionStatus,
    values,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        # PostgreSQL answers in the session's TimeZone (often local time): back to UTC, as written
        return value.astimezone(UTC) if value is not None else None


class MinorUnits(TypeDecorator[int]):
    """An amount in minor units (up to 2**256): NUMERIC(78,0) on PostgreSQL, decimal text on SQLite,
    whose integers stop at 2**63."""

    impl = String(80)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(78, 0))
        return dialect.type_descriptor(String(80))

    def process_bind_param(self, value: int | None, dialect: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"minor units must be int, got {type(value).__name__}")
        return Decimal(value) if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, dialect: Any) -> int | None:
        return None if value is None else int(value)


def state_type(enum: type[StrEnum], column: str, length: int = 16) -> Enum:
    """A ``StrEnum`` column: VARCHAR(``length``) holding the member's text, with a CHECK constraint
    (``ck_<table>_<column>``) that refuses any other text; loads as the member."""
    return Enum(enum, name=column, native_enum=False, length=length, values_callable=values, create_constraint=True,
                validate_strings=False)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Operator(Base):
    """A member of the bank's operations team, known by the address of the key they sign with."""

    __tablename__ = "operators"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(42), unique=True)
    can_request: Mapped[bool] = mapped_column(Boolean)
    can_approve: Mapped[bool] = mapped_column(Boolean)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    person_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # the person: one identity each
    permissions: Mapped[list[str] | None] = mapped_column(JSON)  # actions they may take (None: all)
    max_amount: Mapped[int | None] = mapped_column(MinorUnits)  # largest amount they may request or approve
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Client(Base):
    """An onboarded (KYC'd) client of the bank and the address it holds tokens at."""

    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(35), unique=True)
    address: Mapped[str] = mapped_column(String(42), unique=True)
    legal_name: Mapped[str] = mapped_column(String(140))
    country: Mapped[str] = mapped_column(String(2))
    lei: Mapped[str | None] = mapped_column(String(20))
    review_date: Mapped[date] = mapped_column(Date)
    status: Mapped[ClientStatus] = mapped_column(state_type(ClientStatus, "status"))
    payout_account: Mapped[str | None] = mapped_column(String(34))  # IBAN or local account; None: not given
    payout_bic: Mapped[str | None] = mapped_column(String(11))  # the bank holding it; None: on-us
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class AllowlistJob(Base):
    """One allowlist change for one client (onboard, renew, offboard), applied on-chain in batches."""

    __tablename__ = "allowlist_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    run: Mapped[str] = mapped_column(String(64), index=True)  # the import it came from (file hash or id)
    action: Mapped[JobAction] = mapped_column(state_type(JobAction, "action"))
    client_pk: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    address: Mapped[str] = mapped_column(String(42))
    expiry: Mapped[int | None] = mapped_column(BigInteger)  # unix seconds (onboard, renew)
    review_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[JobStatus] = mapped_column(state_type(JobStatus, "status"), index=True)
    tx_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    maker_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))  # who imported it
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))  # the second operator
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    client: Mapped[Client] = relationship()


class Deposit(Base):
    """Fiat the bank received for a client, to be minted as tokens (once).

    One row per version: an amendment (or the assignment of a suspense credit to a client) adds a
    row that ``supersedes`` the previous one, which stays as history. A reference is unique among
    live rows regardless of case (checked by ``deposits``: the on-chain reference hashes the text)."""

    __tablename__ = "deposits"
    id: Mapped[int] = mapped_column(primary_key=True)
    bank_reference: Mapped[str] = mapped_column(String(35), index=True)
    client_pk: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))  # None: in suspense
    client_ref: Mapped[str | None] = mapped_column(String(35))  # the client id as received (suspense)
    amount: Mapped[int] = mapped_column(MinorUnits)
    currency: Mapped[str] = mapped_column(String(3))
    value_date: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(200))  # manual | csv:<file> | camt.054:<file> | amend:<id>
    status: Mapped[DepositStatus] = mapped_column(state_type(DepositStatus, "status"), default=DepositStatus.RECORDED,
                                                  server_default=DepositStatus.RECORDED.value)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("deposits.id"))  # the version this one replaced
    reason: Mapped[str | None] = mapped_column(String(200))  # why amended or returned
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    client: Mapped[Client | None] = relationship()


Index("ix_deposits_reference_lower", func.lower(Deposit.bank_reference))


class Request(Base):
    """An operation that needs maker-checker approval before it runs on-chain."""

    __tablename__ = "requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RequestKind] = mapped_column(state_type(RequestKind, "kind"))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # as signed: ``parameters`` is the typed form
    digest: Mapped[str] = mapped_column(String(66), unique=True)  # what the operators sign
    amount: Mapped[int | None] = mapped_column(MinorUnits)
    deposit_id: Mapped[int | None] = mapped_column(ForeignKey("deposits.id"), unique=True)
    required_approvals: Mapped[int] = mapped_column(Integer)
    status: Mapped[RequestStatus] = mapped_column(state_type(RequestStatus, "status"), index=True)
    maker_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    maker_signature: Mapped[str] = mapped_column(String(132))
    reason: Mapped[str | None] = mapped_column(String(200))
    tx_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # expiry counts from here
    lease_owner: Mapped[str | None] = mapped_column(String(80))  # the executor running it (status executing)
    lease_expires: Mapped[datetime | None] = mapped_column(UtcDateTime)  # after this another executor may take over
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    maker: Mapped[Operator] = relationship()
    deposit: Mapped[Deposit | None] = relationship()
    approvals: Mapped[list[Approval]] = relationship(back_populates="request", order_by="Approval.id")

    @property
    def parameters(self) -> RequestParams:
        """The stored ``params`` as the typed parameters of the request's kind (``params.from_json``)."""
        from .params import from_json

        return from_json(self.kind, self.params)


class Approval(Base):
    """A checker's signed decision on a request."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("request_id", "operator_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    decision: Mapped[Decision] = mapped_column(state_type(Decision, "decision", 8))
    signature: Mapped[str] = mapped_column(String(132))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    request: Mapped[Request] = relationship(back_populates="approvals")
    operator: Mapped[Operator] = relationship()


class Transaction(Base):
    """The outbox: every transaction the tool signs, stored before it is broadcast."""

    __tablename__ = "transactions"
    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(64))
    chain_id: Mapped[int] = mapped_column(Integer)
    sender: Mapped[str] = mapped_column(String(42))
    nonce: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(String(66), unique=True)
    raw: Mapped[str] = mapped_column(Text)
    status: Mapped[TransactionStatus] = mapped_column(state_type(TransactionStatus, "status"), index=True)
    block_number: Mapped[int | None] = mapped_column(Integer)
    gas_used: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class InterbankPaymentRecord(Base):
    """An interbank payment the bank's tooling sends for its client (``deptoken.ops.interbank_payments``): the
    payment's terms, the payer's signed payment file (NULL: the payer sent it itself, ``interbank pay``), and the
    outbox transaction that paid it. A payment over the bank's headroom waits here, ``queued``, in ``id`` order."""

    __tablename__ = "interbank_payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(66), index=True)
    network: Mapped[str] = mapped_column(String(42))
    from_token: Mapped[str] = mapped_column(String(42))
    to_token: Mapped[str] = mapped_column(String(42))
    payer: Mapped[str] = mapped_column(String(42))
    payee: Mapped[str] = mapped_column(String(42))
    amount: Mapped[int] = mapped_column(MinorUnits)
    valid_before: Mapped[int | None] = mapped_column(BigInteger)  # the signature's validBefore (NULL: no signature)
    signed: Mapped[str | None] = mapped_column(Text)  # the signed payment file (JSON)
    status: Mapped[InterbankPaymentStatus] = mapped_column(state_type(InterbankPaymentStatus, "status"), index=True)
    tx_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    tx_hash: Mapped[str | None] = mapped_column(String(66))  # the transaction that paid it (from the chain's event)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    tx: Mapped[Transaction | None] = relationship()


class SyncState(Base):
    """How far the indexer has synced one token."""

    __tablename__ = "sync_state"
    token: Mapped[str] = mapped_column(String(42), primary_key=True)
    chain_id: Mapped[int] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(Integer)
    block_hash: Mapped[str] = mapped_column(String(66))
    anchor_hash: Mapped[str | None] = mapped_column(String(66))  # the token's deployment block's: the chain for good (NULL: bound before 0004)
    decimals: Mapped[int | None] = mapped_column(Integer)  # the token's, so that reads need no node
    symbol: Mapped[str | None] = mapped_column(String(16))
    currency: Mapped[str | None] = mapped_column(String(3))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class IndexedBlock(Base):
    """The hash of each block the indexer took events from (or stopped at): the reorg check."""

    __tablename__ = "indexed_blocks"
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash: Mapped[str] = mapped_column(String(66))
    timestamp: Mapped[int] = mapped_column(BigInteger)


class ChainEvent(Base):
    """One event of the token, decoded. Transfers also fill ``sender``/``recipient``/``amount``."""

    __tablename__ = "chain_events"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    block_number: Mapped[int] = mapped_column(Integer, index=True)
    block_hash: Mapped[str] = mapped_column(String(66))
    timestamp: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(40), index=True)
    sender: Mapped[str | None] = mapped_column(String(42), index=True)
    recipient: Mapped[str | None] = mapped_column(String(42), index=True)
    amount: Mapped[int | None] = mapped_column(MinorUnits)
    reference: Mapped[str | None] = mapped_column(String(66), index=True)  # deposit/payout/burn ref
    args: Mapped[dict[str, Any]] = mapped_column(JSON)


class Redemption(Base):
    """A holder's redemption (a ``Redeemed`` event): the bank owes a fiat payout, exactly once."""

    __tablename__ = "redemptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    tx_hash: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(Integer)
    holder: Mapped[str] = mapped_column(String(42), index=True)
    client_pk: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    amount: Mapped[int] = mapped_column(MinorUnits)
    payout_ref: Mapped[str] = mapped_column(String(66))
    status: Mapped[RedemptionStatus] = mapped_column(state_type(RedemptionStatus, "status"), index=True)
    payout_file_id: Mapped[int | None] = mapped_column(ForeignKey("payout_files.id"))
    paid_reference: Mapped[str | None] = mapped_column(String(35))
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # what the payout file instructed, taken at export (None: exported before payout accounts)
    creditor_account: Mapped[str | None] = mapped_column(String(34))
    creditor_bic: Mapped[str | None] = mapped_column(String(11))  # None: on-us
    end_to_end_id: Mapped[str | None] = mapped_column(String(35))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("tx_hash", "log_index"),)
    client: Mapped[Client | None] = relationship()


class PayoutFile(Base):
    """A payout instruction file handed to the bank's payment system."""

    __tablename__ = "payout_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    format: Mapped[PayoutFormat] = mapped_column(state_type(PayoutFormat, "format"))
    path: Mapped[str] = mapped_column(String(400))
    sha256: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(MinorUnits)
    exported_by: Mapped[str | None] = mapped_column(String(64))  # the operator who exported it
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Reconciliation(Base):
    """The result of one reconciliation of chain and ledger."""

    __tablename__ = "reconciliations"
    id: Mapped[int] = mapped_column(primary_key=True)
    block_number: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Statement(Base):
    """A camt.053 statement written: its id is the sequence that makes the message id unique."""

    __tablename__ = "statements"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    block_number: Mapped[int] = mapped_column(Integer)
    reconciled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class AuditEntry(Base):
    """An append-only, hash-chained record of who did what (database triggers refuse edits)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(120))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    block_number: Mapped[int | None] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class CrossChainAttestation(Base):
    """One attester's signature of one cross-chain message (``deptoken.crosschain.relay``): a ``transfer``
    attestation (the message was sent: it may be received, or refused, on its destination) or a
    ``refund`` one (the destination refused it: its source may refund it). One row per message, kind and
    signer: attesting again returns the row, never a second signature."""

    __tablename__ = "crosschain_attestations"
    __table_args__ = (UniqueConstraint("message_id", "kind", "signer"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(66), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # transfer | refund
    signer: Mapped[str] = mapped_column(String(42))
    signature: Mapped[str] = mapped_column(String(132))  # 0x + 65 bytes
    message: Mapped[str] = mapped_column(Text)  # the 320-byte message, 0x-hex
    source_chain_id: Mapped[int] = mapped_column(BigInteger)
    destination_chain_id: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(MinorUnits)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CrossChainCursor(Base):
    """How far the attester service (``deptoken.crosschain.service``) has followed one source messenger:
    every message sent up to ``block_number`` (confirmed when read) was looked at; ``block_hash`` is that
    block's, so that a reorg deeper than the confirmations is seen and the blocks after the fork are read again."""

    __tablename__ = "crosschain_cursors"
    source_chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    messenger: Mapped[str] = mapped_column(String(42), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ConsoleUser(Base):
    """Someone who logs in to the operations console (``deptoken.console``): a console role (what the
    pages let them do) and, for a role that signs, the ledger operator they are (whose key signs)."""

    __tablename__ = "console_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)  # argon2id, encoded with its parameters and salt
    role: Mapped[str] = mapped_column(String(16))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # since the last successful login
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    operator: Mapped[Operator | None] = relationship()


class ConsoleSession(Base):
    """A console login: the cookie holds a random token, the ledger only its SHA-256 (``id``)."""

    __tablename__ = "console_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # logged out, locked or expired
    user: Mapped[ConsoleUser] = relationship()
