"""What every chain-facing command works with: the ledger, the token and the policy, checked to
belong together (the ledger remembers the chain and token it was first used with)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from ..errors import DepositTokenError
from ..iso20022 import Party
from ..operations import TokenClient
from .db import Ledger
from .policy import Policy


@dataclass
class Ops:
    ledger: Ledger
    client: TokenClient
    chain_id: int
    policy: Policy

    @property
    def token(self) -> str:
        return self.client.address

    def today(self) -> date:
        """The chain's today (UTC): the day of the next block, against which value dates are held."""
        from ape import chain

        return datetime.fromtimestamp(int(chain.pending_timestamp), UTC).date()

    def bank(self) -> Party:
        """The issuing bank as an ISO 20022 party: the token's ``issuer()`` (legal name, LEI, BIC)."""
        name, lei, bic = (str(x) for x in self.client.contract.issuer())
        return Party(name=name, lei=lei or None, bic=bic or None)


def open_ops(ledger: Ledger, policy: Policy, *, deployments: Path | None = None, client: TokenClient | None = None) -> Ops:
    """The token of the connected network's deployment record (or ``client``) with ``ledger``.

    Refuses a ledger that was used with another token or chain: its records would not match."""
    from sqlalchemy import select

    from ..chain import connected_chain_id
    from .models import SyncState

    chain_id = connected_chain_id()
    client = client or TokenClient.from_deployment(directory=deployments)
    with ledger.session() as session:
        states = list(session.scalars(select(SyncState)))
        for state in states:
            if state.token != client.address or state.chain_id != chain_id:
                raise DepositTokenError(
                    f"this ledger belongs to token {state.token} on chain {state.chain_id}, not {client.address} on {chain_id}"
                )
        if not states:  # first use binds the ledger to this token; the indexer starts at its deploy block
            start = client.deployment.deploy_block - 1 if client.deployment else -1
            session.add(SyncState(token=client.address, chain_id=chain_id, block_number=start, block_hash=""))
    return Ops(ledger, client, chain_id, policy)
