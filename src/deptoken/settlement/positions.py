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


# The `deptoken` command group and the command that moves a party of each kind of position.
REPLACE_COMMANDS = {"escrow-order": "escrow", "htlc-lock": "htlc", "pvp-proposal": "pvp"}


def replace_command(position: Position, replacement: str = "REPLACEMENT") -> str:
    """The command that moves ``position``'s party to ``replacement`` (the token's legal role signs)."""
    group = REPLACE_COMMANDS[position.kind]
    return (f"deptoken {group} replace-party {position.position_id} --{group} {position.contract} "
            f"--lost {position.party} --replacement {replacement}")


def open_positions(record: Any, party: str) -> list[Position]:
    """Every open position of ``party`` in the settlement contracts of ``record`` (a
    ``SettlementDeployment``: the escrow of each token, the PvP contract, the time-lock); none
    without a record."""
    if record is None:
        return []
    from .escrow import EscrowClient
    from .htlc import HtlcClient
    from .pvp import PvPClient

    block = getattr(record, "deploy_block", lambda _address: 0)  # event searches start at each contract's deploy block
    clients: list[Any] = [EscrowClient.at(address, deploy_block=block(address)) for address in record.escrows.values()]
    if record.pvp:
        clients.append(PvPClient.at(record.pvp, deploy_block=block(record.pvp)))
    if record.htlc:
        clients.append(HtlcClient.at(record.htlc, deploy_block=block(record.htlc)))
    return [position for client in clients for position in client.open_positions(party)]
