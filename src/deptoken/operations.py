"""One implementation of each chain operation on a deployed DepositToken, for scripts, tests and demos.

Every operation checks its inputs and the chain state first and raises ``DepositTokenError`` (one
line) when it would fail; only then does it send, so a refused operation sends nothing. Amounts are
currency units as text, ``int`` or ``Decimal`` (``"125.50"``), never floats; references are bank
references (text, hashed to bytes32) or ``0x`` + 64 hex digits; addresses must be valid EIP-55 (or
single-case) hex. Signers are ape accounts (see ``deptoken.signers``).

Usage::

    from deptoken.operations import TokenClient

    client = TokenClient.from_deployment()             # deployments/<network>.json + chain-id check
    client = TokenClient.from_contract(token)          # or an ape contract instance (tests)
    client, receipts = deploy_from_config(load_config("config/devnet.yaml"), deployer)  # deploy + minters

    client.configure_minter(minter, "1000000", sender=minter_admin)
    client.allowlist(alice, "2027-12-31", sender=compliance)       # or unix seconds / date
    client.allowlist_many([(alice, "2027-12-31"), (bob, 1830000000)], sender=compliance)
    client.allowlist_from_file("clients.csv", sender=compliance)   # address,kyc_expiry_date
    client.remove_from_allowlist(alice, sender=compliance)
    client.remove_from_allowlist_many([a, b], sender=compliance)   # or remove_from_allowlist_file(path)
    client.mint(alice, "125.50", "DEP-2026-0001", sender=minter)
    client.transfer(bob, "10", sender=alice)
    client.approve(escrow, "125.50", sender=alice)                  # a spender's allowance
    client.redeem("20.00", "PAY-2026-0001", sender=alice)
    client.burn("5", "BURN-1", sender=minter)
    client.freeze(alice, sender=compliance); client.unfreeze(alice, sender=compliance)
    client.set_frozen_amount(alice, "50", sender=legal)             # lien; "0" releases it
    client.seize(alice, treasury, "50", "ORDER-7", sender=legal)
    client.pause(sender=pauser); client.unpause(sender=pauser)

    client.balance(alice) -> Decimal           client.account(alice) -> AccountStatus
    client.summary() -> TokenSummary           client.role_holders() -> {role: (addresses)}
    client.events() -> [EventRecord]           client.describe(event) -> str
    client.accounts_seen() -> (addresses)      client.roles_of(alice) -> ("minter", ...)
    client.units("1.50") -> 150                client.format(150) / client.format_decimal(Decimal("1.5")) -> "1.50 EXUSD"

Accounts and addresses are interchangeable arguments (anything with ``.address``, or the text).

Operations return the ape receipt (batch operations a list of receipts, one per batch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

from .allowlist_file import AllowlistEntry, format_expiry, parse_expiry, read_allowlist_file
from .amounts import format_amount, parse_amount, to_decimal, units_of
from .chain import connected_chain_id, network_name, next_block_time, require_chain_id
from .config import DeployConfig
from .deployments import Deployment, deployment_path, read_deployment
from .errors import DepositTokenError, first_line
from .roles import ROLES, role_id, role_name
from .rate_limits import read_rate_limit
from .validation import parse_address, reference_to_bytes32

Amount = str | int | Decimal
Expiry = str | int | date | datetime
BATCH_SIZE = 100
SUPPLY_CAP = 2**128 - 1


@contextmanager
def _reverts_as_one_line(method: str) -> Iterator[None]:
    from ape.exceptions import ContractLogicError

    try:
        yield
    except ContractLogicError as exc:
        raise DepositTokenError(f"{method} reverted: {type(exc).__name__} {first_line(exc)}") from None


def send_checked(contract: Any, method: str, *args: Any, sender: Any) -> Any:
    """Sends ``contract.method(*args)`` from ``sender`` after the caller's checks; a revert that
    slipped past them becomes one line (``DepositTokenError``). Every client's transactions go here."""
    with _reverts_as_one_line(method):
        return getattr(contract, method)(*args, sender=sender)


