"""Where the cross-border contracts of a network are: ``deployments/<network>-settlement.json``.

Written by the cross-border deploy (``deptoken.settlement.deploy``); read by the CLI, so that
``--token USD`` or ``--escrow USD`` name a contract by its currency instead of its address.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..deployments import DEPLOYMENTS_DIR
from ..errors import DepositTokenError
from ..validation import parse_address


@dataclass
class SettlementDeployment:
    """The deposit tokens (by currency) and the settlement contracts on one network."""

    network: str
    chain_id: int
    tokens: dict[str, str] = field(default_factory=dict)  # currency -> token (proxy) address
    escrows: dict[str, str] = field(default_factory=dict)  # currency -> trade escrow of that token
    pvp: str | None = None
    htlc: str | None = None


def registry_path(network: str, directory: Path | None = None) -> Path:
    return (directory or DEPLOYMENTS_DIR) / f"{network}-settlement.json"


def write_registry(record: SettlementDeployment, directory: Path | None = None) -> Path:
    """Writes the record (atomically: temp file + rename)."""
    path = registry_path(record.network, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(record), indent=2) + "\n")
    tmp.replace(path)
    return path


def read_registry(network: str, directory: Path | None = None) -> SettlementDeployment | None:
    """The record of ``network``, or None if there is none."""
    path = registry_path(network, directory)
    if not path.is_file():
        return None
    try:
        return SettlementDeployment(**json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError) as exc:
        raise DepositTokenError(f"{path} is not a valid settlement record ({exc})") from None


def resolve(record: SettlementDeployment | None, kind: str, ref: str | None) -> str:
    """The address ``ref`` names: an address, or a currency code (tokens, escrows); for ``pvp`` and
    ``htlc`` the record's contract when ``ref`` is None."""
    if ref and ref.strip().lower().startswith("0x"):
        return parse_address(ref, f"{kind} address")
    where = f"(no {registry_path(record.network).name if record else 'settlement record'} entry)"
    if kind in ("pvp", "htlc"):
        address = getattr(record, kind) if record else None
        if ref or not address:
            raise DepositTokenError(f"give the {kind} contract's address with --{kind} 0x... {where}")
        return parse_address(address, f"{kind} address")
    table = getattr(record, kind + "s", {}) if record else {}
    code = (ref or "").strip().upper()
    if not code:
        raise DepositTokenError(f"give the {kind} as a currency code or an address")
    if code not in table:
        known = ", ".join(sorted(table)) or "none"
        raise DepositTokenError(f"no {kind} for currency {code!r} on this network (known: {known}); give its address")
    return parse_address(table[code], f"{kind} address")
