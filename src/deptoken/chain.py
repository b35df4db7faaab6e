"""The connected network, as ape sees it, and the checks made before anything is sent."""

from __future__ import annotations

from .errors import NodeUnreachable, WrongChain, first_line


def network_name() -> str:
    """The name deployments are filed under: the connected ape network (``local``, ``hardhat``, ...)."""
    from ape import networks

    return networks.provider.network.name


def next_block_time() -> int:
    """The timestamp the next block will carry: what a contract's time checks will see."""
    from ape import chain

    return int(chain.pending_timestamp)


def connected_chain_id() -> int:
    """The chain id the node reports; a clear error if the node cannot be reached."""
    from ape import networks

    try:
        # Ask the node itself: ape reports the configured chain id for some networks (1337 for an
        # ad-hoc URI on `ethereum:local`), whatever the node is.
        return int(networks.provider.web3.eth.chain_id)
    except Exception as exc:  # noqa: BLE001 - the provider raises various connection errors
        raise NodeUnreachable(f"cannot reach the node: {first_line(exc)}") from None


def latest_block_number() -> int:
    """The number of the node's latest block."""
    from ape import networks

    try:
        return int(networks.provider.web3.eth.block_number)
    except Exception as exc:  # noqa: BLE001 - the provider raises various connection errors
        raise NodeUnreachable(f"cannot reach the node: {first_line(exc)}") from None


def block_hash(number: int) -> str:
    """The hash of the node's block ``number`` (0x-hex, lower case)."""
    from ape import networks

    try:
        block = networks.provider.web3.eth.get_block(number)
    except Exception as exc:  # noqa: BLE001 - the provider raises various connection errors
        raise NodeUnreachable(f"cannot reach the node: {first_line(exc)}") from None
    raw = block["hash"]
    return (raw if isinstance(raw, str) else "0x" + bytes(raw).hex()).lower()


def require_chain_id(expected: int) -> None:
    """Refuses to go on when the node is on another chain than the configuration or deployment says,
    or when ape would sign for another chain id than the node's (its transactions would be rejected)."""
    from ape import networks

    actual = connected_chain_id()
    if actual != expected:
        raise WrongChain(f"wrong chain: the node reports chain id {actual}, expected {expected}")
    signing = networks.provider.chain_id
    if signing != actual:
        raise WrongChain(
            f"ape's network {networks.provider.network_choice} signs for chain id {signing}, but the node is on "
            f"{actual}: choose a network configured for chain id {actual} (a local node: ethereum:hardhat:<uri>)"
        )