def _address_of(who: Any, what: str) -> str:
    """A checksummed address from text or anything with an ``address`` (an account, a contract)."""
    return parse_address(getattr(who, "address", who), what)


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


class TokenClient:
    """A deployed DepositToken and the operations on it (see the module docstring)."""

    def __init__(self, contract: Any, deployment: Deployment | None = None) -> None:
        self.contract = contract
        self.deployment = deployment
        self.decimals: int = int(contract.decimals())
        self.symbol: str = str(contract.symbol())
        # How checked calls are sent: None sends them straight (ape); the issuer tooling sets the
        # exactly-once outbox here, ``transport(contract, method, args, sender)``.
        self.transport: Callable[[Any, str, tuple[Any, ...], Any], Any] | None = None

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_deployment(cls, network: str | None = None, *, directory: Path | None = None) -> TokenClient:
        """The token recorded in ``deployments/<network>.json`` (default: the connected network).

        Refuses an unknown deployment, a node on another chain, an unreachable node, and a record
        whose address holds no contract (a devnet that was restarted since the deploy).
        """
        from ape import chain, project

        connected_chain_id()  # unreachable node first: the clearest message
        network = network or network_name()
        deployment = read_deployment(network, directory)
        require_chain_id(deployment.chain_id)
        address = parse_address(deployment.token, f"token address in {deployment_path(network, directory)}")
        if not chain.provider.get_code(address):
            raise DepositTokenError(
                f"no contract at {address} on {network!r}: {deployment_path(network, directory)} is stale "
                "(was the node restarted? a throw-away node such as ethereum:local:foundry keeps nothing: "
                "run `make devnet` and use --network ethereum:local:node)"
            )
        if deployment.abi:  # the record carries the ABI: no compiled project needed
            contract = chain.contracts.instance_at(
                address, abi=deployment.abi, detect_proxy=False, fetch_from_explorer=False, replace=True
            )
        else:
            contract = project.DepositToken.at(address)
        return cls(contract, deployment)

    @classmethod
    def from_contract(cls, contract: Any, deployment: Deployment | None = None) -> TokenClient:
        """A client for an ape contract instance of the token (the proxy address)."""
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

    # ------------------------------------------------------------------ checks (nothing is sent)

    def has_role(self, account: Any, role: str) -> bool:
        return bool(self.contract.hasRole(role_id(role), _address_of(account, "account")))

    def _require_role(self, sender: Any, role: str, action: str) -> str:
        address = _address_of(sender, "sender")
        if not self.has_role(address, role):
            raise DepositTokenError(f"{address} lacks the {role} role needed to {action}")
        return address

    def _require_not_paused(self, action: str) -> None:
        if self.contract.paused():
            raise DepositTokenError(f"the token is paused: cannot {action}")

    def _now(self) -> int:
        """The timestamp the next block will carry, as the contract's checks see it."""
        return next_block_time()

    def _inactive_reason(self, address: str) -> str | None:
        """Why ``address`` can neither send nor receive, or None if it can."""
        if self.contract.canReceive(address):
            return None
        if self.contract.isFrozen(address):
            return "is frozen"
        expiry = int(self.contract.allowlistExpiry(address))
        if expiry == 0:
            return "is not allowlisted"
        return f"has an allowlist entry that expired at {format_expiry(expiry)}"

    def _require_active(self, address: str, who: str) -> None:
        if reason := self._inactive_reason(address):
            raise DepositTokenError(f"{who} {address} {reason}")

    def _require_unfrozen_balance(self, address: str, units: int, who: str) -> None:
        balance = int(self.contract.balanceOf(address))
        if balance < units:
            raise DepositTokenError(f"{who} {address} holds {self.format(balance)}, less than {self.format(units)}")
        unfrozen = int(self.contract.unfrozenBalanceOf(address))
        if unfrozen < units:
            raise DepositTokenError(
                f"{who} {address} has {self.format(unfrozen)} unfrozen (of {self.format(balance)}), less than {self.format(units)}"
            )

    def _expiry(self, value: Expiry, account: str, now: int | None = None) -> int:
        """``value`` as unix seconds, refused unless after ``now`` (default: the next block's time)."""
        seconds = parse_expiry(value, f"kyc expiry for {account}")
        now = self._now() if now is None else now
        if seconds <= now:
            raise DepositTokenError(f"kyc expiry {format_expiry(seconds)} for {account} is not in the future (chain time {format_expiry(now)})")
        return seconds

    def _send(self, method: str, *args: Any, sender: Any) -> Any:
        """Sends a checked transaction (through ``transport`` if set); see :func:`send_checked`."""
        if self.transport is None:
            return send_checked(self.contract, method, *args, sender=sender)
        with _reverts_as_one_line(method):
            return self.transport(self.contract, method, args, sender)

    # ------------------------------------------------------------------ minting

    def configure_minter(self, minter: Any, allowance: Amount, *, sender: Any) -> Any:
        """Makes ``minter`` a minter allowed to mint up to ``allowance`` (overwrites; may be 0)."""
        address = _address_of(minter, "minter")
        units = self.units(allowance, "allowance", allow_zero=True)
        self._require_role(sender, "minter_admin", "configure minters")
        return self._send("configureMinter", address, units, sender=sender)

    def remove_minter(self, minter: Any, *, sender: Any) -> Any:
        """Revokes ``minter``'s role and zeroes its allowance."""
        address = _address_of(minter, "minter")
        self._require_role(sender, "minter_admin", "remove minters")
        if not self.has_role(address, "minter"):
            raise DepositTokenError(f"{address} is not a minter")
        return self._send("removeMinter", address, sender=sender)

    def mint(self, to: Any, amount: Amount, deposit_reference: str, *, sender: Any) -> Any:
        """Mints ``amount`` to ``to`` against the bank's deposit ``deposit_reference`` (usable once)."""
        recipient = _address_of(to, "recipient")
        units = self.units(amount)
        ref = reference_to_bytes32(deposit_reference, "deposit reference")
        take = self.mint_budget(sender)
        if reason := self.mint_refusal(recipient, deposit_reference) or take(units):
            raise DepositTokenError(reason)
        return self._send("mint", recipient, units, ref, sender=sender)

    def mint_refusal(self, recipient: str, deposit_reference: str) -> str | None:
        """Why the token would refuse a mint of ``deposit_reference`` to ``recipient`` (the reference
        used, the recipient unable to receive), or None."""
        if self.contract.isDepositRefUsed(reference_to_bytes32(deposit_reference, "deposit reference")):
            return f"deposit reference {deposit_reference!r} was already used for a mint"
        reason = self._inactive_reason(recipient)
        return f"recipient {recipient} {reason}" if reason else None

    def mint_budget(self, sender: Any) -> Callable[[int], str | None]:
        """Checks ``sender`` may mint now (role, not paused) and returns its budget for mints sent one
        after another before any is mined: each call takes ``units`` (minor units) from the minter's
        allowance, its rate limit (as left now; refills are not counted) and the supply cap, or says
        why it cannot (taking nothing)."""
        minter = self._require_role(sender, "minter", "mint")
        self._require_not_paused("mint")
        allowance, supply = int(self.contract.minterAllowance(minter)), int(self.contract.totalSupply())
        rate_left = read_rate_limit(self.contract, minter).left  # what the on-chain rate limit leaves now

        def take(units: int) -> str | None:
            nonlocal allowance, supply, rate_left
            if allowance < units:
                return f"minter {minter} may mint {self.format(allowance)} more, less than {self.format(units)}"
            if rate_left < units:
                return f"minter {minter}'s rate limit leaves {self.format(rate_left)} to mint now, less than {self.format(units)}"
            if supply + units > SUPPLY_CAP:
                return f"minting {self.format(units)} would exceed the supply cap"
            allowance, supply, rate_left = allowance - units, supply + units, rate_left - units
            return None

        return take

    def burn(self, amount: Amount, burn_reference: str, *, sender: Any) -> Any:
        """Burns ``amount`` of the bank's own holdings at ``sender`` (a minter), e.g. seized funds."""
        units = self.units(amount)
        ref = reference_to_bytes32(burn_reference, "burn reference")
        if self.contract.isBurnRefUsed(ref):
            raise DepositTokenError(f"burn reference {burn_reference!r} was already used")
        address = self._require_role(sender, "minter", "burn")
        if self.contract.isFrozen(address):
            raise DepositTokenError(f"{address} is frozen: its holdings cannot be burned")
        self._require_unfrozen_balance(address, units, "minter")
        return self._send("burn", units, ref, sender=sender)

    def redeem(self, amount: Amount, payout_reference: str, *, sender: Any) -> Any:
        """Redeems ``amount`` of ``sender``'s tokens; the bank pays out under ``payout_reference``."""
        units = self.units(amount)
        ref = reference_to_bytes32(payout_reference, "payout reference")
        holder = _address_of(sender, "sender")
        self._require_not_paused("redeem")
        if self.contract.isPayoutRefUsed(holder, ref):
            raise DepositTokenError(f"payout reference {payout_reference!r} was already used by {holder} for a redemption")
        self._require_active(holder, "holder")
        self._require_unfrozen_balance(holder, units, "holder")
        return self._send("redeem", units, ref, sender=sender)

    def transfer(self, to: Any, amount: Amount, *, sender: Any) -> Any:
        """An ordinary ERC-20 transfer from ``sender`` to ``to``."""
        recipient = _address_of(to, "recipient")
        units = self.units(amount)
        holder = _address_of(sender, "sender")
        self._require_not_paused("transfer")
        self._require_active(holder, "sender")
        self._require_active(recipient, "recipient")
        self._require_unfrozen_balance(holder, units, "sender")
        return self._send("transfer", recipient, units, sender=sender)

    def approve(self, spender: Any, amount: Amount, *, sender: Any) -> Any:
        """Lets ``spender`` (e.g. a settlement contract) move up to ``amount`` of ``sender``'s tokens;
        ``"0"`` withdraws the allowance. Using it needs owner, receiver and spender allowlisted."""
        address = _address_of(spender, "spender")
        units = self.units(amount, "allowance", allow_zero=True)
        return self._send("approve", address, units, sender=sender)

    # ------------------------------------------------------------------ allowlist

    def allowlist(self, account: Any, expiry: Expiry, *, sender: Any) -> Any:
        """Allowlists ``account`` until ``expiry`` (``YYYY-MM-DD``: through that day, UTC), or renews it."""
        address = _address_of(account, "account")
        seconds = self._expiry(expiry, address)
        self._require_role(sender, "compliance", "allowlist accounts")
        return self._send("allowlist", address, seconds, sender=sender)

    def allowlist_many(
        self, entries: Iterable[tuple[Any, Expiry]], *, sender: Any, batch_size: int = BATCH_SIZE
    ) -> list[Any]:
        """Allowlists ``(account, expiry)`` pairs in batches, after checking every pair."""
        now = self._now()
        checked: list[AllowlistEntry] = []
        problems: list[str] = []
        for number, (account, expiry) in enumerate(entries, start=1):
            try:
                address = _address_of(account, "account")
                checked.append(AllowlistEntry(number, address, self._expiry(expiry, address, now)))
            except DepositTokenError as exc:
                problems.append(f"entry {number}: {exc}")
        if problems:
            raise DepositTokenError(f"{len(problems)} bad allowlist entries, nothing sent: " + "; ".join(problems))
        return self._allowlist_entries(checked, sender=sender, batch_size=batch_size)

    def allowlist_from_file(self, path: str | Path, *, sender: Any, batch_size: int = BATCH_SIZE) -> list[Any]:
        """Allowlists every row of a CSV ``address,kyc_expiry_date`` file (all rows checked first)."""
        entries = read_allowlist_file(path, now=self._now())
        return self._allowlist_entries(entries, sender=sender, batch_size=batch_size)

    def _allowlist_entries(self, entries: Sequence[AllowlistEntry], *, sender: Any, batch_size: int) -> list[Any]:
        columns = ([e.account for e in entries], [e.expiry for e in entries])
        return self._send_batches("allowlistBatch", columns, "allowlist accounts", sender=sender, batch_size=batch_size)

    def remove_from_allowlist(self, account: Any, *, sender: Any) -> Any:
        """Offboards ``account``: its balance stays, immobile."""
        address = _address_of(account, "account")
        self._require_listed([address])
        self._require_role(sender, "compliance", "remove accounts from the allowlist")
        return self._send("removeFromAllowlist", address, sender=sender)

    def allowlist_expiries(self, addresses: Sequence[str]) -> dict[str, int]:
        """``allowlistExpiry`` of each address (0: no entry)."""
        return self.read_many("allowlistExpiry", addresses)

    def balances_at(self, addresses: Sequence[str], block: int) -> dict[str, int]:
        """``balanceOf`` of each address at ``block``, in minor units."""
        return self.read_many("balanceOf", addresses, block)

    def read_many(self, view: str, addresses: Sequence[str], block: int | str = "latest") -> dict[str, int]:
        """A ``view(address) -> uint`` of the token for many addresses, as JSON-RPC batches of 500
        ``eth_call``s (one round trip each instead of one per address)."""
        from ape import networks
        from eth_utils import keccak

        selector = keccak(text=f"{view}(address)")[:4]
        tag = hex(block) if isinstance(block, int) else block
        provider = networks.provider.web3.provider
        values: dict[str, int] = {}
        for start in range(0, len(addresses), 500):
            chunk = list(addresses[start : start + 500])
            calls = [("eth_call", [{"to": self.address, "data": "0x" + (selector + bytes(12) + bytes.fromhex(a[2:])).hex()}, tag])
                     for a in chunk]
            replies = provider.make_batch_request(calls)
            if not isinstance(replies, list) or any("error" in r for r in replies):
                raise DepositTokenError(f"the node refused {view} calls: {first_line(replies)}")
            values.update(zip(chunk, (int(r["result"], 16) for r in replies), strict=True))
        return values

    def _require_listed(self, addresses: Sequence[str]) -> None:
        """Refuses to offboard an address that has no allowlist entry (a typo, most likely)."""
        unknown = [a for a, expiry in self.allowlist_expiries(addresses).items() if expiry == 0]
        if unknown:
            raise DepositTokenError(f"not on the allowlist, nothing sent: {', '.join(unknown)}")

    def remove_from_allowlist_many(
        self, accounts: Iterable[Any], *, sender: Any, batch_size: int = BATCH_SIZE
    ) -> list[Any]:
        """Offboards every account given, in batches, after checking every address."""
        problems, addresses = [], []
        for number, account in enumerate(accounts, start=1):
            try:
                addresses.append(_address_of(account, "account"))
            except DepositTokenError as exc:
                problems.append(f"entry {number}: {exc}")
        if problems:
            raise DepositTokenError(f"{len(problems)} bad addresses, nothing sent: " + "; ".join(problems))
        return self._remove_addresses(addresses, sender=sender, batch_size=batch_size)

    def remove_from_allowlist_file(self, path: str | Path, *, sender: Any, batch_size: int = BATCH_SIZE) -> list[Any]:
        """Offboards every address of a CSV file (first column; an expiry column is ignored)."""
        entries = read_allowlist_file(path, with_expiry=False)
        return self._remove_addresses([e.account for e in entries], sender=sender, batch_size=batch_size)

    def _remove_addresses(self, addresses: Sequence[str], *, sender: Any, batch_size: int) -> list[Any]:
        self._require_listed(addresses)
        return self._send_batches(
            "removeFromAllowlistBatch", (list(addresses),), "remove accounts from the allowlist", sender=sender, batch_size=batch_size
        )

    def _send_batches(
        self, method: str, columns: tuple[list[Any], ...], action: str, *, sender: Any, batch_size: int
    ) -> list[Any]:
        """Sends ``method`` once per ``batch_size`` rows of the parallel ``columns`` (compliance role)."""
        if batch_size < 1:
            raise DepositTokenError("batch size must be at least 1")
        if not columns[0]:
            raise DepositTokenError(f"nothing to {action.split(' ')[0]}")
        self._require_role(sender, "compliance", action)
        return [
            self._send(method, *(column[start : start + batch_size] for column in columns), sender=sender)
            for start in range(0, len(columns[0]), batch_size)
        ]

    # ------------------------------------------------------------------ freezes and legal orders

    def freeze(self, account: Any, *, sender: Any) -> Any:
        """Freezes ``account`` as a whole (sanctions): it can neither send nor receive."""
        address = _address_of(account, "account")
        self._require_role(sender, "compliance", "freeze accounts")
        if self.contract.isFrozen(address):
            raise DepositTokenError(f"{address} is already frozen")
        return self._send("freezeAccount", address, sender=sender)

    def unfreeze(self, account: Any, *, sender: Any) -> Any:
        """Lifts the whole-account freeze of ``account``."""
        address = _address_of(account, "account")
        self._require_role(sender, "compliance", "unfreeze accounts")
        if not self.contract.isFrozen(address):
            raise DepositTokenError(f"{address} is not frozen")
        return self._send("unfreezeAccount", address, sender=sender)

    def set_frozen_amount(self, account: Any, amount: Amount, *, sender: Any) -> Any:
        """Sets ``account``'s frozen amount (a lien; may exceed its balance); ``"0"`` releases it."""
        address = _address_of(account, "account")
        units = self.units(amount, "frozen amount", allow_zero=True)
        self._require_role(sender, "legal", "set frozen amounts")
        return self._send("setFrozenTokens", address, units, sender=sender)

    def seize(self, from_: Any, to: Any, amount: Amount, legal_order_reference: str, *, sender: Any) -> Any:
        """Moves ``amount`` from ``from_`` to ``to`` under a legal order, whatever ``from_``'s restrictions."""
        source = _address_of(from_, "seized account")
        recipient = _address_of(to, "recipient")
        units = self.units(amount)
        ref = reference_to_bytes32(legal_order_reference, "legal order reference")
        if source == recipient:
            raise DepositTokenError("cannot seize to the same account")
        self._require_role(sender, "legal", "seize")
        balance = int(self.contract.balanceOf(source))
        if balance < units:
            raise DepositTokenError(f"{source} holds {self.format(balance)}, less than {self.format(units)}")
        self._require_active(recipient, "recipient")
        return self._send("seize", source, recipient, units, ref, sender=sender)

    def recover_account(self, lost: Any, replacement: Any, *, sender: Any) -> Any:
        """Moves ``lost``'s balance and restrictions to ``replacement`` (a fresh address of the same
        client, already allowlisted by compliance, holding nothing) and offboards ``lost``."""
        old = _address_of(lost, "lost account")
        new = _address_of(replacement, "replacement account")
        if old == new:
            raise DepositTokenError("the replacement must be another address")
        self._require_role(sender, "legal", "recover accounts")
        if int(self.contract.allowlistExpiry(old)) == 0 and int(self.contract.balanceOf(old)) == 0:
            raise DepositTokenError(f"{old} has no allowlist entry and no balance: nothing to recover")
        if not self.contract.isAllowlisted(new):
            raise DepositTokenError(f"replacement {new} is not allowlisted (compliance onboards it first)")
        if self.contract.isFrozen(new) or int(self.contract.balanceOf(new)) or int(self.contract.getFrozenTokens(new)):
            raise DepositTokenError(f"replacement {new} must be a fresh address: no balance, freeze or frozen amount")
        return self._send("recoverAccount", old, new, sender=sender)

    # ------------------------------------------------------------------ pause

    def pause(self, *, sender: Any) -> Any:
        """Stops transfers, mints and redemptions."""
        self._require_role(sender, "pauser", "pause")
        if self.contract.paused():
            raise DepositTokenError("the token is already paused")
        return self._send("pause", sender=sender)

    def unpause(self, *, sender: Any) -> Any:
        """Resumes transfers, mints and redemptions."""
        self._require_role(sender, "pauser", "unpause")
        if not self.contract.paused():
            raise DepositTokenError("the token is not paused")
        return self._send("unpause", sender=sender)

    # ------------------------------------------------------------------ queries

    def balance(self, account: Any) -> Decimal:
        """The balance of ``account`` in currency units."""
        return self.to_decimal(self.contract.balanceOf(_address_of(account, "account")))

    def total_supply(self) -> Decimal:
        return self.to_decimal(self.contract.totalSupply())

    def roles_of(self, account: Any) -> tuple[str, ...]:
        address = _address_of(account, "account")
        return tuple(name for name, rid in ROLES.items() if self.contract.hasRole(rid, address))

    def accounts_seen(self) -> tuple[str, ...]:
        """Every account the token's events name as holder, allowlisted or restricted, first seen first."""
        seen: dict[str, None] = {}
        for event in self.events(["Transfer", "AllowlistUpdated", "AccountFrozen", "Frozen"]):
            for key in ("from", "to", "account"):
                value = event.args.get(key)
                if value and int(str(value), 16) != 0:
                    seen.setdefault(str(value), None)
        return tuple(seen)

    def account(self, account: Any) -> AccountStatus:
        """Everything the token records for ``account``."""
        address = _address_of(account, "account")
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

    def _from_block(self) -> int:
        return self.deployment.deploy_block if self.deployment else 0

    def events(
        self, names: Iterable[str] | None = None, *, from_block: int | None = None, to_block: int | None = None
    ) -> list[EventRecord]:
        """The token's events (all, or those named), in chain order, from its deploy block on."""
        from ape import chain
        from ape.types.events import LogFilter

        abis = list(self.contract.contract_type.events)
        if names is not None:
            wanted = set(names)
            unknown = wanted - {abi.name for abi in abis}
            if unknown:
                raise DepositTokenError(f"unknown event(s) {sorted(unknown)}")
            abis = [abi for abi in abis if abi.name in wanted]
        log_filter = LogFilter(
            addresses=[self.address],
            events=abis,
            start_block=self._from_block() if from_block is None else from_block,
            stop_block=chain.blocks.height if to_block is None else to_block,
        )
        return [
            EventRecord(
                block=int(log.block_number),
                log_index=int(log.log_index),
                transaction=str(log.transaction_hash),
                name=log.event_name,
                args=dict(log.event_arguments),
            )
            for log in chain.provider.get_contract_logs(log_filter)
        ]

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


