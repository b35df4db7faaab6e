"""camt.054.001.08 debit/credit notifications: booked incoming payments (deposits) in, and a simulator out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from decimal import Decimal

from lxml import etree

from ..amounts import to_decimal
from ..errors import DepositTokenError
from .common import Party, amount, currency_decimals, free_text, ident, iso_date, iso_datetime
from .common import account as account_element
from .common import agent, document, party, serialize, sub, to_units
from .schemas import check, namespace, parse

MESSAGE = "camt.054.001.08"
_NS = {"c": namespace(MESSAGE)}


@dataclass(frozen=True)
class CreditEntry:
    """One booked credit (incoming payment) from a camt.054."""

    entry: int  # 1-based position of the <Ntry> in the file
    bank_reference: str  # the bank's unique reference (AcctSvcrRef)
    amount: Decimal
    currency: str
    booking_date: date
    value_date: date | None
    client_id: str  # who the deposit is for: creditor reference, else unstructured remittance
    debtor_name: str | None
    end_to_end_id: str | None
    account: str  # the notified account (IBAN or proprietary id)


def _text(el: etree._Element, path: str) -> str | None:
    """Stripped text at ``path`` (``c:`` prefixed), None if absent or blank."""
    found = el.find(path, _NS)
    text = (found.text or "").strip() if found is not None else ""
    return text or None


def _date(el: etree._Element, path: str) -> date | None:
    """The date of a DateAndDateTime2Choice (``Dt`` or the day of ``DtTm``)."""
    text = _text(el, f"{path}/c:Dt") or _text(el, f"{path}/c:DtTm")
    return date.fromisoformat(text[:10]) if text else None


def _amount(el: etree._Element | None) -> tuple[int, str] | None:
    """(minor units, currency) of an amount element, None if absent; errors on unknown currency or decimals."""
    if el is None:
        return None
    currency = el.get("Ccy", "")
    return to_units(Decimal((el.text or "").strip()), currency), currency


def _credit(ntry: etree._Element, tx: etree._Element, single: bool, number: int, acct: str) -> CreditEntry:
    """The credit of one transaction (``tx`` is ``ntry`` itself when the entry has no TxDtls)."""
    found = _amount(tx.find("c:AmtDtls/c:TxAmt/c:Amt", _NS)) or _amount(tx.find("c:Amt", _NS))
    if found is None and single:
        found = _amount(ntry.find("c:Amt", _NS))
    if found is None:
        raise DepositTokenError("no amount (TxDtls/AmtDtls/TxAmt/Amt or TxDtls/Amt)")
    if _text(tx, "c:CdtDbtInd") == "DBIT":
        raise DepositTokenError("a debit transaction inside a credit entry")
    reference = _text(tx, "c:Refs/c:AcctSvcrRef") or _text(ntry, "c:AcctSvcrRef")
    if reference is None:
        raise DepositTokenError("no bank reference (TxDtls/Refs/AcctSvcrRef or Ntry/AcctSvcrRef)")
    client = _text(tx, "c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref") or _text(tx, "c:RmtInf/c:Ustrd")
    if client is None:
        raise DepositTokenError("no client id (RmtInf/Strd/CdtrRefInf/Ref or RmtInf/Ustrd)")
    booking = _date(ntry, "c:BookgDt")
    if booking is None:
        raise DepositTokenError("no booking date (BookgDt)")
    units, currency = found
    end_to_end = _text(tx, "c:Refs/c:EndToEndId")
    return CreditEntry(
        entry=number,
        bank_reference=reference,
        amount=to_decimal(units, currency_decimals(currency)),
        currency=currency,
        booking_date=booking,
        value_date=_date(ntry, "c:ValDt"),
        client_id=client,
        debtor_name=_text(tx, "c:RltdPties/c:Dbtr/c:Pty/c:Nm"),
        end_to_end_id=None if end_to_end == "NOTPROVIDED" else end_to_end,
        account=acct,
    )


def _credits(ntry: etree._Element, number: int, acct: str) -> tuple[list[CreditEntry], list[str]]:
    """The credits in one booked credit entry (one per TxDtls), and the problems found in it."""
    txs = ntry.findall("c:NtryDtls/c:TxDtls", _NS)
    credits: list[CreditEntry] = []
    problems: list[str] = []
    for index, tx in enumerate(txs or [ntry], start=1):
        try:
            credits.append(_credit(ntry, tx, len(txs) <= 1, number, acct))
        except DepositTokenError as exc:
            problems.append(f"entry {number}" + (f" transaction {index}" if len(txs) > 1 else "") + f": {exc}")
    if len(txs) > 1 and not problems:  # a batch: its transactions must add up to the entry
        try:
            units, currency = _amount(ntry.find("c:Amt", _NS)) or (0, "")
        except DepositTokenError as exc:
            return [], [f"entry {number}: {exc}"]
        if all(c.currency == currency for c in credits):
            decimals = currency_decimals(currency)
            total = sum(to_units(c.amount, currency) for c in credits)
            if total != units:
                problems.append(f"entry {number}: transactions add up to {to_decimal(total, decimals)} {currency}, "
                                f"not the entry amount {to_decimal(units, decimals)} {currency}")
    return credits, problems


def parse_camt054(data: bytes, *, source: str) -> list[CreditEntry]:
    """Every booked credit in a camt.054.001.08 file, one per transaction; all or nothing.

    Debit, reversal and not-yet-booked entries are skipped. Any bad credit (no reference, no
    client id, unknown currency, too many decimals, reference used twice) fails the whole file
    with one error listing each of them; so does a file without booked credits.
    """
    root = parse(data, MESSAGE, source=source)
    credits: list[CreditEntry] = []
    problems: list[tuple[int, str]] = []
    number = 0
    for ntfctn in root.iterfind("c:BkToCstmrDbtCdtNtfctn/c:Ntfctn", _NS):
        acct = _text(ntfctn, "c:Acct/c:Id/c:IBAN") or _text(ntfctn, "c:Acct/c:Id/c:Othr/c:Id") or ""
        for ntry in ntfctn.iterfind("c:Ntry", _NS):
            number += 1
            if (_text(ntry, "c:CdtDbtInd") != "CRDT" or _text(ntry, "c:Sts/c:Cd") != "BOOK"
                    or _text(ntry, "c:RvslInd") in ("true", "1")):
                continue
            found, bad = _credits(ntry, number, acct)
            credits += found
            problems += [(number, p) for p in bad]
    first: dict[str, int] = {}
    for credit in credits:
        ref = credit.bank_reference
        if ref in first:
            message = f"entry {credit.entry}: bank reference {ref!r} already used by entry {first[ref]}"
            problems.append((credit.entry, message))
        first.setdefault(ref, credit.entry)
    if problems:
        problems.sort(key=lambda p: p[0])
        count = f"{len(problems)} bad entr{'y' if len(problems) == 1 else 'ies'}"
        raise DepositTokenError(f"{source}: {count}, nothing imported: " + "; ".join(p for _, p in problems))
    if not credits:
        raise DepositTokenError(f"{source}: no booked credit entries to import ({number} entries in the file)")
    return credits


def _notification(message_id: str, created: datetime, account: Party, servicer_bic: str) -> tuple[Any, Any]:
    """A camt.054.001.08 document with its group header and the notification of ``account``, serviced
    by ``servicer_bic``: (the root element, the ``Ntfctn`` element to add entries to)."""
    root, body = document(_NS["c"], "BkToCstmrDbtCdtNtfctn")
    head = sub(body, "GrpHdr")
    sub(head, "MsgId", ident(message_id, "camt.054 message id"))
    sub(head, "CreDtTm", iso_datetime(created, "camt.054 creation time"))
    ntfctn = sub(body, "Ntfctn")
    sub(ntfctn, "Id", message_id)
    sub(ntfctn, "CreDtTm", iso_datetime(created, "camt.054 creation time"))
    acct = account_element(ntfctn, "Acct", account.account or "", "camt.054")
    party(acct, "Ownr", Party(account.name, account.country, account.lei), "camt.054 account owner")
    agent(acct, "Svcr", Party("", bic=servicer_bic), "camt.054 account servicer")
    return root, ntfctn


def build_camt054(
    *,
    message_id: str,
    created: datetime,
    account: Party,
    servicer_bic: str,
    credits: Sequence[tuple[str, Decimal, str, date, str, str | None]],
) -> bytes:
    """A valid camt.054.001.08 with one booked credit per (bank_reference, amount, currency,
    booking_date, client_id, debtor_name): the bank's core system, simulated."""
    if not credits:
        raise DepositTokenError("camt.054: no credits to notify")
    root, ntfctn = _notification(message_id, created, account, servicer_bic)
    for index, credit in enumerate(credits, start=1):
        try:
            _entry(ntfctn, *credit)
        except DepositTokenError as exc:
            raise DepositTokenError(f"camt.054 credit {index}: {exc}") from None
    check(root, MESSAGE, source=f"generated camt.054 {message_id}")
    return serialize(root)


