"""How a checked transaction is sent: straight to the node (``deptoken.contracts``), or through a
transport the caller injects (the issuer tooling's exactly-once outbox, ``deptoken.ops.outbox.transport``).

A transaction is sent only after the caller's checks passed; a revert that slips past them (the
chain changed in between) becomes one line, ``TransactionReverted``, naming the contract's error
and its arguments: the node's gas estimate runs the transaction first, and a revert there sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Transport = Callable[[Any, str, tuple[Any, ...], Any], Any]
"""``transport(contract, method, args, sender)``: sends ``contract.method(*args)`` signed by ``sender``
and returns what stands for the transaction (a ``deptoken.contracts.Receipt``, the outbox's record)."""


def send_checked(contract: Any, method: str, *args: Any, sender: Any, transport: Transport | None = None) -> Any:
    """Sends ``contract.method(*args)`` (a ``deptoken.contracts.Contract``) from ``sender`` after the
    caller's checks, through ``transport`` if given, else straight to the node. Every client's
    transactions go here."""
    if transport is None:
        from ..contracts import as_contract

        return getattr(as_contract(contract), method).transact(*args, sender=sender)
    return transport(contract, method, args, sender)
