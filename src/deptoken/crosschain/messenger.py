"""The cross-chain messenger's message, attestations and deployment (``DepositTokenMessenger``).

A message is the 320-byte ABI encoding of its ten fields (:class:`Message`); its id is the keccak-256 of
that encoding, and the messenger emits it in ``MessageSent``. An attester signs, per message, an EIP-712
``CrossChainTransfer`` (the message's fields) in the destination messenger's domain, or, once the
destination recorded the message refused, a ``CrossChainRefund`` (its id) in the source messenger's domain.
An attestation is ``abi.encode(address[] signers, bytes[] signatures)``, signers in increasing order.

Usage::

    messenger = deploy_messenger(admin, token, admin=admin, pauser=pauser, message_lifetime=DAY)
    # the bank: token.configureMinter(messenger, allowance); token.allowlist(messenger, expiry)
    messenger.setRoute(31338, remote.address, max_amount, sender=admin)
    messenger.setAttesters(sorted_addresses, 2, sender=admin)
    [log] = receipt.decode_logs(messenger.MessageSent); message = Message.decode(log.message)
    data = transfer_typed_data(destination_domain, message)       # what each attester signs
    attestation = attest(data, [attester_1, attester_2])            # signed, sorted, encoded
    remote.receiveMessage(message.encode(), attestation, sender=relayer)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from .. import eip712
from ..errors import InvalidInput
from ..validation import address_of

VERSION = 1
MESSAGE_LENGTH = 320
DOMAIN_NAME, DOMAIN_VERSION = "DepositTokenMessenger", "1"
TRANSFER, REFUND = "CrossChainTransfer", "CrossChainRefund"
MESSAGE_FIELDS: eip712.Fields = (
    ("version", "uint32"),
    ("sourceChainId", "uint256"),
    ("destinationChainId", "uint256"),
    ("sourceMessenger", "address"),
    ("destinationMessenger", "address"),
    ("nonce", "uint64"),
    ("sender", "address"),
    ("recipient", "address"),
    ("amount", "uint256"),
    ("deadline", "uint64"),
)
REFUND_FIELDS: eip712.Fields = (("messageId", "bytes32"),)
SEND_TYPE = "CrossChainSend(address messenger,uint256 destinationChainId,address recipient,bytes32 salt)"
# The messenger's MessageStatus and Direction enums
NONE, SENT, REFUNDED, RECEIVED, REFUSED = range(5)
OUTBOUND, INBOUND = 0, 1
EXPIRED, RECIPIENT_NOT_ACTIVE = 0, 1  # RefusalReason


@dataclass(frozen=True)
class Message:
    """A cross-chain transfer as the messenger encodes it (amount in minor units, deadline in unix seconds)."""

    version: int
    sourceChainId: int  # noqa: N815 - the contract's field names, as EIP-712 signs them
    destinationChainId: int  # noqa: N815
    sourceMessenger: str  # noqa: N815
    destinationMessenger: str  # noqa: N815
    nonce: int
    sender: str
    recipient: str
    amount: int
    deadline: int

    def encode(self) -> bytes:
        """The 320-byte encoding the messenger emits and receives."""
        return abi_encode([t for _, t in MESSAGE_FIELDS], [getattr(self, n) for n, _ in MESSAGE_FIELDS])

    @property
    def id(self) -> bytes:
        """The message id: keccak-256 of the encoding."""
        return keccak(self.encode())

    @classmethod
    def decode(cls, data: bytes | str) -> Message:
        """A message from its 320-byte encoding (bytes or 0x-hex)."""
        raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else bytes(data)
        if len(raw) != MESSAGE_LENGTH:
            raise InvalidInput(f"a message is {MESSAGE_LENGTH} bytes, not {len(raw)}")
        values = abi_decode([t for _, t in MESSAGE_FIELDS], raw)
        fields = {n: (to_checksum_address(v) if t == "address" else int(v)) for (n, t), v in zip(MESSAGE_FIELDS, values, strict=True)}
        return cls(**fields)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def messenger_domain(chain_id: int, messenger: Any) -> dict[str, Any]:
    """The EIP-712 domain of the messenger at ``messenger`` on ``chain_id``."""
    return eip712.domain(DOMAIN_NAME, DOMAIN_VERSION, chain_id, address_of(messenger, "messenger"))


def transfer_typed_data(message: Message) -> dict[str, Any]:
    """What an attester signs for ``message`` to be received: in the destination messenger's domain."""
    domain = messenger_domain(message.destinationChainId, message.destinationMessenger)
    return eip712.typed_data(domain, TRANSFER, MESSAGE_FIELDS, message.as_dict())


def refund_typed_data(message: Message) -> dict[str, Any]:
    """What an attester signs for a refused ``message`` to be refunded: in the source messenger's domain."""
    domain = messenger_domain(message.sourceChainId, message.sourceMessenger)
    return eip712.typed_data(domain, REFUND, REFUND_FIELDS, {"messageId": message.id})


def encode_attestation(signatures: Mapping[str, bytes] | Iterable[tuple[str, bytes]], *, sort: bool = True) -> bytes:
    """``abi.encode(address[] signers, bytes[] signatures)``; ``sort``: signers in increasing address
    order, as the messenger requires (``sort=False`` keeps the order given, for tests of the refusal)."""
    pairs = list(signatures.items() if isinstance(signatures, Mapping) else signatures)
    if sort:
        pairs.sort(key=lambda pair: int(pair[0], 16))
    return abi_encode(["address[]", "bytes[]"], [[a for a, _ in pairs], [bytes(s) for _, s in pairs]])


def attest(data: Mapping[str, Any], attesters: Iterable[Any]) -> bytes:
    """The attestation of ``data`` by each of ``attesters`` (signers: ape accounts, ``deptoken.accounts``
    signers, eth-account keys; or ``(contract wallet address, its signer)`` for an ERC-1271 attester
    whose wallet accepts its signer's signature over the digest)."""
    signed = []
    for attester in attesters:
        address, signer = attester if isinstance(attester, tuple) else (attester.address, attester)
        signed.append((to_checksum_address(str(getattr(address, "address", address))), eip712.sign(signer, data)))
    return encode_attestation(signed)


def send_nonce(messenger: Any, destination_chain_id: int, recipient: Any, salt: bytes) -> bytes:
    """The EIP-3009 nonce a holder signs for ``sendWithAuthorization`` (the messenger's ``sendNonce``)."""
    return keccak(abi_encode(
        ["bytes32", "address", "uint256", "address", "bytes32"],
        [keccak(text=SEND_TYPE), address_of(messenger, "messenger"), int(destination_chain_id),
         address_of(recipient, "recipient"), bytes(salt)],
    ))


def deploy_messenger(deployer: Any, token: Any, *, admin: Any, pauser: Any, message_lifetime: int) -> Any:
    """Deploys a ``DepositTokenMessenger`` for ``token`` on the connected chain; returns the ape contract.
    The bank then grants it the token's minter role with an allowance (``configureMinter``) and
    allowlists it; the admin sets routes, rate limits and attesters."""
    from ape import project

    from ..accounts import as_ape_account

    if isinstance(message_lifetime, bool) or not isinstance(message_lifetime, int) or not 0 < message_lifetime < 2**32:
        raise InvalidInput(f"message lifetime must be 1 to 2^32 - 1 seconds, not {message_lifetime!r}")
    return as_ape_account(deployer).deploy(
        project.DepositTokenMessenger, address_of(token, "token"), address_of(admin, "admin"),
        address_of(pauser, "pauser"), message_lifetime,
    )