def _entry(
    ntfctn: etree._Element,
    reference: str,
    value: Decimal,
    currency: str,
    booked: date,
    client_id: str,
    debtor: str | None,
) -> None:
    """One booked credit ``<Ntry>`` with a single ``<TxDtls>``."""
    units = to_units(value, currency)
    ntry = sub(ntfctn, "Ntry")
    amount(ntry, "Amt", units, currency)
    sub(ntry, "CdtDbtInd", "CRDT")
    sub(ntry, "Sts/Cd", "BOOK")
    sub(ntry, "BookgDt/Dt", iso_date(booked, "booking date"))
    sub(ntry, "ValDt/Dt", booked.isoformat())
    sub(ntry, "AcctSvcrRef", ident(reference, "bank reference"))
    domain = sub(ntry, "BkTxCd/Domn")
    sub(domain, "Cd", "PMNT")
    family = sub(domain, "Fmly")
    sub(family, "Cd", "RCDT")
    sub(family, "SubFmlyCd", "DMCT")
    tx = sub(ntry, "NtryDtls/TxDtls")
    sub(tx, "Refs/AcctSvcrRef", reference)
    amount(tx, "Amt", units, currency)
    sub(tx, "CdtDbtInd", "CRDT")
    name = free_text(debtor, 140) if debtor else None
    if name:
        sub(tx, "RltdPties/Dbtr/Pty/Nm", name)
    ref = sub(tx, "RmtInf/Strd/CdtrRefInf")
    sub(ref, "Tp/CdOrPrtry/Cd", "SCOR")
    sub(ref, "Ref", ident(client_id, "client id"))


