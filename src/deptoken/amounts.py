"""Exact money: integer minor units inside the code (``Money`` where the currency goes with them),
text or ``Decimal`` currency units only at the edges (what an operator types, a file holds, a person
reads). No floats.

An amount is parsed once where it comes in (``Money.parse``, ``parse_amount``) and keeps its integer
form from there to the chain: the token client takes a ``Money`` as it is (``units_of``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from .currencies import minor_units
from .errors import InvalidInput, reword

Amount = str | int | Decimal  # currency units as operators give them; never a float

# Plain decimal notation only: "125.50", "7". No exponents ("1e5" reads too much like "105"),
# no digit separators, no thousands commas: what an operator types is what is minted.
_PLAIN = re.compile(r"^[+-]?\d+(\.\d+)?$")


def parse_amount(text: Amount, decimals: int) -> int:
    """Currency units (``"125.50"``) to minor units (``12550`` for 2 decimals).

    Text must be plain decimal notation (digits, optionally a point and decimals). Rejects floats,
    anything else, non-positive amounts and more decimal places than the currency has.
    """
    if isinstance(text, float) or isinstance(text, bool):
        raise InvalidInput(f"amount {text!r} must be given as text or Decimal, never as a float")
    if isinstance(text, Decimal):
        if not text.is_finite():
            raise InvalidInput(f"amount {text!r} is not a finite number")
        value = text
    else:
        plain = str(text).strip()
        if not _PLAIN.match(plain):
            raise InvalidInput(f"amount {text!r} is not a plain decimal number such as 125.50")
        value = Decimal(plain)
    if value <= 0:
        raise InvalidInput(f"amount {text!r} must be positive")
    if value.adjusted() >= 78:  # beyond any uint256
        raise InvalidInput(f"amount {text!r} is too large")
    # Integer arithmetic on the digits: Decimal's normalize/scaleb round to 28 significant digits.
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    coefficient = int("".join(map(str, digits)))
    while exponent < 0 and coefficient % 10 == 0:
        coefficient //= 10
        exponent += 1
    if -exponent > decimals:
        raise InvalidInput(f"amount {text!r} has more than {decimals} decimal places")
    return coefficient * 10 ** (exponent + decimals)


def units_of(amount: Money | Amount, decimals: int, what: str = "amount", *, allow_zero: bool = False) -> int:
    """``parse_amount`` for a named value (``what`` in the error): positive, or zero if ``allow_zero``.

    A ``Money`` is already minor units: with ``decimals`` places and positive, its units are taken
    as they are (no conversion); otherwise it is checked as its exact currency-unit value would be."""
    if isinstance(amount, Money):
        if amount.decimals == decimals and (amount.units > 0 or (allow_zero and amount.units == 0)):
            return amount.units
        amount = amount.to_decimal()  # the same checks and messages as for the Decimal
    if allow_zero and not isinstance(amount, float | bool):
        try:
            if Decimal(str(amount).strip()) == 0:
                return 0
        except ArithmeticError:
            pass  # not a number: parse_amount says so
    try:
        return parse_amount(amount, decimals)
    except InvalidInput as exc:
        raise reword(exc, "amount ", f"{what} ") from None


def to_decimal(units: int, decimals: int) -> Decimal:
    """Minor units to currency units as an exact ``Decimal`` (no rounding, whatever the size)."""
    sign, digits, exponent = Decimal(int(units)).as_tuple()
    return Decimal((sign, digits, exponent - decimals))


def format_amount(units: int, decimals: int) -> str:
    """Minor units as a plain currency string with exactly ``decimals`` places: 12550 -> ``125.50``."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**decimals)
    return f"{sign}{whole:,}" + (f".{frac:0{decimals}d}" if decimals else "")


def decimal_to_units(amount: Decimal, decimals: int) -> int:
    """An exact ``Decimal`` of currency units to minor units (any sign); refuses more than ``decimals`` places."""
    if not amount.is_finite():
        raise InvalidInput(f"amount {amount!r} is not a finite number")
    sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    coefficient = int("".join(map(str, digits)) or "0")
    while exponent < 0 and coefficient % 10 == 0:
        coefficient //= 10
        exponent += 1
    if -exponent > decimals:
        raise InvalidInput(f"amount {amount} has more than {decimals} decimal places")
    return (-1 if sign else 1) * coefficient * 10 ** (exponent + decimals)


@dataclass(frozen=True)
class Money:
    """An amount of a currency as integer minor units: ``Money(125050, "USD", 2)`` is 1,250.50 USD.

    ``decimals`` defaults to the currency's ISO 4217 minor units (a token's own decimals may be given).
    Equal when units, currency and decimals are; no arithmetic across currencies."""

    units: int
    currency: str
    decimals: int = -1  # -1: the currency's ISO 4217 minor units

    def __post_init__(self) -> None:
        if isinstance(self.units, bool) or not isinstance(self.units, int):
            raise TypeError(f"minor units must be int, got {type(self.units).__name__}")
        if self.decimals == -1:
            object.__setattr__(self, "decimals", minor_units(self.currency))
        if isinstance(self.decimals, bool) or not isinstance(self.decimals, int) or self.decimals < 0:
            raise TypeError(f"decimals must be a non-negative int, got {self.decimals!r}")

    @classmethod
    def parse(cls, text: str | Decimal, currency: str, decimals: int | None = None, what: str = "amount", *,
              allow_zero: bool = False) -> Money:
        """What an operator typed or a file holds (``"1250.50"``), checked as ``units_of`` checks it."""
        places = minor_units(currency) if decimals is None else decimals
        return cls(units_of(text, places, what, allow_zero=allow_zero), currency, places)

    @classmethod
    def of(cls, amount: Decimal, currency: str, decimals: int | None = None) -> Money:
        """An exact ``Decimal`` of currency units (as an ISO 20022 message or a row carries it)."""
        places = minor_units(currency) if decimals is None else decimals
        return cls(decimal_to_units(amount, places), currency, places)

    def to_decimal(self) -> Decimal:
        """Currency units, exact, with exactly ``decimals`` places."""
        return to_decimal(self.units, self.decimals)

    def plain(self) -> str:
        """``1250.50``: exactly ``decimals`` places, no separators (files, messages)."""
        return format_amount(self.units, self.decimals).replace(",", "")

    def __str__(self) -> str:
        """``1,250.50 USD``."""
        return f"{format_amount(self.units, self.decimals)} {self.currency}"
