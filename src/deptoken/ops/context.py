"""What every chain-facing command works with: the ledger, the token and the policy, checked to
belong together (the ledger remembers the chain and token it was first used with)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..amounts import format_amount, to_decimal, units_of
from ..errors import DepositTokenError
from .db import Ledger
from .policy import Policy

if TYPE_CHECKING:  # imported where used: reading the ledger needs neither web3 nor the XML writers
    from ..iso20022 import Party
    from ..token import TokenClient


@dataclass
class IssuerContext:
    """What the issuer operations work with: the ledger, the token (connected), its chain and the policy."""

    ledger: Ledger
    client: TokenClient
    chain_id: int
    policy: Policy

    @property
    def token(self) -> str:
        return self.client.address

    def today(self) -> date:
        """The chain's today (UTC): the day of the next block, against which value dates are held."""
        from ..chain import next_block_time

        return datetime.fromtimestamp(next_block_time(), UTC).date()

    def bank(self) -> Party:
        """The issuing bank as an ISO 20022 party: the token's ``issuer()`` (legal name, LEI, BIC)."""
        from ..iso20022 import Party

        name, lei, bic = (str(x) for x in self.client.contract.issuer())
        return Party(name=name, lei=lei or None, bic=bic or None)


@dataclass(frozen=True)
class TokenUnits:
    """The token's decimals, symbol and currency as the ledger recorded them: amounts read and shown
    without a node (the same text as ``TokenClient.format``)."""

    decimals: int
    symbol: str
    currency: str

    def format(self, units: int) -> str:
        return f"{format_amount(int(units), self.decimals)} {self.symbol}"

    def to_decimal(self, units: int) -> Decimal:
        return to_decimal(int(units), self.decimals)

    def units(self, amount: Any, what: str = "amount", *, allow_zero: bool = False) -> int:
        return units_of(amount, self.decimals, what, allow_zero=allow_zero)


def ledger_token(session: Session) -> TokenUnits | None:
    """The token the ledger is bound to, as far as reads need it (None: not bound, or bound before it
    recorded decimals: the next chain-facing command records them)."""
    from .models import SyncState

    state = session.scalars(select(SyncState).limit(1)).first()
    if state is None or state.decimals is None or state.symbol is None or state.currency is None:
        return None
    return TokenUnits(state.decimals, state.symbol, state.currency)


def ledger_binding(session: Session) -> tuple[int, str, str | None] | None:
    """The chain id, token and chain anchor (``chain_anchor``) the ledger is bound to (None: not bound yet), from the
    ledger alone: what ledger-only signed steps (operator changes) are signed over."""
    from .models import SyncState

    state = session.scalars(select(SyncState).limit(1)).first()
    return None if state is None else (state.chain_id, state.token, state.anchor_hash)


def chain_anchor(client: TokenClient) -> str:
    """What binds a ledger to its chain for good: the hash of the block the token was deployed in
    (block 1 when the deployment is not recorded). Two devnets with the same chain id and token address
    differ in it, and a node restarted from its saved state keeps it (Anvil 1.7 does not always keep
    block 0's: it rebuilds its genesis block when it loads a state saved with transactions pending)."""
    from ..chain import block_hash

    return block_hash(client.deployment.deploy_block if client.deployment else 1)


def _history(client: TokenClient) -> str | None:
    """What the token has done already (mints, supply), or None for a token with no history."""
    supply = int(client.contract.totalSupply())
    mints = len(client.events(["Minted"]))
    if not supply and not mints:
        return None
    return f"{mints} mint(s), total supply {client.format(supply)}"


def open_ops(
    ledger: Ledger, policy: Policy, *, deployments: Path | None = None, client: TokenClient | None = None, adopt: bool = False
) -> IssuerContext:
    """The token of the connected network's deployment record (or ``client``) with ``ledger``.

    Refuses a ledger that was used with another token or chain (chain id and ``chain_anchor``: a ledger
    bound before it recorded the anchor records this node's, audited): its records would not match. A new
    ledger binds to a token that already has history (mints, supply) only with ``adopt``: otherwise
    a mistyped database URL would start a second, empty ledger of a live token."""
    from . import audit
    from ..chain import connected_chain_id
    from .models import SyncState

    chain_id = connected_chain_id()
    if client is None:
        from ..token import TokenClient

        client = TokenClient.from_deployment(directory=deployments)
    anchor = chain_anchor(client)
    with ledger.session() as session:
        states = list(session.scalars(select(SyncState)))
        for state in states:
            if state.token != client.address or state.chain_id != chain_id:
                raise DepositTokenError(
                    f"this ledger belongs to token {state.token} on chain {state.chain_id}, not {client.address} on {chain_id}"
                )
            if state.anchor_hash is not None and state.anchor_hash != anchor:
                raise DepositTokenError(
                    f"this ledger belongs to the chain whose token deployment block is {state.anchor_hash}, not this node's "
                    f"({anchor}): another chain with the same chain id {chain_id} (check --network / DEPTOKEN_NETWORK)"
                )
            if state.anchor_hash is None:  # bound before the ledger recorded its chain's anchor: this node's, from now on
                state.anchor_hash = anchor
                audit.record(session, "binding", "ledger.anchor", state.token, {"chain_id": chain_id, "anchor_hash": anchor})
        if not states:  # first use binds the ledger to this token; the indexer starts at its deploy block
            if (history := _history(client)) is not None:
                if not adopt:
                    raise DepositTokenError(
                        f"this ledger is new, but token {client.address} on chain {chain_id} already has history ({history}): "
                        "is the database URL right? To start this ledger for it anyway, pass --adopt"
                    )
                audit.record(session, "adopt", "ledger.adopt", client.address, {"chain_id": chain_id, "history": history})
            start = client.deployment.deploy_block - 1 if client.deployment else -1
            states = [SyncState(token=client.address, chain_id=chain_id, block_number=start, block_hash="", anchor_hash=anchor)]
            session.add(states[0])
        for state in states:  # what reads need to show amounts without a node
            if state.decimals is None or state.symbol is None or state.currency is None:
                state.decimals, state.symbol, state.currency = client.decimals, str(client.symbol), client.currency
    return IssuerContext(ledger, client, chain_id, policy)