def deploy_from_config(
    config: DeployConfig,
    deployer: Any,
    *,
    minter_admin: Any = None,
    force: bool = False,
    directory: Path | None = None,
    record: bool = True,
) -> tuple[TokenClient, list[Any]]:
    """Deploys the token of ``config`` (implementation + proxy), records it, configures its minters.

    Everything is checked before the first transaction: the chain id, that no deployment record
    would be overwritten (unless ``force``; nothing is recorded without ``record``), the minter allowances. The minters are configured by
    ``minter_admin`` (default: the deployer if it holds the role); without a signer that holds the
    minter_admin role they are left for ``configure_minter``. Returns the client and the receipts
    of the minter configurations.
    """
    from .deploy import deploy_token

    allowances = [(address, _minter_allowance(text, config)) for address, text in config.minters]
    token, deployment = deploy_token(config, deployer, force=force, directory=directory, record=record)  # checks first
    client = TokenClient(token, deployment)
    signer = minter_admin if minter_admin is not None else deployer
    receipts: list[Any] = []
    if allowances and client.has_role(signer, "minter_admin"):
        receipts = [client._send("configureMinter", address, units, sender=signer) for address, units in allowances]
    return client, receipts


def _minter_allowance(text: str, config: DeployConfig) -> int:
    try:
        return 0 if Decimal(text.strip()) == 0 else parse_amount(text, config.decimals)
    except (ArithmeticError, DepositTokenError):
        raise DepositTokenError(f"deploy config: minter allowance {text!r} is not an amount with at most {config.decimals} decimals") from None
