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
    ``transport`` if given (else ape, after a simulation); a revert that slipped past the checks
    becomes one line (``TransactionReverted``). Every client's transactions go here."""
    with reverts_as_one_line(method):
        if transport is None:
            simulate(contract, method, args, sender)
            return getattr(contract, method)(*args, sender=sender)
        return transport(contract, method, args, sender)


def simulate(contract: Any, method: str, args: tuple[Any, ...], sender: Any) -> None:
    """Runs the transaction as a call first: a revert is ``TransactionReverted`` naming the contract's
    error and its arguments. (ape, sending a transaction that reverts, prints its call trace on
    standard output, where a ``--json`` reader expects only the result.)"""
    from web3.exceptions import ContractCustomError, ContractLogicError

    data = getattr(contract, method).encode_input(*args)
    call = {"from": str(sender.address), "to": str(contract.address), "data": data.to_0x_hex()}
    try:
        contract.provider.web3.eth.call(call)
    except (ContractCustomError, ContractLogicError) as exc:
        raise TransactionReverted(f"{method} reverted: {revert_reason(contract, exc)}") from None


def revert_reason(contract: Any, exc: Exception) -> str:
    """``Error(name=value, ...)`` from the revert data and the contract's ABI, else the node's message."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        raw = bytes.fromhex(data[2:])
        errors = contract.contract_type.errors
        if raw[:4] in errors:
            abi = errors[raw[:4]]
            values = contract.provider.network.ecosystem.decode_calldata(abi, raw[4:])
            return f"{abi.name}({', '.join(f'{k}={v}' for k, v in values.items())})"
    return first_line(exc)
