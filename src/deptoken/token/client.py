"""The transactions on a deployed DepositToken: each checks first (``TokenChecks``), then sends.

How the checked transactions are sent is the client's ``transport`` (``deptoken.token.sending``):
None sends them straight to the node; the issuer tooling gives the exactly-once outbox
(``client.with_transport(outbox.transport(session, ...))``: a client that sends through it).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..allowlist_file import AllowlistEntry, read_allowlist_file
from ..amounts import Amount
from ..deployments import Deployment
from ..errors import AccountInactive, DepositTokenError, InsufficientBalance, InvalidInput, ReferenceUsed, Refused
from ..times import Expiry, parse_duration
from ..validation import address_of, reference_to_bytes32
from .checks import TokenChecks
from .sending import Transport, send_checked

BATCH_SIZE = 100
UINT128_MAX = 2**128 - 1  # the largest rate-limit capacity the token stores


class TokenClient(TokenChecks):
    """A deployed DepositToken: its reads, its checks and its transactions (see ``deptoken.token``).

    ``transport``: how checked transactions are sent (None: straight to the node); see
    :meth:`with_transport`."""

    def __init__(self, contract: Any, deployment: Deployment | None = None, *, transport: Transport | None = None) -> None:
        super().__init__(contract, deployment)
        self.transport = transport

    def with_transport(self, transport: Transport | None) -> TokenClient:
        """This client (same contract, deployment and reads), sending through ``transport``."""
        other = copy.copy(self)
        other.transport = transport
        return other

    def send(self, method: str, *args: Any, sender: Any) -> Any:
        """Sends ``method(*args)`` to the token from ``sender`` after the caller's checks, through the
        client's transport (see :func:`~deptoken.token.sending.send_checked`)."""
        return send_checked(self.contract, method, *args, sender=sender, transport=self.transport)

    # ------------------------------------------------------------------ minting

    def configure_minter(
        self, minter: Any, allowance: Amount, *, sender: Any, rate_limit: tuple[Amount, int | str] | None = None
    ) -> Any:
        """Makes ``minter`` a minter allowed to mint up to ``allowance`` (overwrites; may be 0).

        With ``rate_limit`` (``(amount_per_period, period)``, as :meth:`set_minter_rate_limit` takes
        them) it also sets the minter's rate limit, everything checked before the first transaction,
        and returns both receipts ``[configure, rate limit]``; otherwise the one receipt."""
        address = address_of(minter, "minter")
        units = self.units(allowance, "allowance", allow_zero=True)
        limit = None if rate_limit is None else self._rate_limit_units(*rate_limit)
        self.require_role(sender, "minter_admin", "configure minters")
        receipt = self.send("configureMinter", address, units, sender=sender)
        if limit is None:
            return receipt
        return [receipt, self.send("setMinterRateLimit", address, *limit, sender=sender)]

    def set_minter_rate_limit(self, minter: Any, amount_per_period: Amount, period: int | str, *, sender: Any) -> Any:
        """Limits ``minter`` to ``amount_per_period`` (currency units) per ``period`` (seconds, or
        ``90m``, ``48h``, ``1d``) besides its allowance, refilling linearly, full now; ``"0"`` and ``0``
        lift the limit. ``sender`` must hold the minter_admin role."""
        address = address_of(minter, "minter")
        capacity, seconds = self._rate_limit_units(amount_per_period, period)
        self.require_role(sender, "minter_admin", "set minter rate limits")
        return self.send("setMinterRateLimit", address, capacity, seconds, sender=sender)

    def _rate_limit_units(self, amount_per_period: Amount, period: int | str) -> tuple[int, int]:
        """``(capacity in minor units, period in seconds)`` as the token takes them: both above zero
        (capacity within 128 bits), or both zero (no rate limit)."""
        capacity = self.units(amount_per_period, "rate limit", allow_zero=True)
        if not isinstance(period, bool) and str(period).strip() == "0":
            seconds = 0
        else:
            seconds = parse_duration(period, "rate limit period")
        if (capacity == 0) != (seconds == 0):
            raise InvalidInput("a rate limit needs a capacity and a period above zero (both zero: no limit)")
        if capacity > UINT128_MAX:
            raise InvalidInput(f"rate limit {self.format(capacity)} is more than the token can hold (2^128 - 1 minor units)")
        return capacity, seconds

    def remove_minter(self, minter: Any, *, sender: Any) -> Any:
        """Revokes ``minter``'s role and zeroes its allowance."""
        address = address_of(minter, "minter")
        self.require_role(sender, "minter_admin", "remove minters")
        if not self.has_role(address, "minter"):
            raise InvalidInput(f"{address} is not a minter")
        return self.send("removeMinter", address, sender=sender)

    def mint(self, to: Any, amount: Amount, deposit_reference: str, *, sender: Any) -> Any:
        """Mints ``amount`` to ``to`` against the bank's deposit ``deposit_reference`` (usable once)."""
        recipient = address_of(to, "recipient")
        units = self.units(amount)
        ref = reference_to_bytes32(deposit_reference, "deposit reference")
        self.require_mintable(sender, recipient, units, deposit_reference)
        return self.send("mint", recipient, units, ref, sender=sender)

    def burn(self, amount: Amount, burn_reference: str, *, sender: Any) -> Any:
        """Burns ``amount`` of the bank's own holdings at ``sender`` (a minter), e.g. seized funds."""
        units = self.units(amount)
        ref = reference_to_bytes32(burn_reference, "burn reference")
        if self.contract.isBurnRefUsed(ref):
            raise ReferenceUsed(f"burn reference {burn_reference!r} was already used")
        address = self.require_role(sender, "minter", "burn")
        if self.contract.isFrozen(address):
            raise AccountInactive(f"{address} is frozen: its holdings cannot be burned")
        self.require_unfrozen_balance(address, units, "minter")
        return self.send("burn", units, ref, sender=sender)

    # ------------------------------------------------------------------ holders

    def redeem(self, amount: Amount, payout_reference: str, *, sender: Any) -> Any:
        """Redeems ``amount`` of ``sender``'s tokens; the bank pays out under ``payout_reference``."""
        units = self.units(amount)
        ref = reference_to_bytes32(payout_reference, "payout reference")
        holder = address_of(sender, "sender")
        self.require_not_paused("redeem")
        if self.contract.isPayoutRefUsed(holder, ref):
            raise ReferenceUsed(f"payout reference {payout_reference!r} was already used by {holder} for a redemption")
        self.require_active(holder, "holder")
        self.require_unfrozen_balance(holder, units, "holder")
        return self.send("redeem", units, ref, sender=sender)

    def transfer(self, to: Any, amount: Amount, *, sender: Any) -> Any:
        """An ordinary ERC-20 transfer from ``sender`` to ``to``."""
        recipient = address_of(to, "recipient")
        units = self.units(amount)
        holder = address_of(sender, "sender")
        self.require_not_paused("transfer")
        self.require_parties_active([("sender", holder), ("recipient", recipient)])
        self.require_unfrozen_balance(holder, units, "sender")
        return self.send("transfer", recipient, units, sender=sender)

    def approve(self, spender: Any, amount: Amount, *, sender: Any) -> Any:
        """Lets ``spender`` (e.g. a settlement contract) move up to ``amount`` of ``sender``'s tokens;
        ``"0"`` withdraws the allowance. Using it needs owner, receiver and spender allowlisted."""
        address = address_of(spender, "spender")
        units = self.units(amount, "allowance", allow_zero=True)
        return self.send("approve", address, units, sender=sender)

    # ------------------------------------------------------------------ allowlist

    def allowlist(self, account: Any, expiry: Expiry, *, sender: Any) -> Any:
        """Allowlists ``account`` until ``expiry`` (``YYYY-MM-DD``: through that day, UTC), or renews it."""
        address = address_of(account, "account")
        seconds = self.future_expiry(expiry, address)
        self.require_role(sender, "compliance", "allowlist accounts")
        return self.send("allowlist", address, seconds, sender=sender)

    def allowlist_many(
        self, entries: Iterable[tuple[Any, Expiry]], *, sender: Any, batch_size: int = BATCH_SIZE
    ) -> list[Any]:
        """Allowlists ``(account, expiry)`` pairs in batches, after checking every pair."""
        now = self.now()
        checked: list[AllowlistEntry] = []
        problems: list[str] = []
        for number, (account, expiry) in enumerate(entries, start=1):
            try:
                address = address_of(account, "account")
                checked.append(AllowlistEntry(number, address, self.future_expiry(expiry, address, now)))
            except DepositTokenError as exc:
                problems.append(f"entry {number}: {exc}")
        if problems:
            raise InvalidInput(f"{len(problems)} bad allowlist entries, nothing sent: " + "; ".join(problems))
        return self._allowlist_entries(checked, sender=sender, batch_size=batch_size)

    def allowlist_from_file(self, path: str | Path, *, sender: Any, batch_size: int = BATCH_SIZE) -> list[Any]:
        """Allowlists every row of a CSV ``address,kyc_expiry_date`` file (all rows checked first)."""
        entries = read_allowlist_file(path, now=self.now())
        return self._allowlist_entries(entries, sender=sender, batch_size=batch_size)

    def _allowlist_entries(self, entries: Sequence[AllowlistEntry], *, sender: Any, batch_size: int) -> list[Any]:
        columns = ([e.account for e in entries], [e.expiry for e in entries])
        return self._send_batches("allowlistBatch", columns, "allowlist accounts", sender=sender, batch_size=batch_size)

    def remove_from_allowlist(self, account: Any, *, sender: Any) -> Any:
        """Offboards ``account``: its balance stays, immobile."""
        address = address_of(account, "account")
        self.require_listed([address])
        self.require_role(sender, "compliance", "remove accounts from the allowlist")
        return self.send("removeFromAllowlist", address, sender=sender)

    def remove_from_allowlist_many(
        self, accounts: Iterable[Any], *, sender: Any, batch_size: int = BATCH_SIZE
    ) -> list[Any]:
        """Offboards every account given, in batches, after checking every address."""
        problems, addresses = [], []
        for number, account in enumerate(accounts, start=1):
            try:
                addresses.append(address_of(account, "account"))
            except DepositTokenError as exc:
                problems.append(f"entry {number}: {exc}")
        if problems:
            raise InvalidInput(f"{len(problems)} bad addresses, nothing sent: " + "; ".join(problems))
        return self._remove_addresses(addresses, sender=sender, batch_size=batch_size)

    def remove_from_allowlist_file(self, path: str | Path, *, sender: Any, batch_size: int = BATCH_SIZE) -> list[Any]:
        """Offboards every address of a CSV file (first column; an expiry column is ignored)."""
        entries = read_allowlist_file(path, with_expiry=False)
        return self._remove_addresses([e.account for e in entries], sender=sender, batch_size=batch_size)

    def _remove_addresses(self, addresses: Sequence[str], *, sender: Any, batch_size: int) -> list[Any]:
        self.require_listed(addresses)
        return self._send_batches(
            "removeFromAllowlistBatch", (list(addresses),), "remove accounts from the allowlist", sender=sender, batch_size=batch_size
        )

    def _send_batches(
        self, method: str, columns: tuple[list[Any], ...], action: str, *, sender: Any, batch_size: int
    ) -> list[Any]:
        """Sends ``method`` once per ``batch_size`` rows of the parallel ``columns`` (compliance role)."""
        if batch_size < 1:
            raise InvalidInput("batch size must be at least 1")
        if not columns[0]:
            raise InvalidInput(f"nothing to {action.split(' ')[0]}")
        self.require_role(sender, "compliance", action)
        return [
            self.send(method, *(column[start : start + batch_size] for column in columns), sender=sender)
            for start in range(0, len(columns[0]), batch_size)
        ]

    # ------------------------------------------------------------------ freezes and legal orders

    def freeze(self, account: Any, *, sender: Any) -> Any:
        """Freezes ``account`` as a whole (sanctions): it can neither send nor receive."""
        address = address_of(account, "account")
        self.require_role(sender, "compliance", "freeze accounts")
        if self.contract.isFrozen(address):
            raise Refused(f"{address} is already frozen")
        return self.send("freezeAccount", address, sender=sender)

    def unfreeze(self, account: Any, *, sender: Any) -> Any:
        """Lifts the whole-account freeze of ``account``."""
        address = address_of(account, "account")
        self.require_role(sender, "compliance", "unfreeze accounts")
        if not self.contract.isFrozen(address):
            raise Refused(f"{address} is not frozen")
        return self.send("unfreezeAccount", address, sender=sender)

    def set_frozen_amount(self, account: Any, amount: Amount, *, sender: Any) -> Any:
        """Sets ``account``'s frozen amount (a lien; may exceed its balance); ``"0"`` releases it."""
        address = address_of(account, "account")
        units = self.units(amount, "frozen amount", allow_zero=True)
        self.require_role(sender, "legal", "set frozen amounts")
        return self.send("setFrozenTokens", address, units, sender=sender)

    def seize(self, from_: Any, to: Any, amount: Amount, legal_order_reference: str, *, sender: Any) -> Any:
        """Moves ``amount`` from ``from_`` to ``to`` under a legal order, whatever ``from_``'s restrictions."""
        source = address_of(from_, "seized account")
        recipient = address_of(to, "recipient")
        units = self.units(amount)
        ref = reference_to_bytes32(legal_order_reference, "legal order reference")
        if source == recipient:
            raise InvalidInput("cannot seize to the same account")
        self.require_role(sender, "legal", "seize")
        balance = int(self.contract.balanceOf(source))
        if balance < units:
            raise InsufficientBalance(f"{source} holds {self.format(balance)}, less than {self.format(units)}")
        self.require_active(recipient, "recipient")
        return self.send("seize", source, recipient, units, ref, sender=sender)

    def recover_account(self, lost: Any, replacement: Any, *, sender: Any) -> Any:
        """Moves ``lost``'s balance and restrictions to ``replacement`` (a fresh address of the same
        client, already allowlisted by compliance, holding nothing) and offboards ``lost``."""
        old = address_of(lost, "lost account")
        new = address_of(replacement, "replacement account")
        if old == new:
            raise InvalidInput("the replacement must be another address")
        self.require_role(sender, "legal", "recover accounts")
        if int(self.contract.allowlistExpiry(old)) == 0 and int(self.contract.balanceOf(old)) == 0:
            raise Refused(f"{old} has no allowlist entry and no balance: nothing to recover")
        if not self.contract.isAllowlisted(new):
            raise AccountInactive(f"replacement {new} is not allowlisted (compliance onboards it first)")
        if self.contract.isFrozen(new) or int(self.contract.balanceOf(new)) or int(self.contract.getFrozenTokens(new)):
            raise Refused(f"replacement {new} must be a fresh address: no balance, freeze or frozen amount")
        return self.send("recoverAccount", old, new, sender=sender)

    # ------------------------------------------------------------------ pause

    def pause(self, *, sender: Any) -> Any:
        """Stops transfers, mints and redemptions."""
        self.require_role(sender, "pauser", "pause")
        if self.contract.paused():
            raise Refused("the token is already paused")
        return self.send("pause", sender=sender)

    def unpause(self, *, sender: Any) -> Any:
        """Resumes transfers, mints and redemptions."""
        self.require_role(sender, "pauser", "unpause")
        if not self.contract.paused():
            raise Refused("the token is not paused")
        return self.send("unpause", sender=sender)
