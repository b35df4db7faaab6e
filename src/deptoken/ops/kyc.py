"""The KYC team's files: onboarded clients, renewed reviews and offboarded clients (CSV, validated whole)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..config import _LEI, lei_checksum_ok  # the deploy config's LEI rules, shared
from ..errors import DepositTokenError
from ..validation import parse_address
from .countries import parse_country
from .csvfiles import Cells, FirstSeen, RowProblem, parse_date, parse_text, read_records

KYC_COLUMNS = ("address", "client_id", "legal_name", "country", "lei", "kyc_review_date")
RENEWAL_COLUMNS = ("client_id", "kyc_review_date")
OFFBOARDING_COLUMNS = ("client_id", "reason")
MAX_REVIEW_YEARS = 10  # a review date further ahead is taken for a typo (2207 for 2027)

_CLIENT_ID = re.compile(r"[A-Za-z0-9._/-]{1,35}")


@dataclass(frozen=True)
class KycRecord:
    """A client whose KYC is done: its address is to be allowlisted through ``review_date``."""

    line: int
    address: str  # checksummed
    client_id: str
    legal_name: str
    country: str  # ISO 3166-1 alpha-2
    lei: str | None  # companies; None for a natural person
    review_date: date  # the next KYC review: the allowlisting holds through that day (UTC)


@dataclass(frozen=True)
class RenewalRecord:
    """A client whose KYC review was renewed until ``review_date``."""

    line: int
    client_id: str
    review_date: date


@dataclass(frozen=True)
class OffboardRecord:
    """A client to take off the allowlist, and why."""

    line: int
    client_id: str
    reason: str


def parse_client_id(text: str) -> str:
    """The bank's client id: 1 to 35 characters of ``A-Z a-z 0-9 . _ / -`` (compared exactly)."""
    if not _CLIENT_ID.fullmatch(text):
        raise DepositTokenError(f"client_id {text!r} is not 1-35 characters of A-Z a-z 0-9 . _ / -")
    return text


def parse_lei(text: str) -> str:
    """An ISO 17442 LEI: 18 upper-case letters or digits and 2 correct check digits."""
    if not _LEI.fullmatch(text):
        raise DepositTokenError(f"lei {text!r} is not an LEI (18 upper-case letters or digits, 2 check digits)")
    if not lei_checksum_ok(text):
        raise DepositTokenError(f"lei {text} has wrong check digits (mistyped?)")
    return text


def parse_review_date(text: str, today: date) -> date:
    """A next-KYC-review date after ``today`` and at most ``MAX_REVIEW_YEARS`` calendar years later."""
    review = parse_date(text, "kyc_review_date")
    if review <= today:
        raise DepositTokenError(f"kyc_review_date {review} is not after today ({today})")
    if review.year > today.year + MAX_REVIEW_YEARS:
        raise DepositTokenError(f"kyc_review_date {review} is more than {MAX_REVIEW_YEARS} years ahead (mistyped?)")
    return review


def _unique_client(seen: FirstSeen, text: str, line: int) -> str:
    client_id = parse_client_id(text)
    seen.check(client_id, line, f"client_id {client_id}")
    return client_id


def read_kyc_file(path: str | Path, *, today: date) -> tuple[list[KycRecord], list[RowProblem]]:
    """Onboarded clients (``address,client_id,legal_name,country,lei,kyc_review_date``) and bad rows.

    ``lei`` may be left empty (a natural person). A repeated address or client id makes the later
    row bad.
    """
    addresses, clients = FirstSeen(), FirstSeen()

    def parse(line: int, row: dict[str, str]) -> KycRecord:
        cells = Cells()  # every bad cell of the row is reported
        address = cells.take(parse_address, row["address"])
        if address is not None:
            cells.take(addresses.check, address, line, f"address {address}")
        record = KycRecord(
            line=line,
            address=address,  # type: ignore[arg-type] - done() raises if any is None
            client_id=cells.take(_unique_client, clients, row["client_id"], line),  # type: ignore[arg-type]
            legal_name=cells.take(parse_text, row["legal_name"], "legal_name", 140),  # type: ignore[arg-type]
            country=cells.take(parse_country, row["country"]),  # type: ignore[arg-type]
            lei=cells.take(parse_lei, row["lei"]) if row["lei"] else None,
            review_date=cells.take(parse_review_date, row["kyc_review_date"], today),  # type: ignore[arg-type]
        )
        cells.done()
        return record

    return read_records(path, KYC_COLUMNS, parse, what="KYC file")


def read_renewal_file(path: str | Path, *, today: date) -> tuple[list[RenewalRecord], list[RowProblem]]:
    """Renewed KYC reviews (``client_id,kyc_review_date``) and bad rows; a repeated client id is bad."""
    clients = FirstSeen()

    def parse(line: int, row: dict[str, str]) -> RenewalRecord:
        client_id = _unique_client(clients, row["client_id"], line)
        return RenewalRecord(line, client_id, parse_review_date(row["kyc_review_date"], today))

    return read_records(path, RENEWAL_COLUMNS, parse, what="KYC renewal file")


def read_offboarding_file(path: str | Path) -> tuple[list[OffboardRecord], list[RowProblem]]:
    """Offboarded clients (``client_id,reason``, reason required, at most 140 characters) and bad rows."""
    clients = FirstSeen()

    def parse(line: int, row: dict[str, str]) -> OffboardRecord:
        client_id = _unique_client(clients, row["client_id"], line)
        return OffboardRecord(line, client_id, parse_text(row["reason"], "reason", 140))

    return read_records(path, OFFBOARDING_COLUMNS, parse, what="offboarding file")
