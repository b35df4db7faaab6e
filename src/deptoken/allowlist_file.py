"""Allowlist files (CSV of ``address,kyc_expiry_date``), validated whole (the dates: ``deptoken.times``).

A file is read completely before anything is sent: every bad row is reported with its line number,
and one bad row rejects the whole file.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from .errors import DepositTokenError, InvalidInput
from .times import format_expiry, parse_expiry
from .validation import parse_address


@dataclass(frozen=True)
class AllowlistEntry:
    """One row of an allowlist file."""

    line: int
    account: str  # checksummed
    expiry: int | None  # unix seconds; None in a removal file without an expiry column


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """Non-blank, non-comment rows with their 1-based line numbers."""
    if not path.is_file():
        raise InvalidInput(f"allowlist file {path} not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"allowlist file {path} cannot be read ({exc})") from None
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
        raise InvalidInput(f"allowlist file {path}: {count}, nothing sent: " + "; ".join(problems))
    if not entries:
        raise InvalidInput(f"allowlist file {path} has no rows")
    return entries
