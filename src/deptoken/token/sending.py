"""How a checked transaction is sent: straight through ape, or through a transport the caller
injects (the issuer tooling's exactly-once outbox, ``deptoken.ops.outbox.transport``).

A transaction is sent only after the caller's checks passed; a revert that slips past them (the
chain changed in between) becomes one line, ``TransactionReverted``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import TransactionReverted, first_line

Transport = Callable[[Any, str, tuple[Any, ...], Any], Any]
"""``transport(contract, method, args, sender)``: sends ``contract.method(*args)`` signed by ``sender``
and returns what stands for the transaction (an ape receipt, the outbox's record)."""


@contextmanager
def reverts_as_one_line(method: str) -> Iterator[None]:
    """Within the block, a contract revert becomes ``TransactionReverted`` naming ``method``."""
    from ape.exceptions import ContractLogicError

    try:
        yield
    except ContractLogicError as exc:
        raise TransactionReverted(f"{method} reverted: {type(exc).__name__} {first_line(exc)}") from None


def send_checked(contract: Any, method: str, *args: Any, sender: Any, transport: Transport | None = None) -> Any:
    """Sends ``contract.method(*args)`` from ``sender`` after the caller's checks, through
    ``transport`` if given (else ape); a revert that slipped past the checks becomes one line
    (``TransactionReverted``). Every client's transactions go here."""
    with reverts_as_one_line(method):
        if transport is None:
            return getattr(contract, method)(*args, sender=sender)
        return transport(contract, method, args, sender)
