"""The KYC team's files: onboarded clients, renewed reviews and offboarded clients (CSV, validated whole)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..errors import DepositTokenError
from ..identifiers import BIC, LEI, lei_checksum_ok
from ..iso20022.common import looks_like_iban, parse_iban
from ..validation import parse_address
from .countries import parse_country
from .csvfiles import Cells, FirstSeen, RowProblem, parse_date, parse_text, read_records

KYC_COLUMNS = ("address", "client_id", "legal_name", "country", "lei", "kyc_review_date")
RENEWAL_COLUMNS = ("client_id", "kyc_review_date")
PAYOUT_COLUMNS = ("payout_account", "payout_bic")  # optional in KYC and renewal files
OFFBOARDING_COLUMNS = ("client_id", "reason")
MAX_REVIEW_YEARS = 10  # a review date further ahead is taken for a typo (2207 for 2027)

_CLIENT_ID = re.compile(r"[A-Za-z0-9._/-]{1,35}")
_ACCOUNT = re.compile(r"[A-Za-z0-9._/-]{1,34}")  # a local account number (pacs.008 Othr/Id: at most 34)


@dataclass(frozen=True)
class PayoutAccount:
    """Where a client's redemptions are paid: an IBAN or a local account number, at the bank ``bic``
    (None: the client's deposit account at the issuing bank itself, on-us)."""

    account: str  # an IBAN (electronic form) or a local account number
    bic: str | None


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
    payout: PayoutAccount | None = None  # None: not given (its redemptions cannot be paid out yet)


@dataclass(frozen=True)
class RenewalRecord:
    """A client whose KYC review was renewed until ``review_date``."""

    line: int
    client_id: str
    review_date: date
    payout: PayoutAccount | None = None  # a new payout account; None: unchanged


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
    if not LEI.fullmatch(text):
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


def parse_bic(text: str, what: str = "payout_bic") -> str:
    """An ISO 9362 BIC (``deptoken.identifiers.BIC``) whose country is an ISO 3166 country code."""
    if not BIC.fullmatch(text):
        raise DepositTokenError(f"{what} {text!r} is not a BIC (ISO 9362: 8 or 11 upper-case letters and digits)")
    try:
        parse_country(text[4:6])
    except DepositTokenError:
        raise DepositTokenError(f"{what} {text}: {text[4:6]!r} is not an ISO 3166 country code") from None
    return text


def parse_payout_account(account: str, bic: str) -> PayoutAccount | None:
    """The ``payout_account``/``payout_bic`` cells: None if both are empty. An IBAN (print form accepted,
    check digits verified) needs the BIC of the bank holding it; a local account number without a BIC
    is the client's deposit account at the issuing bank."""
    if not account:
        if bic:
            raise DepositTokenError(f"payout_bic {bic} given without a payout_account")
        return None
    if looks_like_iban(account):
        iban = parse_iban(account, "payout_account")
        if not bic:
            raise DepositTokenError(f"payout_account {iban} is an IBAN: payout_bic must name the bank holding it")
        return PayoutAccount(iban, parse_bic(bic))
    if not _ACCOUNT.fullmatch(account):
        raise DepositTokenError(f"payout_account {account!r} is neither an IBAN nor 1-34 characters of A-Z a-z 0-9 . _ / -")
    return PayoutAccount(account, parse_bic(bic) if bic else None)


def _unique_client(seen: FirstSeen, text: str, line: int) -> str:
    client_id = parse_client_id(text)
    seen.check(client_id, line, f"client_id {client_id}")
    return client_id


def read_kyc_file(path: str | Path, *, today: date) -> tuple[list[KycRecord], list[RowProblem]]:
    """Onboarded clients (``address,client_id,legal_name,country,lei,kyc_review_date`` and optionally
    ``payout_account,payout_bic``) and bad rows.

    ``lei`` may be left empty (a natural person), so may the payout account (see ``parse_payout_account``).
    A repeated address or client id makes the later row bad.
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
            payout=cells.take(parse_payout_account, row["payout_account"], row["payout_bic"]),
        )
        cells.done()
        return record

    return read_records(path, KYC_COLUMNS, parse, optional=PAYOUT_COLUMNS, what="KYC file")


def read_renewal_file(path: str | Path, *, today: date) -> tuple[list[RenewalRecord], list[RowProblem]]:
    """Renewed KYC reviews (``client_id,kyc_review_date``, optionally a new ``payout_account,payout_bic``)
    and bad rows; a repeated client id is bad."""
    clients = FirstSeen()

    def parse(line: int, row: dict[str, str]) -> RenewalRecord:
        cells = Cells()
        record = RenewalRecord(
            line,
            cells.take(_unique_client, clients, row["client_id"], line),  # type: ignore[arg-type]
            cells.take(parse_review_date, row["kyc_review_date"], today),  # type: ignore[arg-type]
            cells.take(parse_payout_account, row["payout_account"], row["payout_bic"]),
        )
        cells.done()
        return record

    return read_records(path, RENEWAL_COLUMNS, parse, optional=PAYOUT_COLUMNS, what="KYC renewal file")


def read_offboarding_file(path: str | Path) -> tuple[list[OffboardRecord], list[RowProblem]]:
    """Offboarded clients (``client_id,reason``, reason required, at most 140 characters) and bad rows."""
    clients = FirstSeen()

    def parse(line: int, row: dict[str, str]) -> OffboardRecord:
        client_id = _unique_client(clients, row["client_id"], line)
        return OffboardRecord(line, client_id, parse_text(row["reason"], "reason", 140))

    return read_records(path, OFFBOARDING_COLUMNS, parse, what="offboarding file")
