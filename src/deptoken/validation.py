"""Validation of the things operators type: addresses, references, 32-byte values, durations and times."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from eth_utils import is_checksum_address, keccak, to_checksum_address

from .errors import DepositTokenError

_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HEX_BYTES32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_DURATION = re.compile(r"^(\d+)\s*([smhdw]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
UINT64_MAX = 2**64 - 1


def parse_address(text: str, what: str = "address") -> str:
    """The address ``text``, which must carry a correct EIP-55 checksum (mixed case).

    Single-case hex carries no checksum, so a mistyped digit in it would go unnoticed: it is refused
    too (unless it is the address's EIP-55 form, as for the rare address whose checksum leaves every
    letter in one case), as is a mixed-case address whose checksum is wrong.
    """
    text = str(text).strip()
    if not _HEX_ADDRESS.match(text):
        raise DepositTokenError(f"{what} {text!r} is not an address (0x followed by 40 hex digits)")
    if int(text, 16) == 0:
        raise DepositTokenError(f"{what} must not be the zero address")
    if is_checksum_address(text):  # includes the rare address whose EIP-55 form is single-case
        return to_checksum_address(text)
    body = text[2:]
    if body == body.lower() or body == body.upper():
        raise DepositTokenError(f"{what} {text} has no EIP-55 checksum: give it in checksummed (mixed-case) form")
    raise DepositTokenError(f"{what} {text} has a wrong EIP-55 checksum (mistyped?)")


def reference_to_bytes32(reference: str, what: str = "reference") -> bytes:
    """The bytes32 the contract records for a bank reference.

    ``0x`` + 64 hex digits is taken as the bytes32 itself; any other text (``DEP-2026-000123``) is
    hashed with keccak256 of its UTF-8 bytes, so that the chain carries no client data in clear.
    """
    reference = str(reference).strip()
    if not reference:
        raise DepositTokenError(f"{what} must not be empty")
    if _HEX_BYTES32.match(reference):
        value = bytes.fromhex(reference[2:])
    else:
        value = keccak(text=reference)
    if value == bytes(32):
        raise DepositTokenError(f"{what} must not be zero")
    return value


def parse_bytes32(value: bytes | str, what: str) -> bytes:
    """32 bytes from ``bytes`` or ``0x`` + 64 hex digits (nonces, lock ids, hashlocks, preimages)."""
    if isinstance(value, bytes | bytearray):
        if len(value) != 32:
            raise DepositTokenError(f"{what} must be 32 bytes, not {len(value)}")
        return bytes(value)
    text = str(value).strip()
    if not _HEX_BYTES32.match(text):
        raise DepositTokenError(f"{what} {text!r} is not 0x followed by 64 hex digits (32 bytes)")
    return bytes.fromhex(text[2:])


def parse_uint256(value: int | str, what: str) -> int:
    """A non-negative integer that fits in uint256, from an ``int`` or decimal text (as JSON files carry them)."""
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        raise DepositTokenError(f"{what} must be a non-negative integer, not {value!r}")
    number = int(str(value).strip())
    if number >= 2**256:
        raise DepositTokenError(f"{what} does not fit in uint256")
    return number


def parse_duration(value: str | int, what: str = "duration") -> int:
    """Seconds from an ``int`` or text: ``3600``, ``90m``, ``48h``, ``7d``, ``2w``; positive."""
    if isinstance(value, bool):
        raise DepositTokenError(f"{what} {value!r} is not a duration")
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION.match(str(value).strip().lower())
        if not match:
            raise DepositTokenError(f"{what} {value!r} is not a duration such as 3600, 48h or 7d")
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not 0 < seconds <= UINT64_MAX:
        raise DepositTokenError(f"{what} {value!r} must be positive (and fit in 64 bits)")
    return seconds


def parse_deadline(value: int | str | datetime, now: int, what: str = "deadline") -> int:
    """A point in time as unix seconds: seconds, an aware ``datetime``, ISO 8601 text with a time
    zone (``2026-05-01T12:00:00Z``) or ``+N[s|m|h|d|w]`` from ``now`` (the chain's clock)."""
    if isinstance(value, bool):
        raise DepositTokenError(f"{what} {value!r} is not a time")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise DepositTokenError(f"{what} {value.isoformat()} has no time zone")
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
        raise DepositTokenError(
            f"{what} {text!r} is not unix seconds, +N[s|m|h|d] or an ISO 8601 time such as 2026-05-01T12:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        raise DepositTokenError(f"{what} {text!r} has no time zone (add Z for UTC)")
    return int(parsed.astimezone(UTC).timestamp())
