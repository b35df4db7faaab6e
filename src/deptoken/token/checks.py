"""The checks made before a transaction on the token is sent, as the contract will make them.

Each raises one-line, typed errors (``deptoken.errors``) and sends nothing. The token's own
operations (``TokenClient``) and the settlement clients (escrow, PvP, HTLC, gasless
authorizations) use the same ones, so that a refusal reads the same wherever it comes from::

    token.now()                                   # the time the next block will carry
    token.inactive_reason(address)                # "is frozen", "is not allowlisted", ... or None
    token.require_active(address, "payee")        # AccountInactive
    token.require_parties_active([("buyer", b), ("seller", s)], contract=("the escrow", escrow, ""))
    token.require_not_paused("transfer")          # TokenPaused
    token.require_role(sender, "legal", "seize")  # RoleMissing; returns the sender's address
    token.require_unfrozen_balance(address, units, "payer")   # InsufficientBalance
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..chain import next_block_time
from .rate_limits import read_rate_limit
from ..errors import AccountInactive, InvalidInput, InsufficientBalance, LimitExceeded, ReferenceUsed, Refused, RoleMissing, TokenPaused
from ..times import Expiry, format_expiry, parse_expiry
from ..validation import address_of, reference_to_bytes32
from .reads import TokenReader

SUPPLY_CAP = 2**128 - 1


class TokenChecks(TokenReader):
    """A deployed DepositToken, read and checked (see the module docstring); nothing is sent."""

    def now(self) -> int:
        """The timestamp the next block will carry: the time the contract's checks will see."""
        return next_block_time()

    # ------------------------------------------------------------------ accounts

    def inactive_reason(self, address: str) -> str | None:
        """Why ``address`` can neither send nor receive the token (``is frozen``, ``is not allowlisted``,
        ``has an allowlist entry that expired at ...``), or None if it can."""
        if self.contract.canReceive(address):
            return None
        if self.contract.isFrozen(address):
            return "is frozen"
        expiry = int(self.contract.allowlistExpiry(address))
        if expiry == 0:
            return "is not allowlisted"
        return f"has an allowlist entry that expired at {format_expiry(expiry)}"

    def require_active(self, address: str, who: str, *, where: str = "") -> None:
        """Refuses (``AccountInactive``: ``{who} {address} {reason}{where}``) unless ``address`` can send
        and receive the token; ``where`` names the token for a message about two (`` on EXUSD``)."""
        if reason := self.inactive_reason(address):
            raise AccountInactive(f"{who} {address} {reason}{where}")

    def require_parties_active(
        self, parties: Iterable[tuple[str, str | None]], *, contract: tuple[str, str, str] | None = None, where: str = ""
    ) -> None:
        """The one check of a settlement's parties (escrow, PvP, HTLC): first the settlement
        ``contract`` that holds or moves the funds, given as ``(who, address, what to add)``
        (``AccountInactive``: ``{who} {address} {reason}{what to add}``), then each ``(who, address)``
        of ``parties`` (None: no such party) as :meth:`require_active` with ``where``."""
        if contract is not None:
            who, address, remedy = contract
            if reason := self.inactive_reason(address):
                raise AccountInactive(f"{who} {address} {reason}{remedy}")
        for who, address in parties:
            if address is not None:
                self.require_active(address, who, where=where)

    def require_unfrozen_balance(self, address: str, units: int, who: str) -> None:
        """Refuses (``InsufficientBalance``) unless ``address`` holds ``units`` (minor units) that are
        not frozen (a lien freezes part of a balance)."""
        balance = int(self.contract.balanceOf(address))
        if balance < units:
            raise InsufficientBalance(f"{who} {address} holds {self.format(balance)}, less than {self.format(units)}")
        unfrozen = int(self.contract.unfrozenBalanceOf(address))
        if unfrozen < units:
            raise InsufficientBalance(
                f"{who} {address} has {self.format(unfrozen)} unfrozen (of {self.format(balance)}), less than {self.format(units)}"
            )

    # ------------------------------------------------------------------ the token and its roles

    def require_not_paused(self, action: str, *, subject: str = "the token") -> None:
        """Refuses (``TokenPaused``: ``{subject} is paused: cannot {action}``) while the token is paused."""
        if self.contract.paused():
            raise TokenPaused(f"{subject} is paused: cannot {action}")

    def require_role(self, sender: Any, role: str, action: str) -> str:
        """``sender``'s address, refused (``RoleMissing``) unless it holds ``role`` (``minter``, ``legal``, ...)."""
        address = address_of(sender, "sender")
        if not self.has_role(address, role):
            raise RoleMissing(f"{address} lacks the {role} role needed to {action}")
        return address

    # ------------------------------------------------------------------ minting

    def mint_refusal(self, recipient: str, deposit_reference: str) -> str | None:
        """Why the token would refuse a mint of ``deposit_reference`` to ``recipient`` (the reference
        used, the recipient unable to receive), or None."""
        problem = self._mint_problem(recipient, deposit_reference)
        return None if problem is None else str(problem)

    def _mint_problem(self, recipient: str, deposit_reference: str) -> Refused | None:
        if self.contract.isDepositRefUsed(reference_to_bytes32(deposit_reference, "deposit reference")):
            return ReferenceUsed(f"deposit reference {deposit_reference!r} was already used for a mint")
        reason = self.inactive_reason(recipient)
        return AccountInactive(f"recipient {recipient} {reason}") if reason else None

    def mint_budget(self, sender: Any) -> Callable[[int], str | None]:
        """Checks ``sender`` may mint now (role, not paused) and returns its budget for mints sent one
        after another before any is mined: each call takes ``units`` (minor units) from the minter's
        allowance, its rate limit (as left now; refills are not counted) and the supply cap, or says
        why it cannot (taking nothing: ``LimitExceeded``'s message)."""
        minter = self.require_role(sender, "minter", "mint")
        self.require_not_paused("mint")
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

    def require_mintable(self, sender: Any, to: str, units: int, deposit_reference: str) -> None:
        """Everything a mint of ``units`` to ``to`` against ``deposit_reference`` needs: the minter
        role, the token running, the reference unused, the recipient active, the allowance and cap."""
        take = self.mint_budget(sender)
        if problem := self._mint_problem(to, deposit_reference):
            raise problem
        if reason := take(units):
            raise LimitExceeded(reason)

    # ------------------------------------------------------------------ the allowlist

    def future_expiry(self, value: Expiry, account: str, now: int | None = None) -> int:
        """``value`` as unix seconds, refused (``InvalidInput``) unless after ``now`` (default: the next block's time)."""
        seconds = parse_expiry(value, f"kyc expiry for {account}")
        now = self.now() if now is None else now
        if seconds <= now:
            raise InvalidInput(f"kyc expiry {format_expiry(seconds)} for {account} is not in the future (chain time {format_expiry(now)})")
        return seconds

    def require_listed(self, addresses: Sequence[str]) -> None:
        """Refuses to offboard an address that has no allowlist entry (a typo, most likely)."""
        unknown = [a for a, expiry in self.allowlist_expiries(addresses).items() if expiry == 0]
        if unknown:
            raise AccountInactive(f"not on the allowlist, nothing sent: {', '.join(unknown)}")
