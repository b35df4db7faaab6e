"""A bank reference (a deposit, payout, burn or legal-order reference) in both of its forms: the text
the bank's systems and the ledger use, and the bytes32 the token records.

The bytes32 is keccak256 of the UTF-8 text (``0x`` + 64 hex digits is taken as the bytes32 itself),
so that the chain carries no client data in clear: ``validation.reference_to_bytes32``. Because the
hash is of the exact text, ``DEP-1`` and ``dep-1`` are different on-chain; the ledger treats them as
one deposit (``key``: the text lower-cased, as its ``lower(bank_reference)`` index does).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .validation import reference_to_bytes32


@dataclass(frozen=True)
class Reference:
    """``Reference.parse("DEP-2026-000123", "deposit reference")``: ``text``, ``bytes32``, ``hex``, ``key``."""

    text: str
    bytes32: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", str(self.text).strip())
        object.__setattr__(self, "bytes32", reference_to_bytes32(self.text))

    @classmethod
    def parse(cls, text: str | Reference, what: str = "reference") -> Reference:
        """``text`` (stripped) as a reference; empty or zero is refused naming ``what``."""
        if isinstance(text, Reference):
            return text
        reference_to_bytes32(str(text), what)  # the error names what the reference is for
        return cls(str(text))

    @property
    def hex(self) -> str:
        """The bytes32 as ``0x`` + 64 lower-case hex digits (as the indexer stores event references)."""
        return "0x" + self.bytes32.hex()

    @property
    def key(self) -> str:
        """The text lower-cased: references that differ only in case are the same deposit."""
        return self.text.lower()

    def __str__(self) -> str:
        return self.text
