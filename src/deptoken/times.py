"""Points in time and durations as operators and files give them, to the unix seconds the contracts take.

KYC expiries (``2027-12-31``: through that day, UTC), deadlines (``2026-05-01T12:00:00Z``, ``+2h``
from the chain's clock), durations (``48h``, ``7d``), and the one way a time is shown back
(``format_expiry``: ISO 8601 UTC). Whether a time lies in the future is checked against the chain's
clock by the operation (``TokenClient.now``), not here.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from .errors import InvalidInput

Expiry = str | int | date | datetime  # what parse_expiry takes
UINT64_MAX = 2**64 - 1

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DURATION = re.compile(r"^(\d+)\s*([smhdw]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_expiry(value: Expiry, what: str = "kyc expiry") -> int:
    """A KYC expiry (or any end date) as unix seconds.

    ``YYYY-MM-DD`` (or a ``date``) means through that whole day (UTC): it expires at the midnight
    that ends it. Digits (or an ``int``) are unix seconds; an aware ``datetime`` is taken as is.
    """
    if isinstance(value, bool):
        raise InvalidInput(f"{what} {value!r} is not a date")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidInput(f"{what} {value.isoformat()} has no time zone")
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
                raise InvalidInput(f"{what} {text!r} is not a calendar date") from None
        else:
            raise InvalidInput(f"{what} {text!r} is not a date (YYYY-MM-DD) or unix seconds")
    if not 0 < seconds <= UINT64_MAX:
        raise InvalidInput(f"{what} {value!r} is out of range")
    return seconds


def format_expiry(seconds: int) -> str:
    """Unix seconds as an ISO 8601 UTC timestamp (``-`` for 0, i.e. no entry)."""
    if not seconds:
        return "-"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration(value: str | int, what: str = "duration") -> int:
    """Seconds from an ``int`` or text: ``3600``, ``90m``, ``48h``, ``7d``, ``2w``; positive."""
    if isinstance(value, bool):
        raise InvalidInput(f"{what} {value!r} is not a duration")
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION.match(str(value).strip().lower())
        if not match:
            raise InvalidInput(f"{what} {value!r} is not a duration such as 3600, 48h or 7d")
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not 0 < seconds <= UINT64_MAX:
        raise InvalidInput(f"{what} {value!r} must be positive (and fit in 64 bits)")
    return seconds


def parse_deadline(value: int | str | datetime, now: int, what: str = "deadline") -> int:
    """A point in time as unix seconds: seconds, an aware ``datetime``, ISO 8601 text with a time
    zone (``2026-05-01T12:00:00Z``) or ``+N[s|m|h|d|w]`` from ``now`` (the chain's clock)."""
    if isinstance(value, bool):
        raise InvalidInput(f"{what} {value!r} is not a time")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidInput(f"{what} {value.isoformat()} has no time zone")
        return int(value.timestamp())
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    if text.startswith("+"):
        return now + parse_duration(text[1:], what)
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise InvalidInput(
            f"{what} {text!r} is not unix seconds, +N[s|m|h|d] or an ISO 8601 time such as 2026-05-01T12:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{what} {text!r} has no time zone (add Z for UTC)")
    return int(parsed.astimezone(UTC).timestamp())
