"""EIP-712 typed data: build, sign (eth-account), recover and verify (ECDSA or ERC-1271).

A message is the JSON form eth-account and wallets take (``types``, ``primaryType``, ``domain``,
``message``), so what is signed here can be shown to, or signed by, any EIP-712 wallet and written
to a file as it is. Signers are ``deptoken.accounts`` signers, ape accounts or eth-account local accounts.

Usage::

    data = typed_data(contract_domain(token), "Permit", PERMIT_FIELDS, {...})
    signature = sign(owner, data)              # 65 bytes, r || s || v
    recover(data, signature) -> "0xAbC..."     digest(data) -> the 32-byte hash contracts check
    is_valid_signature(owner_address, data, signature)   # ERC-1271 for contract wallets (needs a node)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils import to_checksum_address

from .errors import DepositTokenError, InvalidInput
from .validation import parse_address, parse_bytes32

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


def file_address(value: Any, what: str) -> str:
    """An address read from a signed file, checksummed. Single-case hex is taken as it is (ethers and
    viem emit lower case; the signature covers the 20 bytes, so a mistyped digit fails verification),
    a mixed-case address must carry a correct EIP-55 checksum; the zero address is refused."""
    text = value.strip() if isinstance(value, str) else None
    if text is None or not re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
        raise InvalidInput(f"{what} {value!r} is not an address (0x followed by 40 hex digits)")
    body = text[2:]
    if body == body.lower() or body == body.upper():
        if int(body, 16) == 0:
            raise InvalidInput(f"{what} must not be the zero address")
        return to_checksum_address(text)
    return parse_address(text, what)


def file_uint(value: Any, what: str, *, bits: int = 256) -> int:
    """An unsigned integer read from a signed file: a JSON number, decimal text, or ``0x`` hex text
    (ethers' ``TypedDataEncoder.getPayload`` writes hex), within ``bits`` bits."""
    if isinstance(value, bool):
        raise InvalidInput(f"{what} must be a non-negative integer, not {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value):
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*0[xX][0-9a-fA-F]+\s*", value):
        number = int(value.strip(), 16)
    else:
        raise InvalidInput(f"{what} must be a non-negative integer (decimal, or 0x-hex text), not {value!r}")
    if not 0 <= number < 2**bits:
        raise InvalidInput(f"{what} {value!r} does not fit in uint{bits}")
    return number


def parse_domain(raw: Any) -> dict[str, Any]:
    """A domain read from a file: exactly the four fields; ``chainId`` a number, decimal or hex text,
    the address in any case (checksummed here)."""
    if not isinstance(raw, Mapping) or set(raw) != {n for n, _ in DOMAIN_FIELDS}:
        raise InvalidInput("the EIP-712 domain must have exactly name, version, chainId and verifyingContract")
    chain_id = file_uint(raw["chainId"], "chainId")
    if chain_id == 0:
        raise InvalidInput(f"chainId must be a positive integer, not {raw['chainId']!r}")
    if not isinstance(raw["name"], str) or not isinstance(raw["version"], str):
        raise InvalidInput("the EIP-712 domain's name and version must be text")
    return domain(raw["name"], raw["version"], chain_id, file_address(raw["verifyingContract"], "verifyingContract"))


def parse_typed_data(raw: Any, known: Mapping[str, Fields], *, kind_name: str = "primaryType") -> dict[str, Any]:
    """Typed data read from a signed file, normalised to the form this module builds (and signs):
    what this tooling writes, and what the common libraries emit (ethers' ``getPayload``, viem,
    eth_signTypedData_v4): ``types`` with or without ``EIP712Domain`` (if present, exactly the four
    domain fields), ``chainId`` and uints as numbers, decimal or hex text, addresses in any case
    (mixed case must be a correct checksum), bytes32 as 0x-hex. ``known``: the accepted primary types
    and their fields. Nothing but the primary type (and ``EIP712Domain``) may be in ``types``."""
    if not isinstance(raw, Mapping) or set(raw) != {"types", "primaryType", "domain", "message"}:
        raise InvalidInput("typed data needs exactly types, primaryType, domain and message")
    kind = raw["primaryType"]
    if kind not in known:
        raise InvalidInput(f"unknown {kind_name} {kind!r} (expected one of {', '.join(known)})")
    fields = known[kind]
    types = raw["types"]
    want = {kind: [{"name": n, "type": t} for n, t in fields]}
    domain_type = [{"name": n, "type": t} for n, t in DOMAIN_FIELDS]
    if not isinstance(types, Mapping) or set(types) - {"EIP712Domain"} != {kind} or types[kind] != want[kind]:
        raise InvalidInput(f"the {kind} message does not have the standard EIP-712 fields (types: {kind} and optionally EIP712Domain)")
    if "EIP712Domain" in types and types["EIP712Domain"] != domain_type:
        raise InvalidInput("the EIP712Domain type must be name, version, chainId, verifyingContract")
    message = raw["message"]
    if not isinstance(message, Mapping) or set(message) != {n for n, _ in fields}:
        raise InvalidInput(f"the {kind} message must have exactly the fields {', '.join(n for n, _ in fields)}")
    values: dict[str, Any] = {}
    for name, value_type in fields:
        value = message[name]
        if value_type == "address":
            values[name] = file_address(value, name)
        elif value_type.startswith("uint"):
            values[name] = file_uint(value, name, bits=int(value_type[4:]))
        elif value_type == "bytes32":
            values[name] = parse_bytes32(value if isinstance(value, str) else repr(value), name)
        else:  # pragma: no cover - the project's message types use only these
            raise InvalidInput(f"unsupported field type {value_type}")
    return typed_data(parse_domain(raw["domain"]), kind, fields, values)


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
            raise InvalidInput(f"{cls.FILE_KIND} {path} not found")
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
        raise InvalidInput("signature is not hex") from None


def split(signature: bytes) -> tuple[int, bytes, bytes]:
    """``(v, r, s)`` of a 65-byte signature, for the contracts' ``v, r, s`` overloads."""
    if len(signature) != 65:
        raise InvalidInput(f"a v, r, s signature is 65 bytes, not {len(signature)}")
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
        raise InvalidInput("malformed signature") from None


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
    from .chain import code_at

    code = code_at(to_checksum_address(account))
    return to_checksum_address(code[3:]) if len(code) == 23 and code[:3] == EIP7702_PREFIX else None


def is_valid_signature(signer: str, data: Mapping[str, Any], signature: bytes | str) -> bool:
    """Whether ``signature`` is ``signer``'s over ``data``, exactly as OpenZeppelin's ``SignatureChecker``
    decides on-chain (read from the connected node): if ``signer`` has no code, an ECDSA
    signature by its key ({ecdsa_signer}); if it has code (a contract wallet, or an account delegated
    under EIP-7702), only its ERC-1271 ``isValidSignature`` answer counts, even for its own key's
    signature."""
    raw = signature_bytes(signature)
    signer = to_checksum_address(signer)
    from eth_abi import decode, encode

    from .node import current

    node = current()
    if not node.code(signer):
        return ecdsa_signer(data, raw) == signer
    calldata = ERC1271_MAGIC + encode(["bytes32", "bytes"], [digest(data), raw])
    try:
        result = node.web3.eth.call({"to": signer, "data": "0x" + calldata.hex()})
    except Exception:  # noqa: BLE001 - a reverting wallet means "not valid"
        return False
    return len(result) == 32 and decode(["bytes32"], result)[0][:4] == ERC1271_MAGIC
