"""EIP-712 typed data: build, sign (eth-account), recover and verify (ECDSA or ERC-1271).

A message is the JSON form eth-account and wallets take (``types``, ``primaryType``, ``domain``,
``message``), so what is signed here can be shown to, or signed by, any EIP-712 wallet and written
to a file as it is. Signers are ape accounts (keystore or test) or eth-account local accounts.

Usage::

    data = typed_data(contract_domain(token), "Permit", PERMIT_FIELDS, {...})
    signature = sign(owner, data)              # 65 bytes, r || s || v
    recover(data, signature) -> "0xAbC..."     digest(data) -> the 32-byte hash contracts check
    is_valid_signature(owner_address, data, signature)   # ERC-1271 for contract wallets (needs ape)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils import to_checksum_address

from .errors import DepositTokenError

Fields = Sequence[tuple[str, str]]  # (name, solidity type), in the order of the type string

DOMAIN_FIELDS: Fields = (
    ("name", "string"),
    ("version", "string"),
    ("chainId", "uint256"),
    ("verifyingContract", "address"),
)
ERC1271_MAGIC = bytes.fromhex("1626ba7e")
EIP7702_PREFIX = bytes.fromhex("ef0100")  # an EIP-7702 delegation designator: 0xef0100 || delegate
# secp256k1n / 2: OpenZeppelin's ECDSA refuses signatures with a larger s (malleable twins)
SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


def domain(name: str, version: str, chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """An EIP-712 domain with the four fields this project's contracts use."""
    return {
        "name": name,
        "version": version,
        "chainId": int(chain_id),
        "verifyingContract": to_checksum_address(verifying_contract),
    }


def contract_domain(contract: Any) -> dict[str, Any]:
    """The domain a deployed contract signs under, read from its ERC-5267 ``eip712Domain()``."""
    fields, name, version, chain_id, verifying_contract, _salt, _extensions = contract.eip712Domain()
    if bytes(fields) != b"\x0f":  # name, version, chainId, verifyingContract
        raise DepositTokenError(f"{contract.address}: unexpected EIP-712 domain fields {bytes(fields).hex()}")
    return domain(name, version, chain_id, verifying_contract)


def parse_domain(raw: Any) -> dict[str, Any]:
    """A domain read from a file: exactly the four fields, the address checksummed."""
    if not isinstance(raw, Mapping) or set(raw) != {n for n, _ in DOMAIN_FIELDS}:
        raise DepositTokenError("the EIP-712 domain must have exactly name, version, chainId and verifyingContract")
    chain_id = raw["chainId"]
    if isinstance(chain_id, bool) or not str(chain_id).isdigit():
        raise DepositTokenError(f"chainId must be a positive integer, not {chain_id!r}")
    try:
        return domain(str(raw["name"]), str(raw["version"]), int(chain_id), raw["verifyingContract"])
    except ValueError:
        raise DepositTokenError(f"verifyingContract {raw['verifyingContract']!r} is not an address") from None


def message_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """Typed data as written to a file: bytes as 0x-hex, integers of the message as decimal text
    (exact in every JSON reader; EIP-712 wallets accept them)."""
    message = {k: "0x" + v.hex() if isinstance(v, bytes) else str(v) if isinstance(v, int) and not isinstance(v, bool) else v
               for k, v in data["message"].items()}
    return {**data, "message": message}


class SignedFile:
    """``save``/``load`` for the signed messages passed between parties as files
    (subclasses give ``to_json``, ``from_json`` and ``FILE_KIND``)."""

    FILE_KIND = "signed file"

    def to_json(self) -> str:
        raise NotImplementedError

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_json())
        return path

    @classmethod
    def load(cls, path: str | Path) -> Any:
        path = Path(path)
        if not path.is_file():
            raise DepositTokenError(f"{cls.FILE_KIND} {path} not found")
        return cls.from_json(path.read_text())  # type: ignore[attr-defined]


def typed_data(domain_: Mapping[str, Any], primary_type: str, fields: Fields, message: Mapping[str, Any]) -> dict[str, Any]:
    """The full typed-data message for a struct type without nested structs."""
    return {
        "types": {
            "EIP712Domain": [{"name": n, "type": t} for n, t in DOMAIN_FIELDS],
            primary_type: [{"name": n, "type": t} for n, t in fields],
        },
        "primaryType": primary_type,
        "domain": dict(domain_),
        "message": dict(message),
    }


