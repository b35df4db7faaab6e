"""Deployment records: what integrators need to talk to a token, one file per network, chain and token.

A record is ``<network>-<chain id>-<chain tag>.json`` under ``DEPTOKEN_DEPLOYMENTS_DIR`` (default
``deployments/``), where the chain tag is the first 8 hex digits of the hash of the chain's block 1.
The network name alone (``local``) does not tell two local nodes apart, nor does the chain id (both
31337) or the token's address (the same deployer at the same nonce): block 1's hash does, as it
covers its timestamp and the genesis block's. Block 1, not block 0: Anvil rebuilds its genesis block
when it loads a state saved with transactions pending; later blocks keep their hashes. Readers find
the record of the node they are connected to; two nodes side by side never overwrite each other's.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import DepositTokenError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def deployments_dir() -> Path:
    """``DEPTOKEN_DEPLOYMENTS_DIR``, or ``deployments/`` of the project."""
    return Path(os.environ.get("DEPTOKEN_DEPLOYMENTS_DIR") or PROJECT_ROOT / "deployments")


def tag_of(chain_id: int, block_1_hash: str | None) -> str:
    """``<chain id>-<first 8 hex digits of block 1's hash>`` (``<chain id>-0`` for a chain with no block
    after genesis yet: nothing can be deployed on it)."""
    return f"{chain_id}-{block_1_hash[2:10].lower() if block_1_hash else '0'}"


def chain_tag() -> str:
    """The tag of the connected node's chain (see ``tag_of``)."""
    from .chain import block_hash, connected_chain_id, latest_block_number

    chain_id = connected_chain_id()
    return tag_of(chain_id, block_hash(1) if latest_block_number() >= 1 else None)


def record_path(network: str, suffix: str = "", directory: Path | None = None) -> Path:
    """``<directory>/<network>-<chain tag><suffix>.json`` for the connected node."""
    return (directory or deployments_dir()) / f"{network}-{chain_tag()}{suffix}.json"


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
    """The token's record for ``network`` on the connected node."""
    return record_path(network, "", directory)


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
    """Reads the record of ``network`` on the connected node; a clear error if there is none or it is damaged."""
    path = deployment_path(network, directory)
    if not path.is_file():
        raise DepositTokenError(
            f"no deployment on {network!r} for this node's chain ({path.stem.removeprefix(network + '-')}): {path} not found "
            "(run the deploy script first, or check --network)"
        )
    try:
        return Deployment(**json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError) as exc:
        raise DepositTokenError(f"{path} is not a valid deployment record ({exc})") from None


def _rpc_tag(url: str) -> str:
    """The chain tag of the node at ``url``, over plain JSON-RPC (no ape: for shell tools)."""
    import urllib.request

    def call(method: str, *params: Any) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - a node URL given by the operator
            return json.loads(response.read())["result"]

    block = call("eth_getBlockByNumber", "0x1", False)
    return tag_of(int(call("eth_chainId"), 16), block["hash"] if block else None)


def main(argv: list[str] | None = None) -> int:
    """``python -m deptoken.deployments --rpc URL --network NAME [--env]``: the records' paths of the
    node at URL (``--env``: as shell exports, with RPC_URL and DEPTOKEN_NETWORK, for ``tools/devnet.sh``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m deptoken.deployments", description=main.__doc__)
    parser.add_argument("--rpc", required=True, help="the node's JSON-RPC URL")
    parser.add_argument("--network", required=True, help="the ape network name the records are filed under (local, ...)")
    parser.add_argument("--env", action="store_true", help="print shell exports")
    args = parser.parse_args(argv)
    try:
        tag = _rpc_tag(args.rpc)
    except OSError as exc:
        parser.exit(1, f"error: cannot reach the node at {args.rpc}: {exc}\n")
    directory = deployments_dir().resolve()
    token, settlement = directory / f"{args.network}-{tag}.json", directory / f"{args.network}-{tag}-settlement.json"
    if not args.env:
        print(token, settlement, sep="\n")
        return 0
    import shlex

    exports = {"RPC_URL": args.rpc, "DEPTOKEN_NETWORK": f"ethereum:{args.network}:{args.rpc}",
               "DEPTOKEN_TOKEN_RECORD": str(token), "DEPTOKEN_SETTLEMENT_RECORD": str(settlement)}
    print("\n".join(f"export {name}={shlex.quote(value)}" for name, value in exports.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
