"""Redemptions and their fiat payouts: each ``Redeemed`` event the indexer records is instructed in
exactly one payout file (ISO 20022 pacs.008 or CSV) and marked paid exactly once.

An export prepares the file's record (message id, time, which redemptions) in the open transaction,
renders the file from it and writes it, and only then commits: a write error (a full disk, a wrong
directory) leaves nothing recorded and the redemptions ready for the next export. A file lost after
the export is written again, byte for byte, by ``render_payout_file`` (anywhere: ``directory``); the
redemptions can never land in a second file. Marking a file paid needs another operator than the one
who exported it (policy ``paid_by_another_operator``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import DepositTokenError
from . import audit
from .context import Ops
from .models import Client, PayoutFile, Redemption, utcnow

FORMATS = ("pacs.008", "csv")
CSV_COLUMNS = ("instruction_id", "end_to_end_id", "uetr", "amount", "currency", "client_id", "legal_name",
               "holder", "tx_hash", "log_index", "payout_ref")


def redemptions(session: Session, status: str | None = None) -> list[Redemption]:
    query = select(Redemption).order_by(Redemption.block_number, Redemption.log_index)
    if status:
        query = query.where(Redemption.status == status)
    return list(session.scalars(query))


def _instruction(r: Redemption) -> tuple[str, str, str]:
    """(instruction id, end-to-end id, UETR): derived from the redemption itself, the same every time."""
    key = f"{r.tx_hash}:{r.log_index}"
    return f"DTR-{r.id}", r.payout_ref[2:34], str(uuid.UUID(hashlib.sha256(key.encode()).hexdigest()[:32], version=4))


@dataclass(frozen=True)
class ExportResult:
    file: PayoutFile | None  # None: nothing to instruct
    skipped: list[str]  # redemptions that cannot be instructed yet, and why


def export_payouts(session: Session, ops: Ops, directory: str | Path, fmt: str, *, actor: str) -> ExportResult:
    """Instructs every recorded redemption of a known client in one new payout file under ``directory``
    (written first, then recorded; commits). Nothing to instruct: ``file`` is None."""
    if fmt not in FORMATS:
        raise DepositTokenError(f"payout format {fmt!r}: one of {', '.join(FORMATS)}")
    todo, skipped = [], []
    for r in redemptions(session, "recorded"):
        if r.client is None:  # not a client when indexed: onboarded since?
            r.client = session.scalars(select(Client).where(Client.address == r.holder)).first()
        if r.client is None:
            skipped.append(f"redemption {r.tx_hash}:{r.log_index} by {r.holder}: not a client in the ledger")
        else:
            todo.append(r)
    if not todo:
        return ExportResult(None, skipped)
    created = utcnow().replace(microsecond=0)
    message_id = f"DTP-{created:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
    suffix = "xml" if fmt == "pacs.008" else "csv"
    record = PayoutFile(message_id=message_id, format=fmt, path=str(Path(directory).resolve() / f"{message_id}.{suffix}"),
                        sha256="", count=len(todo), total=sum(r.amount for r in todo), created_at=created,
                        exported_by=actor)
    session.add(record)
    session.flush()
    for r in todo:
        r.status, r.payout_file_id = "instructed", record.id
    data = _render(session, ops, record)
    record.sha256 = hashlib.sha256(data).hexdigest()
    audit.record(session, actor, "payouts.export", message_id,
                 {"format": fmt, "count": record.count, "total": str(record.total), "sha256": record.sha256,
                  "path": record.path})
    try:
        _write(Path(record.path), data)
    except BaseException:
        session.rollback()
        raise
    session.commit()
    return ExportResult(record, skipped)


def render_payout_file(session: Session, ops: Ops, file_id: int, *, directory: str | Path | None = None) -> Path:
    """(Re)writes payout file ``file_id`` from the ledger, at its recorded path or under ``directory``;
    refuses if it would differ from the recorded hash."""
    record = session.get(PayoutFile, file_id)
    if record is None:
        raise DepositTokenError(f"no payout file #{file_id}")
    data = _render(session, ops, record)
    if hashlib.sha256(data).hexdigest() != record.sha256:
        raise DepositTokenError(f"payout file #{file_id} would not match its recorded hash (ledger changed?)")
    path = Path(record.path) if directory is None else Path(directory).resolve() / Path(record.path).name
    _write(path, data)
    return path


def _write(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` whole (a temporary file renamed into place), flushed to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)


def _render(session: Session, ops: Ops, record: PayoutFile) -> bytes:
    rows = list(session.scalars(select(Redemption).where(Redemption.payout_file_id == record.id).order_by(Redemption.id)))
    currency = ops.client.currency
    if record.format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for r in rows:
            instruction, end_to_end, uetr = _instruction(r)
            writer.writerow([instruction, end_to_end, uetr, ops.client.to_decimal(r.amount), currency, r.client.client_id,
                             r.client.legal_name, r.holder, r.tx_hash, r.log_index, r.payout_ref])
        return out.getvalue().encode()
    from ..iso20022 import Party, Payout, build_pacs008

    bank = ops.bank()
    payouts = []
    for r in rows:
        instruction, end_to_end, uetr = _instruction(r)
        creditor = Party(name=r.client.legal_name, country=r.client.country, lei=r.client.lei)
        payouts.append(Payout(instruction, end_to_end, uetr, ops.client.to_decimal(r.amount), currency, creditor,
                              f"Redemption of {ops.client.symbol} deposit tokens, tx {r.tx_hash}:{r.log_index}"))
    return build_pacs008(message_id=record.message_id, created=record.created_at, settlement_date=record.created_at.date(),
                         debtor=bank, debtor_agent=bank, payouts=payouts)


def mark_paid(
    session: Session, *, file_id: int, reference: str, actor: str, when: datetime | None = None, four_eyes: bool = True
) -> int:
    """Marks every redemption of payout file ``file_id`` paid under the payment system's ``reference``;
    with ``four_eyes`` (policy ``paid_by_another_operator``) ``actor`` must not be who exported it."""
    reference = reference.strip()
    if not reference or len(reference) > 35:
        raise DepositTokenError("payment reference must be 1 to 35 characters")
    record = session.get(PayoutFile, file_id)
    if record is None:
        raise DepositTokenError(f"no payout file #{file_id}")
    if four_eyes and record.exported_by == actor:
        raise DepositTokenError(f"payout file #{file_id} was exported by {actor}: another operator must confirm its payment")
    rows = list(session.scalars(select(Redemption).where(Redemption.payout_file_id == file_id)))
    paid = [r for r in rows if r.status == "paid"]
    if paid:
        raise DepositTokenError(f"payout file #{file_id} ({record.message_id}) is already marked paid ({paid[0].paid_reference})")
    if any(r.status != "instructed" for r in rows):
        raise DepositTokenError(f"payout file #{file_id} has redemptions that are not instructed (orphaned by a reorg?)")
    when = when or utcnow()
    for r in rows:
        r.status, r.paid_reference, r.paid_at = "paid", reference, when
    audit.record(session, actor, "payouts.paid", record.message_id,
                 {"reference": reference, "count": len(rows), "exported_by": record.exported_by})
    return len(rows)

