"""Pieces shared by the ISO 20022 builders and parsers: parties, identifiers, free text, exact amounts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

from ..amounts import parse_amount
from ..currencies import minor_units
from ..errors import DepositTokenError
from ..identifiers import BIC, LEI

MAX_DIGITS = 18  # ISO 20022 amounts and sums: xs:totalDigits 18

_COUNTRY = re.compile(r"[A-Z]{2}")
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")  # ISO 13616: 15 (Norway) to 34 characters
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Party:
    """A party in a message: a client, the issuing bank, or a bank acting as agent."""

    name: str
    country: str | None = None  # ISO 3166 alpha-2, postal address country
    lei: str | None = None
    bic: str | None = None  # for agents (banks)
    account: str | None = None  # IBAN if it looks like one, else a proprietary account number


def ident(value: object, what: str, max_len: int = 35) -> str:
    """An identifier exactly as given: 1 to ``max_len`` characters, no control characters; never truncated."""
    if not isinstance(value, str) or not value.strip():
        raise DepositTokenError(f"{what} is missing or empty")
    if len(value) > max_len:
        raise DepositTokenError(f"{what} {value!r} is {len(value)} characters; ISO 20022 allows at most {max_len}")
    if _CONTROL.search(value) or value != value.strip():
        raise DepositTokenError(f"{what} {value!r} has control characters or leading/trailing spaces")
    return value


def free_text(value: str, max_len: int) -> str | None:
    """Free text on one line, cut to ``max_len`` characters; None if nothing is left."""
    text = " ".join(_CONTROL.sub(" ", value).split())[:max_len].rstrip()
    return text or None


def coded(value: str | None, pattern: re.Pattern[str], what: str) -> str | None:
    """An optional code (BIC, LEI, country) checked against its ISO 20022 pattern."""
    if value is not None and not (isinstance(value, str) and pattern.fullmatch(value)):
        raise DepositTokenError(f"{what} {value!r} is not a valid code (expected {pattern.pattern})")
    return value


def looks_like_iban(text: str) -> bool:
    """True if ``text`` (spaces ignored, any case) has the IBAN shape: country, 2 digits, 11-30 letters or digits."""
    return bool(_IBAN.fullmatch(text.replace(" ", "").upper()))


def is_iban(text: str) -> bool:
    """True if ``text`` (spaces ignored) has the IBAN shape and correct ISO 13616 (ISO 7064 MOD 97-10) check digits."""
    if not looks_like_iban(text):
        return False
    compact = text.replace(" ", "").upper()
    return int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 == 1


def parse_iban(text: str, what: str = "IBAN") -> str:
    """An IBAN in electronic form (``GB33 bukb ...`` -> ``GB33BUKB...``); errors for a wrong shape or check digits."""
    if not looks_like_iban(text):
        raise DepositTokenError(f"{what} {text!r} is not an IBAN (country code, 2 check digits, 11-30 letters or digits)")
    if not is_iban(text):
        raise DepositTokenError(f"{what} {text!r} has wrong IBAN check digits (mistyped?)")
    return text.replace(" ", "").upper()


# ---- amounts: exact, in integer minor units ----


def currency_decimals(currency: str) -> int:
    """The currency's minor units; a one-line error for an unknown code."""
    return minor_units(currency if isinstance(currency, str) else repr(currency))


def to_units(amount: object, currency: str) -> int:
    """A positive ``Decimal`` amount to exact minor units; errors for floats, extra decimals or > 18 digits."""
    decimals = currency_decimals(currency)
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, int)):
        raise DepositTokenError(f"{currency} amount {amount!r} must be a Decimal, never a float")
    text = format(Decimal(amount), "f")  # plain notation, exact
    try:
        units = parse_amount(text, decimals)
    except DepositTokenError as exc:
        raise DepositTokenError(f"{currency} {exc}") from None
    check_digits(units, decimals, f"{currency} amount {text}")
    return units


def check_digits(units: int, decimals: int, what: str) -> None:
    """Refuse values with more significant digits than ISO 20022's 18 (trailing decimal zeros do not count)."""
    value, places = abs(units), decimals
    while places and value % 10 == 0:
        value, places = value // 10, places - 1
    if len(str(value)) > MAX_DIGITS:
        raise DepositTokenError(f"{what} has {len(str(value))} digits; ISO 20022 allows at most {MAX_DIGITS}")


