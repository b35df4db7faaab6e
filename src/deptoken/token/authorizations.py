"""Gasless authorizations on a DepositToken: EIP-2612 permits and EIP-3009 transfer authorizations.

The holder signs an EIP-712 message (eth-account, off-chain, no gas); anyone submits it. A signed
message is kept as its typed data plus the signature, a JSON file any EIP-712 wallet or tool reads::

    signed = sign(buyer, transfer_authorization(client, buyer, merchant, "125.50", valid_for=3600))
    signed.save("checkout.json")                       # the buyer's one signature, sent to the merchant
    signed = SignedMessage.load("checkout.json")
    verify(client, signed)                             # raises DepositTokenError (one line) if it would fail
    submit(client, signed, sender=relayer)             # checks again, then sends

Kinds: ``Permit`` (an allowance), ``TransferWithAuthorization`` (anyone submits),
``ReceiveWithAuthorization`` (only the payee may submit: the form contracts such as the trade escrow
use) and ``CancelAuthorization`` (withdraws an unused one). EIP-3009 nonces are random 32 bytes;
permit nonces are the token's sequential ``nonces(owner)``. Contract wallets sign through ERC-1271:
``submit`` uses the token's ``bytes signature`` overloads for signatures that are not 65 bytes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from .. import eip712
from ..amounts import Amount
from ..errors import DepositTokenError, ReferenceUsed
from ..times import format_expiry
from .client import TokenClient
from ..validation import address_of, parse_bytes32, parse_uint256

PERMIT = "Permit"
TRANSFER = "TransferWithAuthorization"
RECEIVE = "ReceiveWithAuthorization"
CANCEL = "CancelAuthorization"

_AUTHORIZATION_FIELDS: eip712.Fields = (
    ("from", "address"),
    ("to", "address"),
    ("value", "uint256"),
    ("validAfter", "uint256"),
    ("validBefore", "uint256"),
    ("nonce", "bytes32"),
)
FIELDS: dict[str, eip712.Fields] = {
    PERMIT: (("owner", "address"), ("spender", "address"), ("value", "uint256"), ("nonce", "uint256"), ("deadline", "uint256")),
    TRANSFER: _AUTHORIZATION_FIELDS,
    RECEIVE: _AUTHORIZATION_FIELDS,
    CANCEL: (("authorizer", "address"), ("nonce", "bytes32")),
}
_SIGNER_FIELD = {PERMIT: "owner", TRANSFER: "from", RECEIVE: "from", CANCEL: "authorizer"}


def random_nonce() -> bytes:
    """A fresh EIP-3009 nonce: 32 random bytes."""
    return os.urandom(32)


@dataclass(frozen=True)
class SignedMessage(eip712.SignedFile):
    """EIP-712 typed data (``types``, ``primaryType``, ``domain``, ``message``) and its signature."""

    FILE_KIND = "authorization file"

    data: dict[str, Any]
    signature: bytes

    @property
    def kind(self) -> str:
        return str(self.data["primaryType"])

    @property
    def message(self) -> dict[str, Any]:
        return self.data["message"]

    @property
    def signer(self) -> str:
        """Who must have signed: the permit's owner, the payer, or the cancelling authorizer."""
        return to_checksum_address(self.message[_SIGNER_FIELD[self.kind]])

    def to_json(self) -> str:
        return json.dumps({"typedData": eip712.message_json(self.data), "signature": "0x" + self.signature.hex()}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> SignedMessage:
        """Parses and checks the shape of a signed message (one of the four kinds, nothing else),
        normalised as ``eip712.parse_typed_data`` does (what ethers, viem and wallets emit is taken)."""
        try:
            raw = json.loads(text)
            data, signature = raw["typedData"], eip712.signature_bytes(raw["signature"])
            return cls(eip712.parse_typed_data(data, FIELDS, kind_name="authorization kind"), signature)
        except DepositTokenError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise DepositTokenError(f"not a signed authorization file ({type(exc).__name__}: {exc})") from None



def _field(value_type: str, value: Any, name: str) -> Any:
    if value_type == "address":
        return address_of(value, name)
    if value_type == "uint256":
        return parse_uint256(value, name)
    return parse_bytes32(value, name)


# ---------------------------------------------------------------------- building


def permit(client: TokenClient, owner: Any, spender: Any, amount: Amount, *, deadline: int) -> dict[str, Any]:
    """A permit for ``spender`` to move ``amount`` of ``owner``'s tokens, signable until ``deadline``."""
    owner_address, spender_address = address_of(owner, "owner"), address_of(spender, "spender")
    value = client.units(amount, allow_zero=True)
    nonce = int(client.contract.nonces(owner_address))
    message = {"owner": owner_address, "spender": spender_address, "value": value, "nonce": nonce, "deadline": int(deadline)}
    return eip712.typed_data(eip712.contract_domain(client.contract), PERMIT, FIELDS[PERMIT], message)


def transfer_authorization(
    client: TokenClient,
    payer: Any,
    payee: Any,
    amount: Amount,
    *,
    valid_for: int | None = None,
    valid_after: int = 0,
    valid_before: int | None = None,
    nonce: bytes | None = None,
    receive: bool = False,
) -> dict[str, Any]:
    """An EIP-3009 authorization for ``amount`` from ``payer`` to ``payee``, valid until
    ``valid_before`` (or ``valid_for`` seconds from the chain's time). ``receive``: only the payee
    may submit it (``receiveWithAuthorization``)."""
    if (valid_for is None) == (valid_before is None):
        raise DepositTokenError("give the authorization's validity as valid_for seconds or valid_before (one of them)")
    if valid_before is None:
        if valid_for <= 0:
            raise DepositTokenError("valid_for must be positive seconds")
        valid_before = client.now() + int(valid_for)
    message = {
        "from": address_of(payer, "payer"),
        "to": address_of(payee, "payee"),
        "value": client.units(amount),
        "validAfter": int(valid_after),
        "validBefore": int(valid_before),
        "nonce": random_nonce() if nonce is None else _field("bytes32", nonce, "nonce"),
    }
    kind = RECEIVE if receive else TRANSFER
    return eip712.typed_data(eip712.contract_domain(client.contract), kind, FIELDS[kind], message)


def cancel_authorization(client: TokenClient, authorizer: Any, nonce: bytes | str) -> dict[str, Any]:
    """A cancellation of ``authorizer``'s unused authorization ``nonce``."""
    message = {"authorizer": address_of(authorizer, "authorizer"), "nonce": _field("bytes32", nonce, "nonce")}
    return eip712.typed_data(eip712.contract_domain(client.contract), CANCEL, FIELDS[CANCEL], message)


def sign(signer: Any, data: Mapping[str, Any]) -> SignedMessage:
    """``signer`` (an ape or eth-account account: the holder, or the key of its ERC-1271 wallet) signs."""
    return SignedMessage(dict(data), eip712.sign(signer, data))


# ---------------------------------------------------------------------- checking and submitting


def verify(client: TokenClient, signed: SignedMessage, *, sender: Any = None) -> None:
    """Everything the token will check, checked now: domain (this token, this chain), signature
    (ECDSA or ERC-1271), validity window, nonce, and for transfers the allowlist, freeze, pause and
    balance rules. ``sender``: who will submit (``ReceiveWithAuthorization`` needs the payee)."""
    domain = eip712.contract_domain(client.contract)
    if signed.data["domain"] != domain:
        got = signed.data["domain"]
        raise DepositTokenError(
            f"signed for {got.get('name')!r} at {got.get('verifyingContract')} on chain {got.get('chainId')}, "
            f"not this token ({domain['name']!r} at {domain['verifyingContract']} on chain {domain['chainId']})"
        )
    if not eip712.is_valid_signature(signed.signer, signed.data, signed.signature):
        delegate = eip712.eip7702_delegate(signed.signer)
        if delegate is not None:
            raise DepositTokenError(
                f"the signature is not {signed.signer}'s: the account is delegated under EIP-7702 to {delegate}, "
                "so the token asks that code (ERC-1271 isValidSignature), which refuses it"
            )
        raise DepositTokenError(f"the signature is not {signed.signer}'s")
    message, now = signed.message, client.now()
    if signed.kind == PERMIT:
        if now > message["deadline"]:
            raise DepositTokenError(f"the permit expired at {format_expiry(message['deadline'])}")
        current = int(client.contract.nonces(signed.signer))
        if message["nonce"] != current:
            raise DepositTokenError(f"permit nonce {message['nonce']} is not {signed.signer}'s next nonce ({current}): used or out of order")
        return
    if client.contract.authorizationState(signed.signer, message["nonce"]):
        raise ReferenceUsed(f"authorization nonce 0x{message['nonce'].hex()} of {signed.signer} was already used or cancelled")
    if signed.kind == CANCEL:
        return
    if now <= message["validAfter"]:
        raise DepositTokenError(f"the authorization is valid only after {format_expiry(message['validAfter'])}")
    if now >= message["validBefore"]:
        raise DepositTokenError(f"the authorization expired at {format_expiry(message['validBefore'])}")
    if signed.kind == RECEIVE and sender is not None and address_of(sender, "sender") != message["to"]:
        raise DepositTokenError(f"only the payee {message['to']} may submit a ReceiveWithAuthorization")
    client.require_not_paused("transfer")
    client.require_parties_active([("payer", signed.signer), ("payee", message["to"])])
    client.require_unfrozen_balance(signed.signer, message["value"], "payer")


def submit(client: TokenClient, signed: SignedMessage, *, sender: Any) -> Any:
    """Verifies ``signed`` and sends it to the token from ``sender`` (any account; the payee for
    ``ReceiveWithAuthorization``). 65-byte signatures go to the standard ``v, r, s`` functions,
    others to the ``bytes`` overloads (ERC-1271 wallets)."""
    verify(client, signed, sender=sender)
    m, sig = signed.message, signed.signature
    args: tuple[Any, ...]
    if signed.kind == PERMIT:
        method, args = "permit", (m["owner"], m["spender"], m["value"], m["deadline"])
    elif signed.kind == CANCEL:
        method, args = "cancelAuthorization", (m["authorizer"], m["nonce"])
    else:
        method = "transferWithAuthorization" if signed.kind == TRANSFER else "receiveWithAuthorization"
        args = (m["from"], m["to"], m["value"], m["validAfter"], m["validBefore"], m["nonce"])
    signature_args = eip712.split(sig) if len(sig) == 65 else (sig,)
    return client.send(method, *args, *signature_args, sender=sender)