# ---- debits: the payment system's confirmation of executed payouts ----


@dataclass(frozen=True)
class DebitEntry:
    """One booked debit (an executed outgoing payment) from a camt.054: what confirms a payout."""

    entry: int  # 1-based position of the <Ntry> in the file
    reference: str  # the payment system's reference (AcctSvcrRef), else the notification's message id
    amount: Decimal
    currency: str
    booking_date: date
    instruction_id: str | None
    end_to_end_id: str | None
    uetr: str | None
    message_id: str | None  # the instructing message (Refs/MsgId: the pacs.008's), if given


def parse_camt054_debits(data: bytes, *, source: str) -> tuple[str, list[DebitEntry]]:
    """(message id, every booked debit transaction) of a camt.054.001.08 debit notification; all or nothing.

    Credit, reversal and not-yet-booked entries are skipped. A debit without amount or without any
    payment id (InstrId, EndToEndId, UETR) fails the whole file; so does a file without booked debits.
    """
    root = parse(data, MESSAGE, source=source)
    message_id = _text(root, "c:BkToCstmrDbtCdtNtfctn/c:GrpHdr/c:MsgId") or ""
    debits: list[DebitEntry] = []
    problems: list[str] = []
    number = 0
    for ntry in root.iterfind("c:BkToCstmrDbtCdtNtfctn/c:Ntfctn/c:Ntry", _NS):
        number += 1
        if (_text(ntry, "c:CdtDbtInd") != "DBIT" or _text(ntry, "c:Sts/c:Cd") != "BOOK"
                or _text(ntry, "c:RvslInd") in ("true", "1")):
            continue
        txs = ntry.findall("c:NtryDtls/c:TxDtls", _NS) or [ntry]
        for index, tx in enumerate(txs, start=1):
            where = f"entry {number}" + (f" transaction {index}" if len(txs) > 1 else "")
            try:
                found = _amount(tx.find("c:AmtDtls/c:TxAmt/c:Amt", _NS)) or _amount(tx.find("c:Amt", _NS))
                if found is None and len(txs) == 1:
                    found = _amount(ntry.find("c:Amt", _NS))
                if found is None:
                    raise DepositTokenError("no amount (TxDtls/AmtDtls/TxAmt/Amt or TxDtls/Amt)")
                ids = [_text(tx, f"c:Refs/c:{tag}") for tag in ("InstrId", "EndToEndId", "UETR")]
                if not any(ids):
                    raise DepositTokenError("no payment id (TxDtls/Refs/InstrId, EndToEndId or UETR)")
                booking = _date(ntry, "c:BookgDt")
                if booking is None:
                    raise DepositTokenError("no booking date (BookgDt)")
            except DepositTokenError as exc:
                problems.append(f"{where}: {exc}")
                continue
            units, currency = found
            debits.append(DebitEntry(
                entry=number,
                reference=_text(tx, "c:Refs/c:AcctSvcrRef") or _text(ntry, "c:AcctSvcrRef") or message_id,
                amount=to_decimal(units, currency_decimals(currency)),
                currency=currency,
                booking_date=booking,
                instruction_id=ids[0],
                end_to_end_id=ids[1],
                uetr=ids[2],
                message_id=_text(tx, "c:Refs/c:MsgId"),
            ))
    if problems:
        count = f"{len(problems)} bad entr{'y' if len(problems) == 1 else 'ies'}"
        raise DepositTokenError(f"{source}: {count}, nothing recorded: " + "; ".join(problems))
    if not debits:
        raise DepositTokenError(f"{source}: no booked debit entries ({number} entries in the file)")
    return message_id, debits


