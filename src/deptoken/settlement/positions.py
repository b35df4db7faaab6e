"""Open positions a party holds in the settlement contracts (escrow orders, time-locks, PvP
proposals): what the bank must look at before it recovers a client's lost key or acts on a sanction,
since a position's funds sit in the contract, not in the client's balance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Position:
    """One open position of `party` in a settlement contract.

    kind: "escrow-order", "htlc-lock" or "pvp-proposal"; contract: its address; position_id: the
    order key, lock id (0x hex) or proposal id (decimal); token: the token the contract holds for it;
    amount: minor units of `token`; role: the party's part in it ("buyer", "seller", "sender",
    "recipient", "proposer", "counterparty"); state: the contract's state name.
    """

    kind: str
    contract: str
    position_id: str
    token: str
    amount: int
    party: str
    role: str
    state: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "contract": self.contract,
            "id": self.position_id,
            "token": self.token,
            "amount": self.amount,
            "party": self.party,
            "role": self.role,
            "state": self.state,
        }
