"""Deployment records under ``deployments/<network>.json``: what integrators need to talk to a token."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import DepositTokenError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS_DIR = Path(os.environ.get("DEPTOKEN_DEPLOYMENTS_DIR", PROJECT_ROOT / "deployments"))


@dataclass
class Deployment:
    """One token deployment on one network."""

    network: str
    chain_id: int
    token: str  # the proxy: the address integrators use
    implementation: str
    deploy_block: int
    deployer: str
    name: str
    symbol: str
    currency: str
    decimals: int
    transactions: dict[str, str] = field(default_factory=dict)
    abi: list[dict[str, Any]] = field(default_factory=list)


def deployment_path(network: str, directory: Path | None = None) -> Path:
    return (directory or DEPLOYMENTS_DIR) / f"{network}.json"


def require_no_deployment(network: str, *, force: bool = False, directory: Path | None = None) -> Path:
    """The record's path; refuses if a record exists there, unless ``force``."""
    path = deployment_path(network, directory)
    if path.exists() and not force:
        raise DepositTokenError(f"{path} exists: a token is already deployed on {network!r} (use --force to replace the record)")
    return path


def write_deployment(deployment: Deployment, *, force: bool = False, directory: Path | None = None) -> Path:
    """Writes the record; refuses to replace an existing one unless ``force``. Atomic (temp + rename)."""
    path = require_no_deployment(deployment.network, force=force, directory=directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(deployment), indent=2) + "\n")
    tmp.replace(path)
    return path


def read_deployment(network: str, directory: Path | None = None) -> Deployment:
    """Reads ``deployments/<network>.json``; a clear error if there is none or it is damaged."""
    path = deployment_path(network, directory)
    if not path.is_file():
        raise DepositTokenError(f"no deployment on {network!r}: {path} not found (run the deploy script first)")
    try:
        return Deployment(**json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError) as exc:
        raise DepositTokenError(f"{path} is not a valid deployment record ({exc})") from None