def render(units: int, decimals: int) -> str:
    """Minor units as plain text with exactly ``decimals`` places, no sign, no exponent: 12550 -> ``125.50``."""
    whole, frac = divmod(abs(units), 10**decimals)
    return f"{whole}.{frac:0{decimals}d}" if decimals else str(whole)


def iso_datetime(value: datetime, what: str) -> str:
    """An ISODateTime to the second (with the UTC offset if ``value`` has one)."""
    if not isinstance(value, datetime):
        raise DepositTokenError(f"{what} {value!r} must be a datetime")
    return value.isoformat(timespec="seconds")


def iso_date(value: date, what: str) -> str:
    """An ISODate."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise DepositTokenError(f"{what} {value!r} must be a date")
    return value.isoformat()


# ---- XML writing ----


def sub(parent: etree._Element, path: str, text: str | None = None, **attrib: str) -> etree._Element:
    """Append the chain of elements ``path`` ("A/B/C") in the parent's namespace; returns the last one."""
    ns = etree.QName(parent).namespace
    for tag in path.split("/"):
        parent = etree.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        parent.text = text
    for key, value in attrib.items():
        parent.set(key, value)
    return parent


def document(ns: str, body: str) -> tuple[etree._Element, etree._Element]:
    """A new ``Document`` in namespace ``ns`` and its single child ``body``."""
    root = etree.Element(f"{{{ns}}}Document", nsmap={None: ns})
    return root, sub(root, body)


def serialize(root: etree._Element) -> bytes:
    """Pretty-printed UTF-8 with an XML declaration; the same tree always gives the same bytes."""
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8", pretty_print=True)


def amount(parent: etree._Element, tag: str, units: int, currency: str) -> None:
    """``<tag Ccy="...">`` with the exact amount."""
    sub(parent, tag, render(units, currency_decimals(currency)), Ccy=currency)


def account(parent: etree._Element, tag: str, number: str, what: str) -> etree._Element:
    """``<tag><Id>`` with ``<IBAN>`` if ``number`` is an IBAN, else ``<Othr><Id>``; returns ``<tag>``."""
    el = sub(parent, tag)
    if isinstance(number, str) and is_iban(number):
        sub(el, "Id/IBAN", number.replace(" ", "").upper())
    else:
        sub(el, "Id/Othr/Id", ident(number, f"{what} account", 34))
    return el


def party(parent: etree._Element, tag: str, who: Party, what: str) -> None:
    """A PartyIdentification135: name, postal country, organisation id (BIC, LEI)."""
    el = sub(parent, tag)
    name = free_text(who.name, 140) if isinstance(who.name, str) else None
    if name is None:
        raise DepositTokenError(f"{what} has no name")
    sub(el, "Nm", name)
    if coded(who.country, _COUNTRY, f"{what} country"):
        sub(el, "PstlAdr/Ctry", who.country)
    bic, lei = coded(who.bic, BIC, f"{what} BIC"), coded(who.lei, LEI, f"{what} LEI")
    if bic or lei:
        org = sub(el, "Id/OrgId")
        if bic:
            sub(org, "AnyBIC", bic)
        if lei:
            sub(org, "LEI", lei)


def agent(parent: etree._Element, tag: str, bank: Party, what: str) -> None:
    """A BranchAndFinancialInstitutionIdentification6 identified by BIC (required), LEI and name."""
    if not bank.bic:
        raise DepositTokenError(f"{what} has no BIC")
    fin = sub(parent, f"{tag}/FinInstnId")
    sub(fin, "BICFI", coded(bank.bic, BIC, f"{what} BIC"))
    if coded(bank.lei, LEI, f"{what} LEI"):
        sub(fin, "LEI", bank.lei)
    name = free_text(bank.name, 140) if isinstance(bank.name, str) else None
    if name:
        sub(fin, "Nm", name)
    if coded(bank.country, _COUNTRY, f"{what} country"):
        sub(fin, "PstlAdr/Ctry", bank.country)
