"""Per-minter rate limits on the token (``setMinterRateLimit`` / ``minterRateLimitOf``).

Besides its allowance, a minter may mint at most ``capacity`` minor units per ``period`` seconds; what
it may mint refills linearly over the period, up to the capacity (Paxos SupplyControl's model). The
minter admin sets it (``TokenClient.set_minter_rate_limit``, checked like every role-gated operation);
capacity 0 means no rate limit. The reads are here: ``read_rate_limit(s)``, shown with ``describe``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

UNLIMITED = 2**256 - 1  # what the token's mint path treats as "no rate limit"


@dataclass(frozen=True)
class RateLimit:
    """A minter's rate limit as the token reports it now (all zero: none)."""

    capacity: int  # minor units per period
    period: int  # seconds
    available: int  # minor units the minter may mint now under the rate limit

    @property
    def limited(self) -> bool:
        return self.capacity != 0

    @property
    def left(self) -> int:
        """What the rate limit leaves to mint now; ``UNLIMITED`` without one."""
        return self.available if self.limited else UNLIMITED


def read_rate_limit(contract: Any, minter: str) -> RateLimit:
    """The rate limit of ``minter`` on the token ``contract``."""
    capacity, period, available = contract.minterRateLimitOf(minter)
    return RateLimit(int(capacity), int(period), int(available))


def read_rate_limits(contract: Any, minters: Iterable[str]) -> dict[str, RateLimit]:
    """The rate limits of ``minters``, by address."""
    return {m: read_rate_limit(contract, m) for m in minters}


def describe(limit: RateLimit, fmt: Callable[[int], str]) -> str:
    """``rate limit left X of Y per N s`` or ``no rate limit``; ``fmt`` formats minor units."""
    if not limit.limited:
        return "no rate limit"
    return f"rate limit left {fmt(limit.available)} of {fmt(limit.capacity)} per {_period(limit.period)}"


def _period(seconds: int) -> str:
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds % size == 0:
            n = seconds // size
            return unit if n == 1 else f"{n} {unit}s"
    return f"{seconds} s"
