"""The audit log: append-only (database triggers refuse UPDATE and DELETE) and hash-chained, so an
edit made around the tool (a restored backup, a direct SQL change) shows up in ``verify``."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AuditEntry, utcnow

GENESIS = "0" * 64


def _entry_hash(prev_hash: str, at: datetime, actor: str, action: str, subject: str, details: dict[str, Any],
                tx_hash: str | None, block_number: int | None) -> str:
    body = json.dumps(
        [prev_hash, at.isoformat(), actor, action, subject, details, tx_hash, block_number],
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


_LOCK_KEY = 0x64657074_6F6B656E  # "deptoken": the PostgreSQL advisory lock of the audit log


def _lock_log(session: Session) -> None:
    """Makes this transaction the only one appending until it ends, so that it reads the newest
    entry: otherwise two concurrent transactions both chain to the same entry (a fork that
    ``verify`` reports as tampering). ``SELECT ... FOR UPDATE`` on the last row is not enough on
    PostgreSQL: the waiting transaction gets that same row once the first commits."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
    elif connection.dialect.name == "sqlite":
        # pysqlite opens a transaction only at the first write; reading first would let another
        # writer commit in between. BEGIN IMMEDIATE takes the write lock before the read.
        if not connection.connection.driver_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def record(
    session: Session,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
    *,
    tx_hash: str | None = None,
    block_number: int | None = None,
) -> AuditEntry:
    """Appends one entry, chained to the previous one (in the caller's transaction)."""
    _lock_log(session)
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1).with_for_update()).first()
    prev = last.hash if last else GENESIS
    at = utcnow().replace(microsecond=0)
    details = json.loads(json.dumps(details or {}, default=str))
    entry = AuditEntry(
        at=at, actor=actor, action=action, subject=subject, details=details, tx_hash=tx_hash,
        block_number=block_number, prev_hash=prev,
        hash=_entry_hash(prev, at, actor, action, subject, details, tx_hash, block_number),
    )
    session.add(entry)
    session.flush()
    return entry


def verify(session: Session) -> list[str]:
    """Every break in the chain (an edited, removed or inserted entry); empty when intact."""
    problems = []
    prev = GENESIS
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        expected = _entry_hash(prev, entry.at, entry.actor, entry.action, entry.subject, entry.details,
                               entry.tx_hash, entry.block_number)
        if entry.prev_hash != prev:
            problems.append(f"entry {entry.id}: does not follow the previous entry (one was removed or inserted)")
        elif entry.hash != expected:
            problems.append(f"entry {entry.id}: content does not match its hash (edited)")
        prev = entry.hash
    return problems
