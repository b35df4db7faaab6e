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
    htlc.lock_info(lock_id) -> LockInfo             htlc.find_preimage(lock_id) -> bytes | None

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

from ..abi import contract_at
from ..allowlist_file import format_expiry
from ..chain import connected_chain_id, next_block_time, require_chain_id
from ..errors import DepositTokenError
from ..operations import Amount, TokenClient, _address_of, send_checked
from ..validation import parse_address, parse_bytes32, parse_deadline

STATES = ("none", "locked", "claimed", "refunded")  # HashedTimelock.State
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
    state: str  # "locked", "claimed" or "refunded"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: byte strings as 0x-hex, the deadline also in ISO 8601."""
        return {
            "lock_id": hex32(self.lock_id), "htlc": self.htlc, "chain_id": self.chain_id, "token": self.token,
            "sender": self.sender, "recipient": self.recipient, "amount": self.amount,
            "hashlock": hex32(self.hashlock), "deadline": self.deadline,
            "deadline_utc": format_expiry(self.deadline), "state": self.state,
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

    contract = deployer.deploy(project.HashedTimelock)
    return HtlcClient(contract, deploy_block=chain.provider.get_receipt(contract.txn_hash).block_number)


class HtlcClient:
    """A deployed ``HashedTimelock`` on the connected chain, and the operations on it."""

    def __init__(self, contract: Any, *, deploy_block: int = 0) -> None:
        self.contract = contract
        self.deploy_block = int(deploy_block)
        self.chain_id = connected_chain_id()
        self._tokens: dict[str, TokenClient] = {}
        self._deposit_tokens: dict[str, bool] = {}

    @classmethod
    def at(cls, address: str, *, deploy_block: int = 0) -> HtlcClient:
        """The HTLC at ``address`` on the connected chain; refuses an address without its code."""
        from ape import chain

        address = parse_address(address, "HTLC address")
        contract = contract_at("HashedTimelock", address)
        try:
            shaped = bool(chain.provider.get_code(address)) and int(contract.MAX_LOCK_DURATION()) == MAX_LOCK_DURATION
        except Exception:  # noqa: BLE001 - a contract without that view reverts or returns nothing
            shaped = False
        if not shaped:
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
        token, deadline, state, recipient, sender, amount, hashlock = self.contract.getLock(lid)
        if int(state) == 0:
            raise DepositTokenError(f"lock {hex32(lid)} is unknown to the HTLC at {self.address} on chain {self.chain_id}")
        return LockInfo(
            lock_id=lid, htlc=self.address, chain_id=self.chain_id, token=str(token), sender=str(sender),
            recipient=str(recipient), amount=int(amount), hashlock=bytes(hashlock), deadline=int(deadline),
            state=STATES[int(state)],
        )

    def find_preimage(self, lock_id: bytes | str) -> bytes | None:
        """The preimage revealed by the claim of ``lock_id`` (from its ``Claimed`` event), or None
        while it is not claimed. Checked against the lock's hashlock."""
        from ape import chain
        from ape.types.events import LogFilter

        info = self.lock_info(lock_id)
        if info.state != "claimed":
            return None
        log_filter = LogFilter.from_event(
            self.contract.Claimed, search_topics={"lockId": info.lock_id}, addresses=[self.address],
            start_block=self.deploy_block, stop_block=chain.blocks.height,
        )
        for log in chain.provider.get_contract_logs(log_filter):
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
        to = _address_of(recipient, "recipient")
        frm = _address_of(sender, "sender")
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
            token._require_not_paused("lock")
            self._require_active_until(token, to, when, "recipient")
            self._require_active_until(token, frm, when + REFUND_WINDOW, "sender")
            self._require_active_until(token, self.address, when + REFUND_WINDOW, "the HTLC")
            token._require_unfrozen_balance(frm, units, "sender")
        else:
            balance = int(token.contract.balanceOf(frm))
            if balance < units:
                raise DepositTokenError(f"sender {frm} holds {token.format(balance)}, less than {token.format(units)}")
        allowance = int(token.contract.allowance(frm, self.address))
        if allowance < units and not approve:
            raise DepositTokenError(
                f"sender {frm} has approved the HTLC for {token.format(allowance)}, less than {token.format(units)}: approve it first"
            )
        approve_receipt = token._send("approve", self.address, units, sender=sender) if allowance < units else None
        receipt = self._send("lock", token.address, to, units, lock_hash, when, sender=sender)
        [event] = receipt.decode_logs(self.contract.Locked)
        return LockResult(bytes(event.lockId), receipt, approve_receipt)

    def claim(self, lock_id: bytes | str, preimage: bytes | str, *, sender: Any) -> Any:
        """Pays lock ``lock_id`` to its recipient with ``preimage`` (anyone may send it), before the
        deadline. The preimage becomes public."""
        secret = parse_bytes32(preimage, "preimage")
        _address_of(sender, "sender")
        info = self._active(lock_id, "claim")
        now = next_block_time()
        if now >= info.deadline:
            raise DepositTokenError(
                f"lock {_short(info.lock_id)} expired at {format_expiry(info.deadline)} (chain time {format_expiry(now)}): "
                "it can only be refunded"
            )
        if hashlib.sha256(secret).digest() != info.hashlock:
            raise DepositTokenError(f"wrong preimage for lock {_short(info.lock_id)}: its sha256 is not the hashlock")
        self._require_payable(info, info.recipient, "recipient", "claim")
        return self._send("claim", info.lock_id, secret, sender=sender)

    def refund(self, lock_id: bytes | str, *, sender: Any) -> Any:
        """Returns lock ``lock_id`` to its sender (anyone may send it), from the deadline on."""
        _address_of(sender, "sender")
        info = self._active(lock_id, "refund")
        now = next_block_time()
        if now < info.deadline:
            raise DepositTokenError(
                f"lock {_short(info.lock_id)} runs until {format_expiry(info.deadline)} (chain time {format_expiry(now)}): "
                "no refund before its deadline"
            )
        self._require_payable(info, info.sender, "sender", "refund")
        return self._send("refund", info.lock_id, sender=sender)

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
        """
        if role not in ("initiator", "responder"):
            raise DepositTokenError(f"role must be 'initiator' or 'responder', not {role!r}")
        expected_hash = parse_bytes32(hashlock, "hashlock")
        me = _address_of(recipient, "recipient")
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
            self._require_active_until(token, me, info.deadline, "recipient")
            self._require_active_until(token, self.address, info.deadline, "the HTLC")
        return info

    # ------------------------------------------------------------------ checks (nothing is sent)

    def _on_chain(self) -> None:
        """Refuses to go on when another chain than this HTLC's is connected."""
        actual = connected_chain_id()
        if actual != self.chain_id:
            raise DepositTokenError(
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

    def _require_payable(self, info: LockInfo, payee: str, who: str, action: str) -> None:
        """The token would pay ``info.amount`` from the HTLC to ``payee`` now."""
        token = self._token(info.token)
        if not self._is_deposit_token(token):
            return
        token._require_not_paused(action)
        token._require_active(self.address, "the HTLC")
        token._require_active(payee, who)
        token._require_unfrozen_balance(self.address, info.amount, "the HTLC")

    def _require_active_until(self, token: TokenClient, address: str, until: int, who: str) -> None:
        token._require_active(address, who)
        expiry = int(token.contract.allowlistExpiry(address))
        if expiry <= until:
            raise DepositTokenError(
                f"{who} {address} is allowlisted on {token.symbol} until {format_expiry(expiry)}, "
                f"not past {format_expiry(until)}: the lock could not be settled"
            )

    def _send(self, method: str, *args: Any, sender: Any) -> Any:
        return send_checked(self.contract, method, *args, sender=sender)
