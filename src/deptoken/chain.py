"""The connected network, as ape sees it, and the checks made before anything is sent."""

from __future__ import annotations

from .errors import DepositTokenError


def network_name() -> str:
    """The name deployments are filed under: the connected ape network (``local``, ``hardhat``, ...)."""
    from ape import networks

    return networks.provider.network.name


def connected_chain_id() -> int:
    """The chain id the node reports; a clear error if the node cannot be reached."""
    from ape import chain

    try:
        return chain.chain_id
    except Exception as exc:  # noqa: BLE001 - the provider raises various connection errors
        raise DepositTokenError(f"cannot reach the node: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def require_chain_id(expected: int) -> None:
    """Refuses to go on when the node is on another chain than the configuration or deployment says."""
    actual = connected_chain_id()
    if actual != expected:
        raise DepositTokenError(f"wrong chain: the node reports chain id {actual}, expected {expected}")
