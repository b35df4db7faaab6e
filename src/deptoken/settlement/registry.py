"""Where the cross-border contracts of a network are: ``deployments/<network>-<chain tag>-settlement.json``.

Written by the cross-border deploy (``deptoken.settlement.settlement_deployer``); read by the CLI, so that
``--token USD`` or ``--escrow USD`` name a contract by its currency instead of its address, and by
integrators' clients: everything a client needs is in it (chain id, addresses, each contract's
deploy block, where event searches start, and on the devnet the parties by role at each bank).
Records written before a field existed are read with that field empty (deploy block 0: search
from genesis); fields a newer writer adds are ignored.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..deployments import record_path
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
    # every bank's token by its symbol (a currency may have several banks: the devnet's EXUSD and EXUSB)
    banks: dict[str, str] = field(default_factory=dict)
    interbank: str | None = None  # the InterbankNetwork of the record's banks (one currency), if any
    settlement_asset: str | None = None  # what its banks settle in
    # the block each contract was deployed in: {"pvp": n, "htlc": n, "interbank": n, "escrows": {"USD": n}, "tokens": {"USD": n}}
    # (a token's only when known: one given by address off the devnet has none here, see deployments/<network>-<chain tag>.json)
    deploy_blocks: dict[str, Any] = field(default_factory=dict)
    # the devnet's parties, by bank (its currency; a second bank of a currency by its token's symbol) and
    # role name -> address: the bank's own roles (admin, minter, compliance, legal, ...) and the clients it
    # onboarded, each client at one bank only (Bank A: buyer, marketplace, marketplace_fees, fx_desk_usd;
    # EXUSB: supplier; CNH: fx_desk, manufacturer, marketplace_fees_cnh); "clients": each client's bank
    # (name -> its token's symbol); "escrow.USD", "escrow.CNH": each escrow's admin, arbiter and fee
    # recipient; "interbank": the central bank and the network's admin and settlement operator. Empty off the devnet.
    parties: dict[str, dict[str, str]] = field(default_factory=dict)

    def deploy_block(self, address: str | None) -> int:
        """The deploy block of the record's contract at ``address`` (PvP, HTLC, an escrow or a token);
        0 (search from genesis) for an address the record does not know or a record without blocks."""
        if not address:
            return 0
        target = str(address).lower()
        blocks = self.deploy_blocks or {}
        for kind in ("pvp", "htlc", "interbank"):
            if (getattr(self, kind) or "").lower() == target:
                return int(blocks.get(kind) or 0)
        for kind, table in (("escrows", self.escrows), ("tokens", self.tokens)):
            for currency, contract in table.items():
                if contract.lower() == target:
                    return int((blocks.get(kind) or {}).get(currency) or 0)
        return 0


def registry_path(network: str, directory: Path | None = None) -> Path:
    """The settlement record of ``network`` on the connected node (named as the token's, see ``deptoken.deployments``)."""
    return record_path(network, "-settlement", directory)


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
        raw = json.loads(path.read_text())
        known = {f.name for f in fields(SettlementDeployment)}
        return SettlementDeployment(**{k: v for k, v in raw.items() if k in known})
    except (json.JSONDecodeError, TypeError, AttributeError) as exc:
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
