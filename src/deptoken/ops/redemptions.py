"""Redemptions and their fiat payouts: each ``Redeemed`` event the indexer records is instructed in
exactly one payout file (ISO 20022 pacs.008 or CSV) and marked paid exactly once.

An export prepares the file's record (message id, time, which redemptions) in the open transaction,
renders the file from it and writes it, and only then commits: a write error (a full disk, a wrong
directory) leaves nothing recorded and the redemptions ready for the next export. A file lost after
the export is written again, byte for byte, by ``render_payout_file`` (anywhere: ``directory``); the
redemptions can never land in a second file. Marking a file paid needs another operator than the one
who exported it (policy ``paid_by_another_operator``), or the payment system's own confirmation (a
camt.054 debit notification, ``confirm_paid``), matched payout by payout.

Each payout names the client's payout account (``clients.payout_account``/``payout_bic``): at the
bank itself (on-us), or at another bank, which is then the creditor agent. A redemption whose client
has none is not instructed (skipped, named) until a renewal file gives one.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import DepositTokenError
from . import audit
from .context import IssuerContext
from .models import Client, PayoutFile, Redemption, utcnow
from .statuses import RedemptionStatus

FORMATS = ("pacs.008", "csv")
CSV_COLUMNS = ("instruction_id", "end_to_end_id", "uetr", "amount", "currency", "client_id", "legal_name",
               "holder", "tx_hash", "log_index", "payout_ref", "creditor_account", "creditor_agent_bic")
LEGACY_CSV_COLUMNS = 11  # files exported before payout accounts end at payout_ref


def redemptions(session: Session, status: str | None = None) -> list[Redemption]:
    query = select(Redemption).order_by(Redemption.block_number, Redemption.log_index)
    if status:
        query = query.where(Redemption.status == status)
    return list(session.scalars(query))


def payout_reference_text(payout_ref: str) -> str | None:
    """The holder's payout reference as text, when the chain carries it so: a ``bytes32`` holding
    printable ASCII, right-padded with zero bytes (``PAY-0001`` as ``0x5041592d30303031 00...``);
    None for a hashed reference (``keccak256`` of the text, the tooling's own encoding)."""
    text = bytes.fromhex(payout_ref[2:]).rstrip(b"\0")
    if text and all(0x20 <= b < 0x7F for b in text) and text == text.strip():
        return text.decode("ascii")
    return None


def end_to_end_id(r: Redemption) -> str:
    """The EndToEndId (ISO 20022 Max35Text) a payout carries to the client: its payout reference as
    text if known (see ``payout_reference_text``), else the first 32 hex digits of its hash."""
    return payout_reference_text(r.payout_ref) or r.payout_ref[2:34]


def _uetr(r: Redemption) -> str:
    key = f"{r.tx_hash}:{r.log_index}"
    return str(uuid.UUID(hashlib.sha256(key.encode()).hexdigest()[:32], version=4))


def _instruction(r: Redemption) -> tuple[str, str, str]:
    """(instruction id, end-to-end id, UETR): derived from the redemption itself, the same every time
    (the end-to-end id as taken at export; before payout accounts, the hash's first hex digits)."""
    return f"DTR-{r.id}", r.end_to_end_id or r.payout_ref[2:34], _uetr(r)


@dataclass(frozen=True)
class ExportResult:
    file: PayoutFile | None  # None: nothing to instruct
    skipped: list[str]  # redemptions that cannot be instructed yet, and why


def export_payouts(session: Session, ops: IssuerContext, directory: str | Path, fmt: str, *, actor: str) -> ExportResult:
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
        elif r.client.payout_account is None:
            skipped.append(f"redemption {r.tx_hash}:{r.log_index}: client {r.client.client_id} has no payout account "
                           "(a renewal file gives it: payout_account, payout_bic)")
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
    for r in todo:  # what is instructed is kept: a later change of the client's account does not alter the file
        r.status, r.payout_file_id = RedemptionStatus.INSTRUCTED, record.id
        r.creditor_account, r.creditor_bic, r.end_to_end_id = r.client.payout_account, r.client.payout_bic, end_to_end_id(r)
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


def render_payout_file(session: Session, ops: IssuerContext, file_id: int, *, directory: str | Path | None = None) -> Path:
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


def _render(session: Session, ops: IssuerContext, record: PayoutFile) -> bytes:
    rows = list(session.scalars(select(Redemption).where(Redemption.payout_file_id == record.id).order_by(Redemption.id)))
    currency = ops.client.currency
    legacy = rows[0].end_to_end_id is None  # exported before payout accounts: written as it was then
    if record.format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS[:LEGACY_CSV_COLUMNS] if legacy else CSV_COLUMNS)
        for r in rows:
            instruction, end_to_end, uetr = _instruction(r)
            row = [instruction, end_to_end, uetr, ops.client.to_decimal(r.amount), currency, r.client.client_id,
                   r.client.legal_name, r.holder, r.tx_hash, r.log_index, r.payout_ref]
            writer.writerow(row if legacy else [*row, r.creditor_account, r.creditor_bic or ""])
        return out.getvalue().encode()
    from ..iso20022 import Party, Payout, build_pacs008

    bank = ops.bank()
    payouts = []
    for r in rows:
        instruction, end_to_end, uetr = _instruction(r)
        creditor = Party(name=r.client.legal_name, country=r.client.country, lei=r.client.lei, account=r.creditor_account)
        agent = Party("", bic=r.creditor_bic) if r.creditor_bic else None  # None: on-us, the bank itself
        payouts.append(Payout(instruction, end_to_end, uetr, ops.client.to_decimal(r.amount), currency, creditor,
                              f"Redemption of {ops.client.symbol} deposit tokens, tx {r.tx_hash}:{r.log_index}", agent))
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
    paid = [r for r in rows if r.status == RedemptionStatus.PAID]
    if paid:
        raise DepositTokenError(f"payout file #{file_id} ({record.message_id}) is already marked paid ({paid[0].paid_reference})")
    if any(r.status != RedemptionStatus.INSTRUCTED for r in rows):
        raise DepositTokenError(f"payout file #{file_id} has redemptions that are not instructed (orphaned by a reorg?)")
    when = when or utcnow()
    for r in rows:
        r.status, r.paid_reference, r.paid_at = RedemptionStatus.PAID, reference, when
    audit.record(session, actor, "payouts.paid", record.message_id,
                 {"reference": reference, "count": len(rows), "exported_by": record.exported_by})
    return len(rows)