def digest(data: Mapping[str, Any]) -> bytes:
    """The EIP-712 hash ``keccak256(0x1901 || domainSeparator || hashStruct(message))``."""
    return bytes(_hash_eip191_message(encode_typed_data(full_message=dict(data))))


def sign(signer: Any, data: Mapping[str, Any]) -> bytes:
    """``signer`` signs ``data``; the 65-byte signature r || s || v (v = 27 or 28)."""
    signable = encode_typed_data(full_message=dict(data))
    signature = signer.sign_message(signable)
    if signature is None:
        raise DepositTokenError(f"{signer.address} declined to sign")
    if hasattr(signature, "encode_rsv"):  # ape's MessageSignature
        return bytes(signature.encode_rsv())
    return bytes(signature.signature)  # eth-account's SignedMessage


def signature_bytes(signature: bytes | str) -> bytes:
    """A signature from bytes or 0x-hex text; a clear error if it is not hex."""
    if isinstance(signature, bytes | bytearray):
        return bytes(signature)
    text = signature.strip()
    try:
        return bytes.fromhex(text[2:] if text.lower().startswith("0x") else text)
    except ValueError:
        raise DepositTokenError("signature is not hex") from None


def split(signature: bytes) -> tuple[int, bytes, bytes]:
    """``(v, r, s)`` of a 65-byte signature, for the contracts' ``v, r, s`` overloads."""
    if len(signature) != 65:
        raise DepositTokenError(f"a v, r, s signature is 65 bytes, not {len(signature)}")
    return signature[64], signature[:32], signature[32:64]


def recover(data: Mapping[str, Any], signature: bytes | str) -> str:
    """The address whose key made ``signature`` over ``data`` (ECDSA)."""
    try:
        return to_checksum_address(
            Account.recover_message(encode_typed_data(full_message=dict(data)), signature=signature_bytes(signature))
        )
    except DepositTokenError:
        raise
    except Exception:  # noqa: BLE001 - eth-account raises several kinds for malformed bytes
        raise DepositTokenError("malformed signature") from None


def ecdsa_signer(data: Mapping[str, Any], signature: bytes | str) -> str | None:
    """The address whose key made ``signature`` over ``data``, under the rules OpenZeppelin's ``ECDSA``
    applies on-chain: 65 bytes, ``v`` 27 or 28, ``s`` in the lower half of the curve order. ``None``
    for a signature the contracts would refuse (eth-account alone also accepts ``v`` 0 or 1)."""
    raw = signature_bytes(signature)
    if len(raw) != 65 or raw[64] not in (27, 28) or int.from_bytes(raw[32:64], "big") > SECP256K1_HALF_N:
        return None
    try:
        return recover(data, raw)
    except DepositTokenError:
        return None


def eip7702_delegate(account: str) -> str | None:
    """The contract ``account`` delegates its code to under EIP-7702 (its code is ``0xef0100`` and
    that address), or ``None``."""
    from ape import chain

    code = bytes(chain.provider.get_code(to_checksum_address(account)))
    return to_checksum_address(code[3:]) if len(code) == 23 and code[:3] == EIP7702_PREFIX else None


def is_valid_signature(signer: str, data: Mapping[str, Any], signature: bytes | str) -> bool:
    """Whether ``signature`` is ``signer``'s over ``data``, exactly as OpenZeppelin's ``SignatureChecker``
    decides on-chain (read from the connected node through ape): if ``signer`` has no code, an ECDSA
    signature by its key ({ecdsa_signer}); if it has code (a contract wallet, or an account delegated
    under EIP-7702), only its ERC-1271 ``isValidSignature`` answer counts, even for its own key's
    signature."""
    raw = signature_bytes(signature)
    signer = to_checksum_address(signer)
    from ape import chain
    from eth_abi import decode, encode

    if not chain.provider.get_code(signer):
        return ecdsa_signer(data, raw) == signer
    calldata = ERC1271_MAGIC + encode(["bytes32", "bytes"], [digest(data), raw])
    try:
        result = chain.provider.web3.eth.call({"to": signer, "data": "0x" + calldata.hex()})
    except Exception:  # noqa: BLE001 - a reverting wallet means "not valid"
        return False
    return len(result) == 32 and decode(["bytes32"], result)[0][:4] == ERC1271_MAGIC
