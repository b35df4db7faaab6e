"""Exact money: currency units as ``Decimal`` off-chain, integer minor units on-chain. No floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .errors import DepositTokenError


def parse_amount(text: str | int | Decimal, decimals: int) -> int:
    """Currency units (``"125.50"``) to minor units (``12550`` for 2 decimals).

    Rejects floats, non-numbers, non-positive amounts and more decimal places than the currency has.
    """
    if isinstance(text, float) or isinstance(text, bool):
        raise DepositTokenError(f"amount {text!r} must be given as text or Decimal, never as a float")
    try:
        value = Decimal(str(text).strip().replace("_", ""))
    except InvalidOperation:
        raise DepositTokenError(f"amount {text!r} is not a number") from None
    if not value.is_finite():
        raise DepositTokenError(f"amount {text!r} is not a finite number")
    if value <= 0:
        raise DepositTokenError(f"amount {text!r} must be positive")
    if value.adjusted() >= 78:  # beyond any uint256
        raise DepositTokenError(f"amount {text!r} is too large")
    # Integer arithmetic on the digits: Decimal's normalize/scaleb round to 28 significant digits.
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    coefficient = int("".join(map(str, digits)))
    while exponent < 0 and coefficient % 10 == 0:
        coefficient //= 10
        exponent += 1
    if -exponent > decimals:
        raise DepositTokenError(f"amount {text!r} has more than {decimals} decimal places")
    return coefficient * 10 ** (exponent + decimals)


def to_decimal(units: int, decimals: int) -> Decimal:
    """Minor units to currency units as an exact ``Decimal`` (no rounding, whatever the size)."""
    sign, digits, exponent = Decimal(int(units)).as_tuple()
    return Decimal((sign, digits, exponent - decimals))


def format_amount(units: int, decimals: int) -> str:
    """Minor units as a plain currency string with exactly ``decimals`` places: 12550 -> ``125.50``."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**decimals)
    return f"{sign}{whole:,}" + (f".{frac:0{decimals}d}" if decimals else "")