def build_camt054_debits(
    *, message_id: str, created: datetime, account: Party, servicer_bic: str, debits: Sequence[DebitEntry]
) -> bytes:
    """A valid camt.054.001.08 with one booked debit per ``DebitEntry`` (its ``entry`` is ignored):
    the payment system's confirmation of executed payouts, simulated."""
    if not debits:
        raise DepositTokenError("camt.054: no debits to notify")
    root, ntfctn = _notification(message_id, created, account, servicer_bic)
    for index, debit in enumerate(debits, start=1):
        try:
            units = to_units(debit.amount, debit.currency)
            ntry = sub(ntfctn, "Ntry")
            amount(ntry, "Amt", units, debit.currency)
            sub(ntry, "CdtDbtInd", "DBIT")
            sub(ntry, "Sts/Cd", "BOOK")
            sub(ntry, "BookgDt/Dt", iso_date(debit.booking_date, "booking date"))
            sub(ntry, "AcctSvcrRef", ident(debit.reference, "payment reference"))
            domain = sub(ntry, "BkTxCd/Domn")
            sub(domain, "Cd", "PMNT")
            family = sub(domain, "Fmly")
            sub(family, "Cd", "ICDT")
            sub(family, "SubFmlyCd", "DMCT")
            refs = sub(ntry, "NtryDtls/TxDtls/Refs")
            for tag, value in (("MsgId", debit.message_id), ("AcctSvcrRef", debit.reference),
                               ("InstrId", debit.instruction_id), ("EndToEndId", debit.end_to_end_id), ("UETR", debit.uetr)):
                if value is not None:
                    sub(refs, tag, value if tag == "UETR" else ident(value, tag))
            tx = refs.getparent()
            amount(tx, "Amt", units, debit.currency)
            sub(tx, "CdtDbtInd", "DBIT")
        except DepositTokenError as exc:
            raise DepositTokenError(f"camt.054 debit {index}: {exc}") from None
    check(root, MESSAGE, source=f"generated camt.054 {message_id}")
    return serialize(root)
