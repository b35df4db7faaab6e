"""KYC expiry dates and allowlist files (CSV of ``address,kyc_expiry_date``), validated whole.

A file is read completely before anything is sent: every bad row is reported with its line number,
and one bad row rejects the whole file.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from .errors import DepositTokenError
from .validation import parse_address

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UINT64_MAX = 2**64 - 1


@dataclass(frozen=True)
class AllowlistEntry:
    """One row of an allowlist file."""

    line: int
    account: str  # checksummed
    expiry: int | None  # unix seconds; None in a removal file without an expiry column


def parse_expiry(value: str | int | date | datetime, what: str = "kyc expiry") -> int:
    """A KYC expiry as unix seconds.

    ``YYYY-MM-DD`` (or a ``date``) means the allowlisting holds through that whole day (UTC): the
    entry expires at the midnight that ends it. Digits (or an ``int``) are unix seconds; an aware
    ``datetime`` is taken as is. Whether it lies in the future is checked against the chain's clock
    by the operation, not here.
    """
    if isinstance(value, bool):
        raise DepositTokenError(f"{what} {value!r} is not a date")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise DepositTokenError(f"{what} {value.isoformat()} has no time zone")
        seconds = int(value.timestamp())
    elif isinstance(value, date):
        seconds = int(datetime.combine(value + timedelta(days=1), time(), tzinfo=UTC).timestamp())
    elif isinstance(value, int):
        seconds = value
    else:
        text = str(value).strip()
        if text.isdigit():
            seconds = int(text)
        elif _DATE.match(text):
            try:
                return parse_expiry(date.fromisoformat(text), what)
            except ValueError:
                raise DepositTokenError(f"{what} {text!r} is not a calendar date") from None
        else:
            raise DepositTokenError(f"{what} {text!r} is not a date (YYYY-MM-DD) or unix seconds")
    if not 0 < seconds <= _UINT64_MAX:
        raise DepositTokenError(f"{what} {value!r} is out of range")
    return seconds


def format_expiry(seconds: int) -> str:
    """Unix seconds as an ISO 8601 UTC timestamp (``-`` for 0, i.e. no entry)."""
    if not seconds:
        return "-"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """Non-blank, non-comment rows with their 1-based line numbers."""
    if not path.is_file():
        raise DepositTokenError(f"allowlist file {path} not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DepositTokenError(f"allowlist file {path} cannot be read ({exc})") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        rows.append((number, [cell.strip() for cell in next(csv.reader([line]))]))
    return rows


def read_allowlist_file(path: str | Path, *, with_expiry: bool = True, now: int | None = None) -> list[AllowlistEntry]:
    """Reads and validates an allowlist file; raises one ``DepositTokenError`` naming every bad row.

    Rows are ``address,kyc_expiry_date`` (``with_expiry``) or ``address`` with an optional ignored
    expiry (removal). A first row whose first cell is ``address`` is a header. Blank lines and lines
    starting with ``#`` are skipped. Duplicate addresses are bad rows. With ``now`` (the chain's
    time), expiries not after it are bad rows too.
    """
    path = Path(path)
    rows = _rows(path)
    if rows and rows[0][1] and rows[0][1][0].lower() == "address":
        rows = rows[1:]
    entries: list[AllowlistEntry] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, cells in rows:
        try:
            if len(cells) > 2 or (with_expiry and len(cells) != 2):
                raise DepositTokenError(
                    f"expected 2 columns (address,kyc_expiry_date), got {len(cells)}"
                    if with_expiry
                    else f"expected an address (and optionally an expiry), got {len(cells)} columns"
                )
            account = parse_address(cells[0])
            expiry = parse_expiry(cells[1]) if with_expiry else None
            if expiry is not None and now is not None and expiry <= now:
                raise DepositTokenError(f"kyc expiry {cells[1]} is not in the future (chain time {format_expiry(now)})")
            if account in seen:
                raise DepositTokenError(f"{account} is already on line {seen[account]}")
        except DepositTokenError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        seen[account] = number
        entries.append(AllowlistEntry(number, account, expiry))
    if problems:
        count = f"{len(problems)} bad row" + ("s" if len(problems) > 1 else "")
        raise DepositTokenError(f"allowlist file {path}: {count}, nothing sent: " + "; ".join(problems))
    if not entries:
        raise DepositTokenError(f"allowlist file {path} has no rows")
    return entries
