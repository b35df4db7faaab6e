"""The bank's file of received deposits to tokenise (CSV, validated whole)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from ..amounts import parse_amount, to_decimal
from ..currencies import minor_units
from ..errors import DepositTokenError
from .csvfiles import Cells, FirstSeen, RowProblem, parse_date, parse_text, read_records
from .kyc import parse_client_id

DEPOSIT_COLUMNS = ("bank_reference", "client_id", "amount", "currency", "value_date")


@dataclass(frozen=True)
class DepositRow:
    """A deposit received for a client, to be minted as tokens."""

    line: int
    bank_reference: str
    client_id: str
    amount: Decimal  # currency units, with exactly the currency's decimal places
    currency: str  # ISO 4217
    value_date: date


def parse_deposit_amount(text: str, decimals: int) -> Decimal:
    """A positive amount in plain, unsigned ASCII decimal notation with at most ``decimals`` places."""
    if not text.isascii() or text.startswith(("+", "-")):
        raise DepositTokenError(f"amount {text!r} is not a plain unsigned decimal number such as 1250.50")
    return to_decimal(parse_amount(text, decimals), decimals)


def read_deposit_file(path: str | Path, *, currency: str) -> tuple[list[DepositRow], list[RowProblem]]:
    """Deposits (``bank_reference,client_id,amount,currency,value_date``) in the token's ``currency``, and bad rows.

    A row in another currency is bad, and so is a repeated bank reference (compared exactly).
    """
    token_currency = currency.strip().upper()
    decimals = minor_units(token_currency)
    references = FirstSeen()

    def currency_of(text: str) -> str:
        row_currency = text.upper()
        minor_units(row_currency)  # a known currency code at all?
        if row_currency != token_currency:
            raise DepositTokenError(f"currency {row_currency} is not the token's currency {token_currency}")
        return row_currency

    def parse(line: int, row: dict[str, str]) -> DepositRow:
        cells = Cells()  # every bad cell of the row is reported
        reference = cells.take(parse_text, row["bank_reference"], "bank_reference", 35)
        if reference is not None:
            cells.take(references.check, reference, line, f"bank_reference {reference!r}")
        client_id = cells.take(parse_client_id, row["client_id"])
        row_currency = cells.take(currency_of, row["currency"])
        amount = cells.take(parse_deposit_amount, row["amount"], decimals)
        value_date = cells.take(parse_date, row["value_date"], "value_date")
        cells.done()
        return DepositRow(line, reference, client_id, amount, row_currency, value_date)  # type: ignore[arg-type]

    return read_records(path, DEPOSIT_COLUMNS, parse, what="deposit file")