@dataclass(frozen=True)
class Confirmation:
    message_id: str  # the payment system's notification
    paid: int  # payouts marked paid now
    already: int  # payouts this notification had confirmed before (a resent file)
    files: list[int]  # the payout files they belong to


def confirm_paid(
    session: Session, path: str | Path, token: Any, *, actor: str, file_id: int | None = None
) -> Confirmation:
    """Marks paid the payouts a camt.054 debit notification from the payment system confirms (its
    booked debits, matched by InstrId, else UETR; EndToEndId, UETR and the pacs.008 MsgId must agree
    when given); the payment system is the second pair of eyes. All or nothing: an entry that matches
    no instructed payout (or one outside payout file ``file_id``), or whose amount or currency differs,
    refuses the file. ``token`` gives the currency and decimals (``TokenUnits`` or the token)."""
    from ..iso20022 import parse_camt054_debits

    path = Path(path)
    if not path.is_file():
        raise DepositTokenError(f"payment confirmation {path} not found")
    message_id, debits = parse_camt054_debits(path.read_bytes(), source=str(path))
    by_uetr: dict[str, Redemption] | None = None
    problems: list[str] = []
    confirmed: dict[int, tuple[Redemption, str, datetime]] = {}
    already = 0
    for debit in debits:
        where = f"entry {debit.entry}"
        r = None
        if debit.instruction_id and debit.instruction_id.startswith("DTR-") and debit.instruction_id[4:].isdigit():
            r = session.get(Redemption, int(debit.instruction_id[4:]))
        elif debit.uetr:
            if by_uetr is None:
                instructed = select(Redemption).where(Redemption.payout_file_id.is_not(None))
                by_uetr = {_uetr(x): x for x in session.scalars(instructed)}
            r = by_uetr.get(debit.uetr)
        if r is None or r.payout_file_id is None:
            ids = ", ".join(f"{k} {v}" for k, v in (("InstrId", debit.instruction_id), ("UETR", debit.uetr),
                                                   ("EndToEndId", debit.end_to_end_id)) if v)
            problems.append(f"{where}: matches no instructed payout ({ids})")
            continue
        record = session.get(PayoutFile, r.payout_file_id)
        instruction, end_to_end, uetr = _instruction(r)
        expected = token.to_decimal(r.amount)
        if file_id is not None and r.payout_file_id != file_id:
            problems.append(f"{where}: {instruction} is in payout file #{r.payout_file_id}, not #{file_id}")
        elif (debit.uetr and debit.uetr != uetr) or (debit.end_to_end_id and debit.end_to_end_id != end_to_end):
            problems.append(f"{where}: {instruction}'s UETR or EndToEndId differs from the instructed ones")
        elif debit.message_id and debit.message_id != record.message_id:
            problems.append(f"{where}: {instruction} was instructed in {record.message_id}, not {debit.message_id}")
        elif debit.currency != token.currency or debit.amount != expected:
            problems.append(f"{where}: {instruction} pays {debit.amount} {debit.currency}, instructed {expected} {token.currency}")
        elif r.id in confirmed:
            problems.append(f"{where}: {instruction} is confirmed twice in the file")
        elif r.status == RedemptionStatus.PAID and r.paid_reference == debit.reference:
            already += 1
        elif r.status != RedemptionStatus.INSTRUCTED:
            problems.append(f"{where}: {instruction} is {r.status}" + (f" ({r.paid_reference})" if r.paid_reference else ""))
        else:
            confirmed[r.id] = (r, debit.reference, datetime.combine(debit.booking_date, datetime.min.time(), UTC))
    if problems:
        count = f"{len(problems)} entr{'y' if len(problems) == 1 else 'ies'} refused"
        raise DepositTokenError(f"{path}: {count}, nothing marked paid: " + "; ".join(problems))
    files = sorted({r.payout_file_id for r, _, _ in confirmed.values()})
    for r, reference, when in confirmed.values():
        r.status, r.paid_reference, r.paid_at = RedemptionStatus.PAID, reference[:35], when
    if confirmed:
        audit.record(session, actor, "payouts.paid", message_id or path.name,
                     {"confirmation": "camt.054", "path": str(path), "count": len(confirmed), "already": already,
                      "files": files, "redemptions": sorted(confirmed)})
    return Confirmation(message_id, len(confirmed), already, files)
