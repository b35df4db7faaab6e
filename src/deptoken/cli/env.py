"""What every ``deptoken`` command shares: the command line's choices (``Env``) and the node connection.

Kept apart from the command groups so that each (issuer operations, settlement) uses it without
importing the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from ..errors import DepositTokenError, NodeUnreachable

NO_NETWORK = ("no network chosen: pass --network (e.g. ethereum:local:http://127.0.0.1:8545 for a local node) "
              "or set DEPTOKEN_NETWORK; reads of the ledger alone need none")


class Env:
    """What the command line chose: database, network, policy file, output format."""

    def __init__(self, db: str | None, network: str | None, config: str | None, as_json: bool, adopt: bool = False) -> None:
        self.db, self.network, self.config, self.as_json, self.adopt = db, network, config, as_json, adopt
        self._ledger: Any = None
        self._ops: Any = None
        self._policy: Any = None
        self._token: Any = None
        self._settlement: Any = None
        self._settlement_read = False

    @property
    def ledger(self) -> Any:
        from ..ops.db import Ledger

        if self._ledger is None:
            self._ledger = Ledger(self.db)
        return self._ledger

    @property
    def ops(self) -> Any:
        """The connected token and ledger (connects on first use)."""
        if self._ops is None:
            from ..ops.context import open_ops

            policy = self.policy
            connect(self.network)
            self._ops = open_ops(self.ledger, policy, adopt=self.adopt)
        return self._ops

    @property
    def chain_id(self) -> int:
        """The connected node's chain id (connects; the token is not needed)."""
        if self._ops is not None:
            return int(self._ops.chain_id)
        return self.connect()

    def connect(self) -> int:
        """Connects to ``--network`` (once per command) and returns the node's chain id."""
        from ..chain import connected_chain_id

        connect(self.network)
        return connected_chain_id()

    @property
    def settlement(self) -> Any:
        """The connected network's settlement record (``SettlementDeployment``), None if it has none (connects)."""
        if not self._settlement_read:
            from ..chain import network_name
            from ..settlement.registry import read_registry

            self.connect()
            self._settlement = read_registry(network_name())
            self._settlement_read = True
        return self._settlement

    @property
    def policy(self) -> Any:
        """The operations policy (no node needed)."""
        if self._policy is None:
            from ..ops.policy import load_policy

            self._policy = load_policy(self.config)
        return self._policy

    @property
    def token(self) -> Any:
        """What shows amounts (``format``, ``units``): the ledger's record of the token, so that reads
        need no node; the connected token only for a ledger that has not recorded it yet."""
        if self._token is None:
            from ..ops.context import ledger_token

            with self.ledger.session() as session:
                self._token = ledger_token(session)
            if self._token is None:
                self._token = self.ops.client
        return self._token

    def emit(self, data: Any, human: Callable[[], None]) -> None:
        if self.as_json:
            click.echo(json.dumps(jsonable(data), indent=2, sort_keys=True))
        else:
            human()


def jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal | datetime | date | Path):
        return str(value) if not isinstance(value, datetime | date) else value.isoformat()
    return value


def connect(network: str | None) -> None:
    """Connects to ``network`` (``deptoken.node``: web3 alone, no ape), once per command. There is no
    default: a chain command run without a network is refused (never a silent guess)."""
    from .. import node

    if node.connected() is not None:  # connected already (by this command)
        return
    if not network or not network.strip():
        raise DepositTokenError(NO_NETWORK)
    try:
        node.connect(network)
    except NodeUnreachable as exc:
        raise NodeUnreachable(f"cannot reach the node ({network}): {str(exc).removeprefix('cannot reach the node: ')}") from None


def disconnect() -> None:
    """Ends the command's connection."""
    from .. import node

    node.disconnect()


pass_env = click.make_pass_decorator(Env)
