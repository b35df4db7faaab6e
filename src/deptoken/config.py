"""Deploy configuration: what a deployment of one bank's token in one currency names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .currencies import minor_units
from .errors import InvalidInput
from .identifiers import is_bic, is_lei
from .validation import parse_address

ROLE_KEYS = ("admin", "minter_admin", "compliance", "legal", "pauser", "upgrader")
USE_CURRENCY_DECIMALS = 255  # DepositToken.USE_CURRENCY_DECIMALS


@dataclass(frozen=True)
class DeployConfig:
    """A validated deploy configuration (see ``config/devnet.yaml``)."""

    network: str
    chain_id: int
    name: str
    symbol: str
    currency: str
    decimals: int
    issuer_name: str
    issuer_lei: str
    issuer_bic: str
    admin_transfer_delay: int
    roles: dict[str, str | None]
    minters: tuple[tuple[str, str], ...]  # (address, allowance in currency units as text)

    def init_params(self) -> tuple:
        """The ``DepositToken.InitParams`` tuple for ``initialize``."""
        zero = "0x" + "00" * 20
        r = {k: self.roles.get(k) or zero for k in ROLE_KEYS}
        return (
            self.name, self.symbol, self.currency, self.decimals,
            self.issuer_name, self.issuer_lei, self.issuer_bic, self.admin_transfer_delay,
            r["admin"], r["minter_admin"], r["compliance"], r["legal"], r["pauser"], r["upgrader"],
        )


def _require(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data or data[key] in (None, ""):
        raise InvalidInput(f"deploy config: missing {where}{key}")
    return data[key]


def parse_config(data: dict[str, Any]) -> DeployConfig:
    """Validates a deploy configuration given as a mapping; raises ``InvalidInput`` on the first problem."""
    if not isinstance(data, dict):
        raise InvalidInput("deploy config: expected a mapping at the top level")
    token = _require(data, "token", "")
    issuer = _require(data, "issuer", "")
    roles_in = _require(data, "roles", "")
    currency = str(_require(token, "currency", "token.")).strip()
    units = minor_units(currency)
    decimals = token.get("decimals")
    if decimals is None:
        decimals = units
    elif not isinstance(decimals, int) or not 0 <= decimals <= 36:
        raise InvalidInput(f"deploy config: token.decimals must be an integer 0..36, got {decimals!r}")

    lei = str(issuer.get("lei") or "").strip()
    bic = str(issuer.get("bic") or "").strip()
    if not lei and not bic:
        raise InvalidInput("deploy config: issuer needs an lei or a bic")
    if lei and not is_lei(lei):
        raise InvalidInput(f"deploy config: issuer.lei {lei!r} is not a valid ISO 17442 LEI")
    if bic and not is_bic(bic):
        raise InvalidInput(f"deploy config: issuer.bic {bic!r} is not a valid ISO 9362 BIC")

    unknown = set(roles_in) - set(ROLE_KEYS)
    if unknown:
        raise InvalidInput(f"deploy config: unknown role(s) {sorted(unknown)}; known: {list(ROLE_KEYS)}")
    roles = {k: (parse_address(roles_in[k], f"roles.{k}") if roles_in.get(k) else None) for k in ROLE_KEYS}
    if not roles["admin"]:
        raise InvalidInput("deploy config: roles.admin is required")

    delay = data.get("admin_transfer_delay", 86400)
    if not isinstance(delay, int) or not 0 <= delay < 2**48:
        raise InvalidInput(f"deploy config: admin_transfer_delay must be seconds (integer), got {delay!r}")
    chain_id = _require(data, "chain_id", "")
    if not isinstance(chain_id, int) or chain_id <= 0:
        raise InvalidInput(f"deploy config: chain_id must be a positive integer, got {chain_id!r}")

    minters = tuple(
        (parse_address(_require(m, "address", "minters[]."), "minters[].address"), str(_require(m, "allowance", "minters[].")))
        for m in data.get("minters") or ()
    )
    return DeployConfig(
        network=str(_require(data, "network", "")),
        chain_id=chain_id,
        name=str(_require(token, "name", "token.")),
        symbol=str(_require(token, "symbol", "token.")),
        currency=currency,
        decimals=decimals,
        issuer_name=str(_require(issuer, "name", "issuer.")),
        issuer_lei=lei,
        issuer_bic=bic,
        admin_transfer_delay=delay,
        roles=roles,
        minters=minters,
    )


def load_config(path: str | Path) -> DeployConfig:
    """Reads and validates a YAML deploy configuration file."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"deploy config {path} not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InvalidInput(f"deploy config {path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return parse_config(data)
