"""Hashed time-locks (``contracts/settlement/HashedTimelock.sol``): one leg of an atomic settlement.

A lock pays ``amount`` of a deposit token to ``recipient`` if someone shows the preimage of
``hashlock`` (sha256, as other ledgers' HTLCs use) before ``deadline``, and goes back to the sender
from the deadline on. Two locks under one hashlock on two chains settle a trade atomically:

1. the initiator makes a secret (:func:`new_secret`) and locks its leg on chain 1 for the responder,
   with the *later* deadline T1;
2. the responder checks that lock (:meth:`HtlcClient.check_counter_lock`, ``role="responder"``),
   then locks its leg on chain 2 for the initiator under the same hashlock with an earlier deadline
   T2 (at least ``margin`` before T1);
3. the initiator checks the responder's lock (``role="initiator"``) and claims it with the
   preimage, which the ``Claimed`` event makes public;
4. the responder reads the preimage (:meth:`HtlcClient.find_preimage`) and claims the first leg
   before T1. If the initiator never claims, both refund after their deadlines.

The contract separates the right from the payout: a claim before the deadline (or a refund from it on)
is recorded even if the token refuses the transfer at that moment (paused, a party frozen or
delisted), and :meth:`HtlcClient.withdraw` pays it later. A claim pays the recipient only while the
lock's sender is active on the token (a sanctioned sender's money does not move on). The preimage must
be 32 bytes (the contract takes ``bytes32``): a counter-leg on another ledger must require that too.

The issuing bank's controls, by the token's legal role: :meth:`HtlcClient.seize_lock` (the legal exit
of one lock; never seize the HTLC's balance on the token), :meth:`HtlcClient.replace_party` (after a
lost-key recovery), :meth:`HtlcClient.rescue` (only tokens beyond what the locks hold);
:meth:`HtlcClient.open_positions` lists a client's open locks before a recovery.

Every operation checks first and raises ``DepositTokenError`` (one line) when it would fail, having
sent nothing. An ``HtlcClient`` belongs to the chain it was made on: with two chains in one process
(ape provider contexts), each operation refuses to run while another chain is connected.

Usage::

    htlc = deploy_htlc(deployer)                    # or HtlcClient.at("0xAbC...")
    preimage, hashlock = new_secret()
    placed = htlc.lock(usd, bob, "250.00", hashlock, "+2h", sender=alice)   # LockResult
    htlc.check_counter_lock(lock_id, role="initiator", hashlock=hashlock, recipient=alice, token=cnh,
                            amount="1800.00", my_deadline=t1)   # -> LockInfo, on the other chain
    htlc.claim(lock_id, preimage, sender=anyone)    htlc.refund(lock_id, sender=anyone)
    htlc.withdraw(lock_id, sender=anyone)           # a claim or refund the token could not pay at once
    htlc.lock_info(lock_id) -> LockInfo             htlc.find_preimage(lock_id) -> bytes | None
    htlc.seize_lock(lock_id, treasury, "ORDER-7", sender=legal)    htlc.replace_party(lock_id, lost, new, sender=legal)
    htlc.rescue(usd, to, "1.00", sender=legal)      htlc.outstanding(usd) -> int    htlc.open_positions(client)

Deadlines are unix seconds, an aware ``datetime``, ISO 8601 text with a time zone
(``2026-05-01T12:00:00Z``) or ``+N[s|m|h|d]`` from the chain's clock. Amounts are currency units
(``TokenClient.units``); :class:`LockInfo` holds minor units.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..contracts import answers, as_contract, contract_at
from ..amounts import Amount
from ..chain import connected_chain_id, next_block_time, require_chain_id
from ..errors import AccountInactive, AllowanceTooLow, DepositTokenError, InsufficientBalance, WrongChain
from ..times import format_expiry, parse_deadline
from ..token import TokenClient, send_checked
from ..validation import address_of, parse_address, parse_bytes32, reference_to_bytes32
from .positions import Position

STATES = ("none", "locked", "claimed", "refunded", "seized")  # HashedTimelock.State
MAX_LOCK_DURATION = 365 * 24 * 3600  # HashedTimelock.MAX_LOCK_DURATION
DEFAULT_MARGIN = 3600  # seconds between the two legs' deadlines (check_counter_lock)
MIN_TIME_LEFT = 600  # seconds a counter-lock must still run for a claim to get mined in time
REFUND_WINDOW = 24 * 3600  # the HTLC and the sender must stay allowlisted this long past a deadline
ERC7943_INTERFACE_ID = bytes.fromhex("3edbb4c4")

Deadline = int | str | datetime


@dataclass(frozen=True)
class LockInfo:
    """One lock as the contract records it (``amount`` in the token's minor units)."""

    lock_id: bytes
    htlc: str
    chain_id: int
    token: str
    sender: str
    recipient: str
    amount: int
    hashlock: bytes
    deadline: int  # unix seconds: claimable before, refundable from it on
    state: str  # "locked", "claimed", "refunded" or "seized"
    paid: bool  # its funds have left the HTLC (paid to the recipient or sender, or seized)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: byte strings as 0x-hex, the deadline also in ISO 8601."""
        return {
            "lock_id": hex32(self.lock_id), "htlc": self.htlc, "chain_id": self.chain_id, "token": self.token,
            "sender": self.sender, "recipient": self.recipient, "amount": self.amount,
            "hashlock": hex32(self.hashlock), "deadline": self.deadline,
            "deadline_utc": format_expiry(self.deadline), "state": self.state, "paid": self.paid,
        }


@dataclass(frozen=True)
class LockResult:
    """What :meth:`HtlcClient.lock` did: the new lock's id and the receipts (approve first, if sent)."""

    lock_id: bytes
    receipt: Any
    approve_receipt: Any = None


# ---------------------------------------------------------------------------- secrets and values


def new_secret() -> tuple[bytes, bytes]:
    """A fresh random 32-byte preimage and its hashlock ``sha256(preimage)``."""
    preimage = secrets.token_bytes(32)
    return preimage, hashlock_of(preimage)


def hashlock_of(preimage: bytes | str) -> bytes:
    """``sha256(preimage)`` of a 32-byte preimage, as the contract computes it."""
    return hashlib.sha256(parse_bytes32(preimage, "preimage")).digest()


def hex32(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _short(value: bytes) -> str:
    return hex32(value)[:12] + "..."


# ---------------------------------------------------------------------------- the client


def deploy_htlc(deployer: Any) -> HtlcClient:
    """Deploys a ``HashedTimelock`` (no constructor arguments, no owner). The bank must then
    allowlist its address on every deposit token it is to hold."""
    from ape import chain, project

    from ..accounts import as_ape_account

    contract = as_ape_account(deployer).deploy(project.HashedTimelock)
    return HtlcClient(contract, deploy_block=chain.provider.get_receipt(contract.txn_hash).block_number)


class HtlcClient:
    """A deployed ``HashedTimelock`` on the connected chain, and the operations on it."""

    def __init__(self, contract: Any, *, deploy_block: int = 0) -> None:
        self.contract = as_contract(contract)
        self.deploy_block = int(deploy_block)
        self.chain_id = connected_chain_id()
        self._tokens: dict[str, TokenClient] = {}
        self._deposit_tokens: dict[str, bool] = {}

    @classmethod
    def at(cls, address: str, *, deploy_block: int = 0) -> HtlcClient:
        """The HTLC at ``address`` on the connected chain; refuses an address without its code."""
        address = parse_address(address, "HTLC address")
        contract = contract_at("HashedTimelock", address)
        if not answers(contract, "MAX_LOCK_DURATION", MAX_LOCK_DURATION):
            raise DepositTokenError(f"no HashedTimelock at {address} on chain {connected_chain_id()}")
        return cls(contract, deploy_block=deploy_block)

    @property
    def address(self) -> str:
        return str(self.contract.address)

    # ------------------------------------------------------------------ queries

    def lock_info(self, lock_id: bytes | str) -> LockInfo:
        """The lock ``lock_id``; refuses an id this HTLC does not know."""
        lid = parse_bytes32(lock_id, "lock id")
        self._on_chain()
        token, deadline, state, paid, recipient, sender, amount, hashlock = self.contract.getLock(lid)
        if int(state) == 0:
            raise DepositTokenError(f"lock {hex32(lid)} is unknown to the HTLC at {self.address} on chain {self.chain_id}")
        return LockInfo(
            lock_id=lid, htlc=self.address, chain_id=self.chain_id, token=str(token), sender=str(sender),
            recipient=str(recipient), amount=int(amount), hashlock=bytes(hashlock), deadline=int(deadline),
            state=STATES[int(state)], paid=bool(paid),
        )

    def outstanding(self, token: TokenClient) -> int:
        """What the HTLC owes in ``token`` (minor units): the amounts of its locks not yet paid out."""
        self._on_chain()
        return int(self.contract.outstanding(token.address))

    def open_positions(self, party: Any) -> list[Position]:
        """Every lock whose funds are still in the HTLC (not paid out or seized) in which ``party`` is
        the sender or the recipient, found from the ``Locked`` and ``PartyReplaced`` events since the
        deploy block, then read as the contract records it now. Call it before a lost-key recovery."""
        who = address_of(party, "party")
        self._on_chain()
        ids: dict[bytes, None] = {}
        for event, topics in (("Locked", {"sender": who}), ("Locked", {"recipient": who}), ("PartyReplaced", {"replacement": who})):
            for log in self.contract.logs([event], from_block=self.deploy_block, topics=topics):
                ids.setdefault(bytes(log.event_arguments["lockId"]), None)
        positions = []
        for lid in ids:
            info = self.lock_info(lid)
            if info.paid:
                continue
            for role, address in (("sender", info.sender), ("recipient", info.recipient)):
                if address == who:
                    positions.append(Position(kind="htlc-lock", contract=self.address, position_id=hex32(lid), token=info.token,
                                              amount=info.amount, party=who, role=role, state=info.state))
        return positions

    def find_preimage(self, lock_id: bytes | str) -> bytes | None:
        """The preimage revealed by the claim of ``lock_id`` (from its ``Claimed`` event), or None
        while it is not claimed. Checked against the lock's hashlock."""
        info = self.lock_info(lock_id)
        if info.state != "claimed":
            return None
        for log in self.contract.logs(["Claimed"], from_block=self.deploy_block, topics={"lockId": info.lock_id}):
            preimage = bytes(log.event_arguments["preimage"])
            if hashlib.sha256(preimage).digest() == info.hashlock:
                return preimage
        raise DepositTokenError(
            f"lock {hex32(info.lock_id)} is claimed but no Claimed event from block {self.deploy_block} on reveals its preimage"
        )

    # ------------------------------------------------------------------ operations

    def lock(
        self,
        token: TokenClient,
        recipient: Any,
        amount: Amount,
        hashlock: bytes | str,
        deadline: Deadline,
        *,
        sender: Any,
        approve: bool = False,
    ) -> LockResult:
        """Locks ``amount`` of ``token`` from ``sender`` for ``recipient`` until ``deadline``.

        The sender must have approved the HTLC for the amount (``approve=True`` sends that approval
        first if it is missing). Refuses unless every party can settle the lock either way: the
        recipient, the sender and the HTLC allowlisted and not frozen on the token, the recipient
        until the deadline, the sender and the HTLC for ``REFUND_WINDOW`` after it.
        """
        to = address_of(recipient, "recipient")
        frm = address_of(sender, "sender")
        units = token.units(amount)
        lock_hash = parse_bytes32(hashlock, "hashlock")
        if lock_hash == bytes(32):
            raise DepositTokenError("hashlock must not be zero")
        self._on_chain()
        now = next_block_time()
        when = parse_deadline(deadline, now)
        if when <= now:
            raise DepositTokenError(f"deadline {format_expiry(when)} is not in the future (chain time {format_expiry(now)})")
        if when > now + MAX_LOCK_DURATION:
            raise DepositTokenError(f"deadline {format_expiry(when)} is more than 365 days ahead (chain time {format_expiry(now)})")
        if to in (self.address, frm):
            raise DepositTokenError(f"recipient {to} must be another party than the sender and the HTLC")
        if self._is_deposit_token(token):
            token.require_not_paused("lock")
            self._require_active_until(token, to, when, "recipient")
            self._require_active_until(token, frm, when + REFUND_WINDOW, "sender")
            self._require_active_until(token, self.address, when + REFUND_WINDOW, "the HTLC")
            token.require_unfrozen_balance(frm, units, "sender")
        else:
            balance = int(token.contract.balanceOf(frm))
            if balance < units:
                raise InsufficientBalance(f"sender {frm} holds {token.format(balance)}, less than {token.format(units)}")
        allowance = int(token.contract.allowance(frm, self.address))
        if allowance < units and not approve:
            raise AllowanceTooLow(
                f"sender {frm} has approved the HTLC for {token.format(allowance)}, less than {token.format(units)}: approve it first"
            )
        approve_receipt = token.send("approve", self.address, units, sender=sender) if allowance < units else None
        receipt = self._send("lock", token.address, to, units, lock_hash, when, sender=sender)
        [event] = receipt.decode_logs(self.contract.Locked)
        return LockResult(bytes(event.lockId), receipt, approve_receipt)

    def claim(self, lock_id: bytes | str, preimage: bytes | str, *, sender: Any) -> Any:
        """Claims lock ``lock_id`` for its recipient with ``preimage`` (anyone may send it), before the
        deadline. The preimage becomes public. The claim is recorded even if the token cannot pay now
        (paused, the recipient restricted, or the sender restricted: a claim pays only while the
        sender is active); :meth:`withdraw` pays it later (``lock_info(...).paid`` tells)."""
        secret = parse_bytes32(preimage, "preimage")
        address_of(sender, "sender")
        info = self._active(lock_id, "claim")
        now = next_block_time()
        if now >= info.deadline:
            raise DepositTokenError(
                f"lock {_short(info.lock_id)} expired at {format_expiry(info.deadline)} (chain time {format_expiry(now)}): "
                "it can only be refunded"
            )
        if hashlib.sha256(secret).digest() != info.hashlock:
            raise DepositTokenError(f"wrong preimage for lock {_short(info.lock_id)}: its sha256 is not the hashlock")
        return self._send("claim", info.lock_id, secret, sender=sender)

    def refund(self, lock_id: bytes | str, *, sender: Any) -> Any:
        """Refunds lock ``lock_id`` to its sender (anyone may send it), from the deadline on. The refund
        is recorded even if the token cannot pay the sender back now; :meth:`withdraw` pays it later."""
        address_of(sender, "sender")
        info = self._active(lock_id, "refund")
        now = next_block_time()
        if now < info.deadline:
            raise DepositTokenError(
                f"lock {_short(info.lock_id)} runs until {format_expiry(info.deadline)} (chain time {format_expiry(now)}): "
                "no refund before its deadline"
            )
        return self._send("refund", info.lock_id, sender=sender)

    def withdraw(self, lock_id: bytes | str, *, sender: Any) -> Any:
        """Pays a claimed lock to its recipient, or a refunded one to its sender, when the claim or
        refund could not pay at once (anyone may send it). Refuses unless the token would pay now:
        for a claim, the lock's sender active; the token not paused; the payee and the HTLC active."""
        address_of(sender, "sender")
        info = self.lock_info(lock_id)
        if info.paid:
            raise DepositTokenError(f"lock {_short(info.lock_id)} is already paid out: nothing to withdraw")
        if info.state == "locked":
            raise DepositTokenError(f"lock {_short(info.lock_id)} is still locked: claim or refund it first")
        if info.state == "claimed":
            token = self._token(info.token)
            if self._is_deposit_token(token) and (reason := token.inactive_reason(info.sender)):
                raise AccountInactive(f"sender {info.sender} {reason} on {token.symbol}: its lock cannot pay out")
            self._require_payable(info, info.recipient, "recipient", "withdraw")
        else:
            self._require_payable(info, info.sender, "sender", "withdraw")
        return self._send("withdraw", info.lock_id, sender=sender)

    # ------------------------------------------------------------------ the bank's controls (the token's legal role)

    def seize_lock(self, lock_id: bytes | str, to: Any, legal_order_reference: str, *, sender: Any) -> Any:
        """Legal exit: sends lock ``lock_id``'s amount to ``to`` under a legal order and closes the
        lock as seized. Only the lock token's legal role, for a lock whose funds are still in the HTLC."""
        beneficiary = address_of(to, "beneficiary")
        ref = reference_to_bytes32(legal_order_reference, "legal order reference")
        info, _ = self._unpaid(lock_id, sender, "seize")
        if beneficiary == self.address:
            raise DepositTokenError(f"beneficiary {beneficiary} is the HTLC itself")
        self._require_payable(info, beneficiary, "beneficiary", "seize")
        return self._send("seizeLock", info.lock_id, beneficiary, ref, sender=sender)

    def replace_party(self, lock_id: bytes | str, lost: Any, replacement: Any, *, sender: Any) -> Any:
        """After a lost-key recovery on the token, moves the lock's sender or recipient ``lost`` to
        ``replacement`` (active on the token, not already a party). Only the token's legal role."""
        old = address_of(lost, "lost account")
        new = address_of(replacement, "replacement account")
        info, token = self._unpaid(lock_id, sender, "replace a party of")
        if old not in (info.sender, info.recipient):
            raise DepositTokenError(f"lost account {old} is neither the sender nor the recipient of lock {_short(info.lock_id)}")
        if new in (info.sender, info.recipient, self.address):
            raise DepositTokenError(f"replacement {new} is already a party of lock {_short(info.lock_id)} (or the HTLC)")
        token.require_active(new, "replacement")
        return self._send("replaceParty", info.lock_id, old, new, sender=sender)

    def rescue(self, token: TokenClient, to: Any, amount: Amount, *, sender: Any) -> Any:
        """Sends ``amount`` of ``token`` that belongs to no lock (sent to the HTLC by mistake) to
        ``to``. Only the token's legal role, and at most the HTLC's balance above :meth:`outstanding`."""
        recipient = address_of(to, "recipient")
        units = token.units(amount)
        self._on_chain()
        if not self._is_deposit_token(token):
            raise DepositTokenError(f"{token.address} has no legal role: nothing can be rescued from the HTLC")
        token.require_role(sender, "legal", "rescue tokens from the HTLC")
        balance = int(token.contract.balanceOf(self.address))
        excess = max(balance - self.outstanding(token), 0)
        if units > excess:
            raise DepositTokenError(
                f"{token.format(units)} exceeds the {token.format(excess)} the HTLC holds beyond its locks"
            )
        token.require_not_paused("rescue")
        token.require_active(recipient, "recipient")
        token.require_unfrozen_balance(self.address, units, "the HTLC")
        return self._send("rescueExcess", token.address, recipient, units, sender=sender)

    def check_counter_lock(
        self,
        lock_id: bytes | str,
        *,
        role: str,
        hashlock: bytes | str,
        recipient: Any,
        token: TokenClient,
        amount: Amount,
        my_deadline: Deadline,
        margin: int = DEFAULT_MARGIN,
        min_time_left: int = MIN_TIME_LEFT,
        preimage: bytes | str | None = None,
    ) -> LockInfo:
        """Checks the other party's lock on this chain before you lock your leg or claim; returns it.

        ``role="responder"``: you did not make the secret and are about to lock your leg, with
        deadline ``my_deadline``: the counter-lock is the first leg and must end at least ``margin``
        seconds *after* yours (once the initiator reveals the preimage on your leg, you still have
        that long to claim this one). ``role="initiator"``: you made the secret and locked first;
        the counter-lock must end at least ``margin`` seconds *before* your ``my_deadline``.

        Either way it must be active, under ``hashlock``, for ``recipient`` (you), of exactly
        ``amount`` of ``token``, claimable for at least ``min_time_left`` more seconds, and (deposit
        tokens) claimable by you: the token not paused, you and the HTLC allowlisted until its
        deadline, the HTLC holding the amount unfrozen.

        Preimages are 32 bytes here (the contract takes ``bytes32``). The initiator, who made the
        secret, should pass ``preimage``: it must be 32 bytes and hash to ``hashlock``, so the secret
        it reveals can claim this lock. A responder cannot see the preimage's length in the hashlock:
        when the other leg is on another ledger, its HTLC must require a 32-byte preimage too.
        """
        if role not in ("initiator", "responder"):
            raise DepositTokenError(f"role must be 'initiator' or 'responder', not {role!r}")
        expected_hash = parse_bytes32(hashlock, "hashlock")
        if preimage is not None and hashlock_of(preimage) != expected_hash:
            raise DepositTokenError(f"the preimage's sha256 is not the hashlock {_short(expected_hash)}")
        me = address_of(recipient, "recipient")
        units = token.units(amount)
        if margin < 0 or min_time_left < 0:
            raise DepositTokenError("margin and min_time_left must not be negative")
        info = self.lock_info(lock_id)
        name = f"counter-lock {_short(info.lock_id)} on chain {self.chain_id}"
        now = next_block_time()
        mine = parse_deadline(my_deadline, now)
        if info.state != "locked":
            raise DepositTokenError(f"{name} is already {info.state}")
        if info.hashlock != expected_hash:
            raise DepositTokenError(f"{name} has hashlock {_short(info.hashlock)}, not {_short(expected_hash)}")
        if info.recipient != me:
            raise DepositTokenError(f"{name} pays {info.recipient}, not {me}")
        if info.token != token.address:
            raise DepositTokenError(f"{name} locks token {info.token}, not {token.address}")
        if info.amount != units:
            raise DepositTokenError(f"{name} locks {token.format(info.amount)}, not {token.format(units)}")
        if info.deadline - now < min_time_left:
            raise DepositTokenError(
                f"{name} ends at {format_expiry(info.deadline)}, less than {min_time_left} s from now (chain time {format_expiry(now)})"
            )
        if role == "responder" and info.deadline < mine + margin:
            raise DepositTokenError(
                f"{name} ends at {format_expiry(info.deadline)}: as the first leg it must end at least {margin} s after "
                f"your deadline {format_expiry(mine)}"
            )
        if role == "initiator" and info.deadline > mine - margin:
            raise DepositTokenError(
                f"{name} ends at {format_expiry(info.deadline)}: as the second leg it must end at least {margin} s before "
                f"your deadline {format_expiry(mine)}"
            )
        if self._is_deposit_token(token):
            self._require_payable(info, me, "recipient", "claim")
            if reason := token.inactive_reason(info.sender):
                raise DepositTokenError(f"{name}: its sender {info.sender} {reason}, so a claim would not pay you")
            self._require_active_until(token, me, info.deadline, "recipient")
            self._require_active_until(token, self.address, info.deadline, "the HTLC")
        return info

    # ------------------------------------------------------------------ checks (nothing is sent)

    def _on_chain(self) -> None:
        """Refuses to go on when another chain than this HTLC's is connected."""
        actual = connected_chain_id()
        if actual != self.chain_id:
            raise WrongChain(
                f"the HTLC at {self.address} is on chain {self.chain_id}, but the connected node is on chain {actual}"
            )
        require_chain_id(self.chain_id)

    def _token(self, address: str) -> TokenClient:
        if address not in self._tokens:
            self._tokens[address] = TokenClient(contract_at("DepositToken", address))
        return self._tokens[address]

    def _is_deposit_token(self, token: TokenClient) -> bool:
        """Whether ``token`` has the deposit token's compliance views (ERC-7943), else a plain ERC-20."""
        if token.address not in self._deposit_tokens:
            try:
                self._deposit_tokens[token.address] = bool(token.contract.supportsInterface(ERC7943_INTERFACE_ID))
            except Exception:  # noqa: BLE001 - a plain ERC-20 has no supportsInterface
                self._deposit_tokens[token.address] = False
        return self._deposit_tokens[token.address]

    def _active(self, lock_id: bytes | str, action: str) -> LockInfo:
        info = self.lock_info(lock_id)
        if info.state != "locked":
            raise DepositTokenError(f"lock {_short(info.lock_id)} is already {info.state}: nothing to {action}")
        return info

    def _unpaid(self, lock_id: bytes | str, sender: Any, action: str) -> tuple[LockInfo, TokenClient]:
        """The lock, its funds still in the HTLC, and its deposit token, whose legal role ``sender`` holds."""
        info = self.lock_info(lock_id)
        if info.paid:
            raise DepositTokenError(f"lock {_short(info.lock_id)} is already {info.state} and paid out: cannot {action} it")
        token = self._token(info.token)
        if not self._is_deposit_token(token):
            raise DepositTokenError(f"lock {_short(info.lock_id)} holds {info.token}, a token without a legal role")
        token.require_role(sender, "legal", f"{action} a lock")
        return info, token

    def _require_payable(self, info: LockInfo, payee: str, who: str, action: str) -> None:
        """The token would pay ``info.amount`` from the HTLC to ``payee`` now."""
        token = self._token(info.token)
        if not self._is_deposit_token(token):
            return
        token.require_not_paused(action)
        token.require_parties_active([(who, payee)], contract=("the HTLC", self.address, ""))
        token.require_unfrozen_balance(self.address, info.amount, "the HTLC")

    def _require_active_until(self, token: TokenClient, address: str, until: int, who: str) -> None:
        token.require_active(address, who)
        expiry = int(token.contract.allowlistExpiry(address))
        if expiry <= until:
            raise AccountInactive(
                f"{who} {address} is allowlisted on {token.symbol} until {format_expiry(expiry)}, "
                f"not past {format_expiry(until)}: the lock could not be settled"
            )

    def _send(self, method: str, *args: Any, sender: Any) -> Any:
        return send_checked(self.contract, method, *args, sender=sender)
