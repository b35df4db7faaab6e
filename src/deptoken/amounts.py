"""Exact money: currency units as ``Decimal`` off-chain, integer minor units on-chain. No floats."""

from __future__ import annotations

import re
from decimal import Decimal

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


def units_of(amount: Amount, decimals: int, what: str = "amount", *, allow_zero: bool = False) -> int:
    """``parse_amount`` for a named value (``what`` in the error): positive, or zero if ``allow_zero``."""
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
