"""The operations team's CSV input files: read whole, every record with the line it starts on.

A file has a header row naming its columns (any order, case-insensitive). Blank lines and lines
starting with ``#`` between records are skipped; quoted fields may hold commas and line breaks.
Every cell is stripped of surrounding spaces. Problems with the file itself (unreadable, not UTF-8,
no header, wrong columns) raise; problems with a row are collected, so that the caller can report
every bad row at once and decide.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from ..errors import DepositTokenError, first_line

T = TypeVar("T")
Row = tuple[int, dict[str, str]]  # (line where the record starts, cells by lower-case column name)

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class RowProblem:
    """Why the record starting on ``line`` was not taken."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class _Lines(Iterator[str]):
    """Physical lines for ``csv.reader``; skips blank and comment lines between records and notes
    the line each record starts on (the reader pulls one line at a time, so it knows)."""

    def __init__(self, text: str) -> None:
        self._lines = io.StringIO(text, newline="")  # splits at \n, \r\n and \r without translating
        self.number = 0
        self.record_start = 0
        self.at_record_start = True

    def __next__(self) -> str:
        for line in self._lines:
            self.number += 1
            if self.at_record_start:
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                self.record_start, self.at_record_start = self.number, False
            return line
        raise StopIteration


def _decode(path: Path, what: str) -> str:
    if not path.is_file():
        raise DepositTokenError(f"{what} {path} not found")
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise DepositTokenError(f"{what} {path} cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise DepositTokenError(f"{what} {path} is not UTF-8 text (bad byte at offset {exc.start})") from None


def _header(cells: list[str], line: int, columns: Sequence[str], optional: Sequence[str], where: str) -> list[str]:
    names = [cell.lower() for cell in cells]
    problems = []
    if duplicate := sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"repeated column(s) {', '.join(map(repr, duplicate))}")
    if missing := [c for c in columns if c not in names]:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if unknown := [n for n in names if n not in columns and n not in optional]:
        problems.append(f"unknown column(s) {', '.join(map(repr, unknown))}")
    if problems:
        expected = ",".join([*columns, *(f"[{c}]" for c in optional)])
        raise DepositTokenError(f"{where}: header on line {line}: {'; '.join(problems)} (expected {expected})")
    return names


def read_csv(
    path: str | Path, columns: Sequence[str], *, optional: Sequence[str] = (), what: str
) -> tuple[list[Row], list[RowProblem]]:
    """The records of a CSV file with a header row, and the problems of records that cannot be read.

    ``columns`` must all be in the header, ``optional`` ones may be (absent ones read as ``""``),
    no others. ``what`` names the file in errors (``"KYC file"``). A record with the wrong number
    of cells or broken quoting is a problem, not an error.
    """
    path = Path(path)
    where = f"{what} {path}"
    lines = _Lines(_decode(path, what))
    reader = csv.reader(lines, strict=True)
    header: list[str] | None = None
    rows: list[Row] = []
    problems: list[RowProblem] = []
    while True:
        lines.at_record_start = True
        try:
            cells = [cell.strip() for cell in next(reader)]
        except StopIteration:
            break
        except csv.Error as exc:
            reason = "quoted field not closed" if "end of data" in str(exc) else f"not valid CSV ({exc})"
            if header is None:
                raise DepositTokenError(f"{where}: header on line {lines.record_start}: {reason}") from None
            problems.append(RowProblem(lines.record_start, reason))
            continue
        if header is None:
            header = _header(cells, lines.record_start, columns, optional, where)
        elif len(cells) != len(header):
            problems.append(
                RowProblem(lines.record_start, f"expected {len(header)} cells ({','.join(header)}), got {len(cells)}")
            )
        else:
            rows.append((lines.record_start, {**dict.fromkeys(optional, ""), **dict(zip(header, cells))}))
    if header is None:
        raise DepositTokenError(f"{where} is empty: expected a header row ({','.join(columns)})")
    return rows, problems


def read_records(
    path: str | Path,
    columns: Sequence[str],
    parse: Callable[[int, dict[str, str]], T],
    *,
    optional: Sequence[str] = (),
    what: str,
) -> tuple[list[T], list[RowProblem]]:
    """``read_csv``, then ``parse(line, row)`` on every row; a ``DepositTokenError`` it raises makes
    the row a problem. Problems come sorted by line."""
    rows, problems = read_csv(path, columns, optional=optional, what=what)
    records: list[T] = []
    for line, row in rows:
        try:
            records.append(parse(line, row))
        except DepositTokenError as exc:
            problems.append(RowProblem(line, first_line(exc)))
    return records, sorted(problems, key=lambda p: p.line)


class Cells:
    """Parses a row cell by cell, collecting every cell's problem: ``take(parse, ...)`` returns the
    value (None if bad); ``done()`` raises them all as one ``DepositTokenError`` (``a; b; c``)."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def take(self, parse: Callable[..., T], *args: object) -> T | None:
        try:
            return parse(*args)
        except DepositTokenError as exc:
            self.problems.append(first_line(exc))
            return None

    def done(self) -> None:
        if self.problems:
            raise DepositTokenError("; ".join(self.problems))


def problems_summary(path: str | Path, problems: Sequence[RowProblem], *, limit: int = 20) -> str:
    """One line: ``clients.csv: 3 bad rows: line 4: ...; line 9: ...; line 12: ...`` (at most
    ``limit`` of them, then ``... and N more``)."""
    count = len(problems)
    text = f"{path}: {count} bad row{'' if count == 1 else 's'}"
    if problems:
        text += ": " + "; ".join(map(str, problems[:limit]))
    if count > limit:
        text += f"; ... and {count - limit} more"
    return text


class FirstSeen:
    """Remembers the line each key was first seen on: a later row with the same key is bad."""

    def __init__(self) -> None:
        self._lines: dict[Hashable, int] = {}

    def check(self, key: Hashable, line: int, label: str) -> None:
        """Raises ``"<label> is already on line N"`` if ``key`` was seen on an earlier line."""
        first = self._lines.setdefault(key, line)
        if first != line:
            raise DepositTokenError(f"{label} is already on line {first}")


def parse_date(text: str, what: str) -> date:
    """A ``YYYY-MM-DD`` calendar date."""
    if not _DATE.fullmatch(text):
        raise DepositTokenError(f"{what} {text!r} is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DepositTokenError(f"{what} {text!r} is not a calendar date") from None


def parse_text(text: str, what: str, max_length: int) -> str:
    """Non-empty printable text of at most ``max_length`` characters (no line breaks or controls)."""
    if not text:
        raise DepositTokenError(f"{what} is empty")
    if len(text) > max_length:
        raise DepositTokenError(f"{what} has {len(text)} characters, at most {max_length} allowed")
    if not text.isprintable():
        raise DepositTokenError(f"{what} {text!r} contains line breaks or other non-printable characters")
    return text
