"""The connected network (``deptoken.node``) and the checks made before anything is sent."""

from __future__ import annotations

from .errors import WrongChain
from .node import current


def network_name() -> str:
    """The name deployments are filed under: the connected network (``local``, ``hardhat``, ...)."""
    return current().network


def next_block_time() -> int:
    """The timestamp the next block will carry: what a contract's time checks will see."""
    return current().pending_timestamp()


def connected_chain_id() -> int:
    """The chain id the node reports; a clear error if the node cannot be reached."""
    return current().chain_id()


def latest_block_number() -> int:
    """The number of the node's latest block."""
    return current().block_number()


def block_hash(number: int) -> str:
    """The hash of the node's block ``number`` (0x-hex, lower case)."""
    return str(current().block(number)["hash"]).lower()


def code_at(address: str) -> bytes:
    """The code at ``address`` on the connected node (empty: no contract there)."""
    return current().code(address)


def require_chain_id(expected: int) -> None:
    """Refuses to go on when the node is on another chain than the configuration or deployment says
    (transactions are signed for the chain id the node reports)."""
    actual = connected_chain_id()
    if actual != expected:
        raise WrongChain(f"wrong chain: the node reports chain id {actual}, expected {expected}")
