"""Validation of the things operators type: addresses, references, 32-byte values (times: ``deptoken.times``)."""

from __future__ import annotations

import re
from typing import Any

from eth_utils import is_checksum_address, keccak, to_checksum_address

from .errors import InvalidInput

_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HEX_BYTES32 = re.compile(r"^0x[0-9a-fA-F]{64}$")


def parse_address(text: str, what: str = "address") -> str:
    """The address ``text``, which must carry a correct EIP-55 checksum (mixed case).

    Single-case hex carries no checksum, so a mistyped digit in it would go unnoticed: it is refused
    too (unless it is the address's EIP-55 form, as for the rare address whose checksum leaves every
    letter in one case), as is a mixed-case address whose checksum is wrong.
    """
    text = str(text).strip()
    if not _HEX_ADDRESS.match(text):
        raise InvalidInput(f"{what} {text!r} is not an address (0x followed by 40 hex digits)")
    if int(text, 16) == 0:
        raise InvalidInput(f"{what} must not be the zero address")
    if is_checksum_address(text):  # includes the rare address whose EIP-55 form is single-case
        return to_checksum_address(text)
    body = text[2:]
    if body == body.lower() or body == body.upper():
        raise InvalidInput(f"{what} {text} has no EIP-55 checksum: give it in checksummed (mixed-case) form")
    raise InvalidInput(f"{what} {text} has a wrong EIP-55 checksum (mistyped?)")


def address_of(who: Any, what: str = "address") -> str:
    """The checksummed address of ``who``: text, or anything with an ``address`` (an ape account, a
    contract, a ``TokenClient``); checked as :func:`parse_address` checks text."""
    return parse_address(getattr(who, "address", who), what)


def reference_to_bytes32(reference: str, what: str = "reference") -> bytes:
    """The bytes32 the contract records for a bank reference.

    ``0x`` + 64 hex digits is taken as the bytes32 itself; any other text (``DEP-2026-000123``) is
    hashed with keccak256 of its UTF-8 bytes, so that the chain carries no client data in clear.
    """
    reference = str(reference).strip()
    if not reference:
        raise InvalidInput(f"{what} must not be empty")
    if _HEX_BYTES32.match(reference):
        value = bytes.fromhex(reference[2:])
    else:
        value = keccak(text=reference)
    if value == bytes(32):
        raise InvalidInput(f"{what} must not be zero")
    return value


def parse_bytes32(value: bytes | str, what: str) -> bytes:
    """32 bytes from ``bytes`` or ``0x`` + 64 hex digits (nonces, lock ids, hashlocks, preimages)."""
    if isinstance(value, bytes | bytearray):
        if len(value) != 32:
            raise InvalidInput(f"{what} must be 32 bytes, not {len(value)}")
        return bytes(value)
    text = str(value).strip()
    if not _HEX_BYTES32.match(text):
        raise InvalidInput(f"{what} {text!r} is not 0x followed by 64 hex digits (32 bytes)")
    return bytes.fromhex(text[2:])


def parse_uint256(value: int | str, what: str) -> int:
    """A non-negative integer that fits in uint256, from an ``int`` or decimal text (as JSON files carry them)."""
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        raise InvalidInput(f"{what} must be a non-negative integer, not {value!r}")
    number = int(str(value).strip())
    if number >= 2**256:
        raise InvalidInput(f"{what} does not fit in uint256")
    return number
