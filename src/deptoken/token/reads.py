"""Reading a deployed DepositToken: its identity, amounts in its units, accounts, roles and events.

Nothing here sends a transaction. ``TokenReader`` is the base of ``TokenChecks`` and ``TokenClient``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from ..amounts import Amount, format_amount, to_decimal, units_of
from ..chain import connected_chain_id, network_name, require_chain_id
from ..deployments import Deployment, deployment_path, read_deployment
from ..errors import DepositTokenError
from ..roles import ROLES, role_id, role_name
from ..times import format_expiry
from ..validation import address_of, parse_address

if TYPE_CHECKING:
    from ..contracts import Contract


@dataclass(frozen=True)
class AccountStatus:
    """What the token records for one account (amounts in currency units)."""

    address: str
    balance: Decimal
    frozen_amount: Decimal  # ERC-7943 frozen tokens (lien); may exceed the balance
    unfrozen_balance: Decimal
    allowlist_expiry: int  # unix seconds; 0 when not on the allowlist
    allowlisted: bool
    frozen: bool  # whole-account freeze
    can_send: bool
    can_receive: bool
    roles: tuple[str, ...]
    minter_allowance: Decimal


@dataclass(frozen=True)
class TokenSummary:
    """The token as a whole."""

    address: str
    network: str
    chain_id: int
    name: str
    symbol: str
    currency: str
    decimals: int
    version: str
    issuer: tuple[str, str, str]  # name, LEI, BIC
    total_supply: Decimal
    paused: bool
    default_admin: str
    role_holders: dict[str, tuple[str, ...]] = field(default_factory=dict)
    minter_allowances: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class EventRecord:
    """One event of the token, in chain order."""

    block: int
    log_index: int
    transaction: str
    name: str
    args: dict[str, Any]


class TokenReader:
    """A deployed DepositToken, read: amounts in its units, accounts, roles, events."""

    def __init__(self, contract: Any, deployment: Deployment | None = None) -> None:
        from ..contracts import as_contract

        self.contract: Contract = as_contract(contract)  # an ape contract instance (scripts, tests) converted
        self.deployment = deployment
        self.decimals: int = int(contract.decimals())
        self.symbol: str = str(contract.symbol())

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_deployment(cls, network: str | None = None, *, directory: Path | None = None) -> Self:
        """The token recorded in ``deployments/<network>-<chain tag>.json`` (default: the connected network).

        Refuses an unknown deployment, a node on another chain, an unreachable node, and a record
        whose address holds no contract (a devnet that was restarted since the deploy).
        """
        from ..chain import code_at
        from ..contracts import Contract, contract_at

        connected_chain_id()  # unreachable node first: the clearest message
        network = network or network_name()
        deployment = read_deployment(network, directory)
        require_chain_id(deployment.chain_id)
        address = parse_address(deployment.token, f"token address in {deployment_path(network, directory)}")
        if not code_at(address):
            raise DepositTokenError(
                f"no contract at {address} on {network!r}: {deployment_path(network, directory)} is stale "
                "(was the node restarted? a throw-away node such as ethereum:local:foundry keeps nothing: "
                "run `make devnet` and use --network ethereum:local:node)"
            )
        # the record carries the ABI (no compiled project needed); an older one without: the exported ABI
        contract = Contract(address, deployment.abi) if deployment.abi else contract_at("DepositToken", address)
        return cls(contract, deployment)

    @classmethod
    def from_contract(cls, contract: Any, deployment: Deployment | None = None) -> Self:
        """A client for a contract instance of the token (the proxy address): a ``deptoken.contracts.Contract``
        or an ape contract instance."""
        return cls(contract, deployment)

    @property
    def address(self) -> str:
        return str(self.contract.address)

    @cached_property
    def currency(self) -> str:
        """The ISO 4217 code of the token's currency (read once)."""
        return str(self.contract.currency())

    # ------------------------------------------------------------------ amounts

    def units(self, amount: Amount, what: str = "amount", *, allow_zero: bool = False) -> int:
        """Currency units to minor units, with this token's decimals; positive unless ``allow_zero``."""
        return units_of(amount, self.decimals, what, allow_zero=allow_zero)

    def to_decimal(self, units: int) -> Decimal:
        return to_decimal(int(units), self.decimals)

    def format(self, units: int) -> str:
        """Minor units as ``1,234.50 EXUSD``."""
        return f"{format_amount(int(units), self.decimals)} {self.symbol}"

    def format_decimal(self, amount: Decimal) -> str:
        """Currency units (as the queries return them) as ``1,234.50 EXUSD``."""
        sign, digits, exponent = Decimal(amount).as_tuple()
        return self.format(int(Decimal((sign, digits, int(exponent) + self.decimals))))  # exact, no rounding

    # ------------------------------------------------------------------ accounts and roles

    def has_role(self, account: Any, role: str) -> bool:
        return bool(self.contract.hasRole(role_id(role), address_of(account, "account")))

    def balance(self, account: Any) -> Decimal:
        """The balance of ``account`` in currency units."""
        return self.to_decimal(self.contract.balanceOf(address_of(account, "account")))

    def total_supply(self) -> Decimal:
        return self.to_decimal(self.contract.totalSupply())

    def roles_of(self, account: Any) -> tuple[str, ...]:
        address = address_of(account, "account")
        return tuple(name for name, rid in ROLES.items() if self.contract.hasRole(rid, address))

    def account(self, account: Any) -> AccountStatus:
        """Everything the token records for ``account``."""
        address = address_of(account, "account")
        c = self.contract
        return AccountStatus(
            address=address,
            balance=self.to_decimal(c.balanceOf(address)),
            frozen_amount=self.to_decimal(c.getFrozenTokens(address)),
            unfrozen_balance=self.to_decimal(c.unfrozenBalanceOf(address)),
            allowlist_expiry=int(c.allowlistExpiry(address)),
            allowlisted=bool(c.isAllowlisted(address)),
            frozen=bool(c.isFrozen(address)),
            can_send=bool(c.canSend(address)),
            can_receive=bool(c.canReceive(address)),
            roles=self.roles_of(address),
            minter_allowance=self.to_decimal(c.minterAllowance(address)),
        )

    def allowlist_expiries(self, addresses: Sequence[str]) -> dict[str, int]:
        """``allowlistExpiry`` of each address (0: no entry)."""
        return self.read_many("allowlistExpiry", addresses)

    def balances_at(self, addresses: Sequence[str], block: int) -> dict[str, int]:
        """``balanceOf`` of each address at ``block``, in minor units."""
        return self.read_many("balanceOf", addresses, block)

    def read_many(self, view: str, addresses: Sequence[str], block: int | str = "latest") -> dict[str, int]:
        """A ``view(address) -> uint`` of the token for many addresses, as JSON-RPC batches of 500
        ``eth_call``s (one round trip each instead of one per address)."""
        from eth_utils import keccak

        selector = keccak(text=f"{view}(address)")[:4]
        tag = hex(block) if isinstance(block, int) else block
        node = self.contract.node
        values: dict[str, int] = {}
        for start in range(0, len(addresses), 500):
            chunk = list(addresses[start : start + 500])
            calls = [("eth_call", [{"to": self.address, "data": "0x" + (selector + bytes(12) + bytes.fromhex(a[2:])).hex()}, tag])
                     for a in chunk]
            replies = node.batch(calls)
            if problems := [error for _, error in replies if error is not None]:
                raise DepositTokenError(f"the node refused {view} calls: {problems[0]}")
            values.update(zip(chunk, (int(result, 16) for result, _ in replies), strict=True))
        return values

    # ------------------------------------------------------------------ events

    def accounts_seen(self) -> tuple[str, ...]:
        """Every account the token's events name as holder, allowlisted or restricted, first seen first."""
        seen: dict[str, None] = {}
        for event in self.events(["Transfer", "AllowlistUpdated", "AccountFrozen", "Frozen"]):
            for key in ("from", "to", "account"):
                value = event.args.get(key)
                if value and int(str(value), 16) != 0:
                    seen.setdefault(str(value), None)
        return tuple(seen)

    def events(
        self, names: Iterable[str] | None = None, *, from_block: int | None = None, to_block: int | None = None
    ) -> list[EventRecord]:
        """The token's events (all, or those named), in chain order, from its deploy block on."""
        logs = self.contract.logs(names, from_block=self._from_block() if from_block is None else from_block,
                                  to_block="latest" if to_block is None else to_block)
        return [EventRecord(log.block_number, log.log_index, log.transaction_hash, log.event_name, dict(log.event_arguments))
                for log in logs]

    def _from_block(self) -> int:
        return self.deployment.deploy_block if self.deployment else 0

    def role_holders(self) -> dict[str, tuple[str, ...]]:
        """Current holders of each role, replayed from RoleGranted/RoleRevoked events."""
        holders: dict[str, list[str]] = {name: [] for name in ROLES}
        for event in self.events(["RoleGranted", "RoleRevoked"]):
            name = role_name(event.args["role"])
            members = holders.setdefault(name, [])
            account = str(event.args["account"])
            if event.name == "RoleGranted" and account not in members:
                members.append(account)
            elif event.name == "RoleRevoked" and account in members:
                members.remove(account)
        return {name: tuple(members) for name, members in holders.items()}

    def summary(self) -> TokenSummary:
        """The token as a whole: identity, supply, pause state, role holders, minter allowances."""
        c = self.contract
        holders = self.role_holders()
        issuer = c.issuer()
        return TokenSummary(
            address=self.address,
            network=network_name(),
            chain_id=connected_chain_id(),
            name=str(c.name()),
            symbol=self.symbol,
            currency=str(c.currency()),
            decimals=self.decimals,
            version=str(c.version()),
            issuer=(str(issuer[0]), str(issuer[1]), str(issuer[2])),
            total_supply=self.total_supply(),
            paused=bool(c.paused()),
            default_admin=str(c.defaultAdmin()),
            role_holders=holders,
            minter_allowances={m: self.to_decimal(c.minterAllowance(m)) for m in holders.get("minter", ())},
        )

    def describe(self, event: EventRecord) -> str:
        """One human line for an event: amounts in currency units, references in hex."""
        parts = []
        for key, value in event.args.items():
            if key in ("amount", "value", "allowance", "balance") and isinstance(value, int):
                shown = self.format(value)
            elif key in ("role", "previousAdminRole", "newAdminRole"):
                shown = role_name(value)
            elif key == "kycExpiry":
                shown = format_expiry(int(value))
            elif isinstance(value, bytes | bytearray):
                shown = "0x" + bytes(value).hex()
            else:
                shown = str(value)
            parts.append(f"{key}={shown}")
        return f"block {event.block:>6}  {event.name:<18} " + " ".join(parts)
