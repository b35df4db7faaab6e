"""camt.053.001.08 statements of the token liability account: every mint and burn, balanced; an
interbank payment's mint (in) or burn (out) carries the ISO code of a credit transfer received or
issued and its payment reference (the token reference of both legs, the same at both banks) in
``NtryDtls/TxDtls/AddtlTxInf``."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from lxml import etree

from ..amounts import to_decimal
from ..errors import DepositTokenError
from .common import Party, agent, amount, check_digits, currency_decimals, document, free_text, ident
from .common import account as account_element
from .common import iso_datetime, render, serialize, sub, to_units
from .schemas import check, namespace

MESSAGE = "camt.053.001.08"
_PAYMENT_ID = re.compile(r"0x[0-9a-f]{64}")


@dataclass(frozen=True)
class StatementEntry:
    """One booked movement of the liability account."""

    reference: str  # e.g. tx hash:log index; shortened to 35 characters for AcctSvcrRef when longer
    amount: Decimal  # positive
    credit: bool  # True: the liability grew (a mint); False: it shrank (redemption, burn)
    booking: datetime
    description: str
    payment_reference: str | None = None  # an interbank payment's reference (0x + 64 lower-case hex): in or out


def short_reference(reference: str) -> str:
    """``reference`` itself if it fits Max35Text, else its first 22 characters, ``~`` and 12 hex of its SHA-256."""
    if len(reference) <= 35:
        return reference
    return reference[:22] + "~" + hashlib.sha256(reference.encode()).hexdigest()[:12]


def build_camt053(
    *,
    statement_id: str,
    created: datetime,
    account: Party,
    servicer: Party,
    currency: str,
    period_start: datetime,
    period_end: datetime,
    opening: Decimal,
    closing: Decimal,
    entries: Sequence[StatementEntry],
    sequence: int | None = None,
) -> bytes:
    """A valid camt.053.001.08 with one statement; refuses to write one where opening + credits - debits != closing."""
    try:
        decimals = currency_decimals(currency)
        if period_start > period_end:
            raise DepositTokenError(f"period starts {period_start} after it ends {period_end}")
        moves = [_entry_units(e, currency) for e in entries]
        seen: set[str] = set()
        for entry in entries:
            if short_reference(entry.reference) in seen:
                raise DepositTokenError(f"reference {entry.reference!r} appears twice")
            seen.add(short_reference(entry.reference))
        credits = sum(units for units, is_credit in moves if is_credit)
        debits = sum(units for units, is_credit in moves if not is_credit)
        start, end = _balance_units(opening, currency, "opening"), _balance_units(closing, currency, "closing")
        if start + credits - debits != end:
            a, b, c, d, e = (to_decimal(u, decimals) for u in (start, credits, debits, start + credits - debits, end))
            raise DepositTokenError(
                f"does not balance: opening {a} + credits {b} - debits {c} = {d} {currency}, but closing is {e}"
            )
        for units, what in ((credits, "credit total"), (debits, "debit total"), (credits + debits, "entry total")):
            check_digits(units, decimals, f"{what} {to_decimal(units, decimals)} {currency}")
    except (DepositTokenError, TypeError) as exc:
        raise DepositTokenError(f"camt.053 statement {statement_id!r}: {exc}") from None

    root, body = document(namespace(MESSAGE), "BkToCstmrStmt")
    head = sub(body, "GrpHdr")
    sub(head, "MsgId", ident(statement_id, "camt.053 statement id"))
    sub(head, "CreDtTm", iso_datetime(created, "camt.053 creation time"))
    stmt = sub(body, "Stmt")
    sub(stmt, "Id", statement_id)
    if sequence is not None:
        if isinstance(sequence, bool) or not isinstance(sequence, int) or not 0 <= sequence < 10**18:
            raise DepositTokenError(f"camt.053 sequence number {sequence!r} must be a whole number from 0")
        sub(stmt, "ElctrncSeqNb", str(sequence))
    sub(stmt, "CreDtTm", iso_datetime(created, "camt.053 creation time"))
    period = sub(stmt, "FrToDt")
    sub(period, "FrDtTm", iso_datetime(period_start, "camt.053 period start"))
    sub(period, "ToDtTm", iso_datetime(period_end, "camt.053 period end"))
    acct = account_element(stmt, "Acct", account.account or "", "camt.053")
    sub(acct, "Ccy", currency)
    name = free_text(account.name, 70) if isinstance(account.name, str) else None
    if name:
        sub(acct, "Nm", name)
    agent(acct, "Svcr", servicer, "camt.053 account servicer")
    _balance(stmt, "OPBD", start, currency, period_start)
    _balance(stmt, "CLBD", end, currency, period_end)
    _summary(stmt, moves, decimals)
    for entry, (units, is_credit) in zip(entries, moves):
        ntry = sub(stmt, "Ntry")
        amount(ntry, "Amt", units, currency)
        sub(ntry, "CdtDbtInd", "CRDT" if is_credit else "DBIT")
        sub(ntry, "Sts/Cd", "BOOK")
        sub(ntry, "BookgDt/DtTm", iso_datetime(entry.booking, f"camt.053 entry {entry.reference!r} booking"))
        sub(ntry, "AcctSvcrRef", short_reference(entry.reference))
        codes = sub(ntry, "BkTxCd")
        if entry.payment_reference is not None:
            _interbank_code(codes, is_credit)
        sub(codes, "Prtry/Cd", "MINT" if is_credit else "BURN")
        if entry.payment_reference is not None:  # the reference in a field of its own (64 hex: too long for any <Refs> element)
            tx = sub(ntry, "NtryDtls/TxDtls")
            amount(tx, "Amt", units, currency)
            sub(tx, "CdtDbtInd", "CRDT" if is_credit else "DBIT")
            sub(tx, "AddtlTxInf", entry.payment_reference)
        suffix = f"(ref {entry.reference})"
        text = free_text(entry.description, 499 - len(suffix)) if isinstance(entry.description, str) else None
        sub(ntry, "AddtlNtryInf", f"{text} {suffix}" if text else suffix)
    check(root, MESSAGE, source=f"generated camt.053 {statement_id}")
    return serialize(root)


def _interbank_code(codes: etree._Element, is_credit: bool) -> None:
    """The ISO bank transaction code of an interbank payment: a credit transfer received (in: the token
    minted to the payee) or issued (out: the payer's token burned), in the network's one currency."""
    domain = sub(codes, "Domn")
    sub(domain, "Cd", "PMNT")
    family = sub(domain, "Fmly")
    sub(family, "Cd", "RCDT" if is_credit else "ICDT")
    sub(family, "SubFmlyCd", "DMCT")


def _entry_units(entry: StatementEntry, currency: str) -> tuple[int, bool]:
    """(minor units, is credit) of a statement entry, after checking its reference, amount and payment reference."""
    try:
        ident(entry.reference, "reference", 140)
        if not isinstance(entry.credit, bool):
            raise DepositTokenError(f"credit must be True or False, not {entry.credit!r}")
        if entry.payment_reference is not None and not (isinstance(entry.payment_reference, str) and _PAYMENT_ID.fullmatch(entry.payment_reference)):
            raise DepositTokenError(f"payment reference {entry.payment_reference!r} is not 0x followed by 64 lower-case hex digits")
        return to_units(entry.amount, currency), entry.credit
    except DepositTokenError as exc:
        raise DepositTokenError(f"entry {getattr(entry, 'reference', entry)!r}: {exc}") from None


def _balance_units(value: Decimal, currency: str, what: str) -> int:
    """Signed minor units of a balance (zero and negative allowed)."""
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool) and value == 0:
        return 0
    try:
        units = to_units(abs(value) if isinstance(value, (Decimal, int)) else value, currency)
    except DepositTokenError as exc:
        raise DepositTokenError(f"{what} balance: {exc}") from None
    return -units if value < 0 else units


def _balance(stmt: etree._Element, code: str, units: int, currency: str, when: datetime) -> None:
    """A ``<Bal>`` of type ``code`` (OPBD, CLBD): CRDT when >= 0."""
    bal = sub(stmt, "Bal")
    sub(bal, "Tp/CdOrPrtry/Cd", code)
    amount(bal, "Amt", units, currency)
    sub(bal, "CdtDbtInd", "CRDT" if units >= 0 else "DBIT")
    sub(bal, "Dt/Dt", when.date().isoformat())


def _summary(stmt: etree._Element, moves: list[tuple[int, bool]], decimals: int) -> None:
    """``<TxsSummry>``: number and sum of all, credit and debit entries, and the net movement."""
    credits = [units for units, is_credit in moves if is_credit]
    debits = [units for units, is_credit in moves if not is_credit]
    summary = sub(stmt, "TxsSummry")
    total = sub(summary, "TtlNtries")
    sub(total, "NbOfNtries", str(len(moves)))
    sub(total, "Sum", render(sum(credits) + sum(debits), decimals))
    net = sub(total, "TtlNetNtry")
    sub(net, "Amt", render(sum(credits) - sum(debits), decimals))
    sub(net, "CdtDbtInd", "CRDT" if sum(credits) >= sum(debits) else "DBIT")
    for tag, units in (("TtlCdtNtries", credits), ("TtlDbtNtries", debits)):
        group = sub(summary, tag)
        sub(group, "NbOfNtries", str(len(units)))
        sub(group, "Sum", render(sum(units), decimals))
