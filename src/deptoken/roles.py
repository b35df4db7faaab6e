"""The token's roles: the names operators type and the bytes32 ids the contract checks."""

from __future__ import annotations

from eth_utils import keccak

from .errors import DepositTokenError

#: Role names (as in the deploy config, plus ``minter``) to their ids in ``DepositToken``.
ROLES: dict[str, bytes] = {
    "admin": bytes(32),  # DEFAULT_ADMIN_ROLE
    "minter_admin": keccak(text="MINTER_ADMIN_ROLE"),
    "minter": keccak(text="MINTER_ROLE"),
    "compliance": keccak(text="COMPLIANCE_ROLE"),
    "legal": keccak(text="LEGAL_ROLE"),
    "pauser": keccak(text="PAUSER_ROLE"),
    "upgrader": keccak(text="UPGRADER_ROLE"),
}

_NAMES: dict[bytes, str] = {v: k for k, v in ROLES.items()}


def role_id(name: str) -> bytes:
    """The bytes32 id of role ``name`` (``minter``, ``compliance``, ...)."""
    key = str(name).strip().lower().replace("-", "_")
    try:
        return ROLES[key]
    except KeyError:
        raise DepositTokenError(f"unknown role {name!r}: expected one of {', '.join(ROLES)}") from None


def role_name(role: bytes | str) -> str:
    """The name of a role id (bytes or 0x-hex); the hex itself for a role this token does not define."""
    raw = bytes.fromhex(role[2:]) if isinstance(role, str) else bytes(role)
    return _NAMES.get(raw, "0x" + raw.hex())
