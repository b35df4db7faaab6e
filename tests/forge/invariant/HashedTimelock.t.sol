// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {DepositToken} from "../../../contracts/token/DepositToken.sol";
import {HashedTimelock} from "../../../contracts/settlement/HashedTimelock.sol";
import {TokenFixture} from "../utils/TokenFixture.sol";
import {InvariantBase, HandlerBase} from "../utils/InvariantBase.sol";

/**
 * @dev Drives the real HashedTimelock over the real DepositToken: locks, claims (right and wrong
 * preimages, before and after the deadline), refunds, withdrawals of payouts the token refused at the
 * time (a party frozen meanwhile), legal seizures, and time. Each action checks what the contract must
 * do (succeed or refuse) and keeps the ghost books: every lock's outcome, what each party must hold.
 */
contract HtlcHandler is HandlerBase, TokenFixture {
    struct Ghost {
        bytes32 id;
        address sender;
        address recipient;
        uint256 amount;
        bytes32 preimage;
        uint64 deadline;
        HashedTimelock.State state; // Locked, then Claimed, Refunded or Seized: once
        bool paid;
        uint8 endings; // how many times the lock left Locked (claim xor refund xor seizure: 1 at most)
    }

    uint256 internal constant ACTORS = 4;
    address internal constant SINK = address(0x5EE); // where legal orders send seized locks

    DepositToken public immutable token;
    HashedTimelock public immutable htlc;
    Ghost[] internal _locks;
    mapping(address account => uint256) public expected; // each account's balance, by the ghost books

    uint256 public totalLocked;
    uint256 public paidToRecipients;
    uint256 public refundedToSenders;
    uint256 public seized;
    uint256 public held; // locked, not yet paid out

    constructor(DepositToken token_, HashedTimelock htlc_) {
        token = token_;
        htlc = htlc_;
        for (uint256 i = 0; i < ACTORS; ++i) expected[actor(i)] = token.balanceOf(actor(i));
    }

    function actor(uint256 i) public pure returns (address) {
        return address(uint160(0x1000 + i));
    }

    function lockCount() external view returns (uint256) {
        return _locks.length;
    }

    function ghost(uint256 i) external view returns (Ghost memory) {
        return _locks[i];
    }

    // ------------------------------------------------------------------ actions

    function lock(uint256 senderSeed, uint256 recipientSeed, uint256 amount, uint256 secret, uint256 duration) external {
        address sender = actor(senderSeed % ACTORS);
        address recipient = actor((senderSeed % ACTORS + 1 + recipientSeed % (ACTORS - 1)) % ACTORS);
        uint256 balance = token.balanceOf(sender);
        if (balance == 0 || !token.canSend(sender)) return;
        amount = _bound(amount, 1, balance);
        bytes32 preimage = keccak256(abi.encode(secret, _locks.length));
        bytes32 hashlock = sha256(abi.encodePacked(preimage));
        uint64 deadline = uint64(block.timestamp + _bound(duration, 1, 20 days));
        vm.prank(sender);
        bytes32 id = htlc.lock(IERC20(address(token)), recipient, amount, hashlock, deadline);
        _locks.push(Ghost(id, sender, recipient, amount, preimage, deadline, HashedTimelock.State.Locked, false, 0));
        totalLocked += amount;
        held += amount;
        expected[sender] -= amount;
        _count("lock");
    }

    function claim(uint256 index, uint256 callerSeed, uint256 wrongPreimage) external {
        if (_locks.length == 0) return;
        Ghost storage g = _pick(index);
        bool wrong = wrongPreimage % 4 == 0; // one try in four with a wrong preimage
        bytes32 preimage = wrong ? keccak256(abi.encode(g.preimage)) : g.preimage;
        bool allowed = !wrong && g.state == HashedTimelock.State.Locked && block.timestamp < g.deadline;
        vm.prank(address(uint160(callerSeed | 1))); // anyone may claim
        try htlc.claim(g.id, preimage) {
            _check(allowed, "claim succeeded: wrong preimage, expired, or not Locked");
            _end(g, HashedTimelock.State.Claimed);
            if (htlc.getLock(g.id).paid) _payOut(g, g.recipient);
            _count("claim");
        } catch {
            _check(!allowed, "a valid claim reverted");
        }
    }

    function refund(uint256 index, uint256 callerSeed) external {
        if (_locks.length == 0) return;
        Ghost storage g = _pick(index);
        bool allowed = g.state == HashedTimelock.State.Locked && block.timestamp >= g.deadline;
        vm.prank(address(uint160(callerSeed | 1)));
        try htlc.refund(g.id) {
            _check(allowed, "refund succeeded: before the deadline, or not Locked");
            _end(g, HashedTimelock.State.Refunded);
            if (htlc.getLock(g.id).paid) _payOut(g, g.sender);
            _count("refund");
        } catch {
            _check(!allowed, "a valid refund reverted");
        }
    }

    function withdraw(uint256 index) external {
        if (_locks.length == 0) return;
        Ghost storage g = _pickOwed(index);
        bool owed = (g.state == HashedTimelock.State.Claimed || g.state == HashedTimelock.State.Refunded) && !g.paid;
        try htlc.withdraw(g.id) {
            _check(owed, "withdraw paid a lock that was not owed");
            _payOut(g, g.state == HashedTimelock.State.Claimed ? g.recipient : g.sender);
            _count("withdraw");
        } catch {
            // refused while the payee cannot receive or a claimed lock's sender is restricted: still owed
            _check(!owed || !token.canReceive(g.state == HashedTimelock.State.Claimed ? g.recipient : g.sender)
                || (g.state == HashedTimelock.State.Claimed && !token.canSend(g.sender)), "an owed withdrawal reverted");
        }
    }

    function seize(uint256 index, bytes32 legalOrderRef) external {
        if (_locks.length == 0 || uint256(legalOrderRef) % 3 != 0) return; // a rarer action
        Ghost storage g = _pick(index);
        legalOrderRef = legalOrderRef | bytes32(uint256(1));
        vm.prank(LEGAL);
        try htlc.seizeLock(g.id, SINK, legalOrderRef) {
            _check(!g.paid, "a paid lock was seized");
            if (g.state == HashedTimelock.State.Locked) _end(g, HashedTimelock.State.Seized);
            else g.state = HashedTimelock.State.Seized; // a claim or refund the token refused: taken instead
            g.paid = true;
            held -= g.amount;
            seized += g.amount;
            expected[SINK] += g.amount;
            _count("seize");
        } catch {
            _check(g.paid, "seizing an unpaid lock reverted");
        }
    }

    /// @dev Compliance freezes or unfreezes a party: payouts to (or claims of locks from) it wait.
    function freeze(uint256 actorSeed, bool frozen) external {
        vm.prank(COMPLIANCE);
        if (frozen) {
            try token.freezeAccount(actor(actorSeed % ACTORS)) {} catch {}
        } else {
            try token.unfreezeAccount(actor(actorSeed % ACTORS)) {} catch {}
        }
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + _bound(seconds_, 1, 3 days));
    }

    /// @dev At the end of a run (not fuzzed): compliance lifts every freeze, time passes every
    /// deadline, and every lock still holding funds is refunded or its owed payout withdrawn. Reverts
    /// (failing the run) if any of them cannot be: no funds stay stuck.
    function drain() external {
        uint256 latest = block.timestamp;
        for (uint256 i = 0; i < ACTORS; ++i) {
            vm.prank(COMPLIANCE);
            try token.unfreezeAccount(actor(i)) {} catch {}
        }
        for (uint256 i = 0; i < _locks.length; ++i) {
            if (_locks[i].deadline > latest) latest = _locks[i].deadline;
        }
        vm.warp(latest);
        for (uint256 i = 0; i < _locks.length; ++i) {
            Ghost storage g = _locks[i];
            if (g.paid) continue;
            if (g.state == HashedTimelock.State.Locked) {
                htlc.refund(g.id);
                _end(g, HashedTimelock.State.Refunded);
                if (htlc.getLock(g.id).paid) _payOut(g, g.sender);
            }
            if (!g.paid) {
                htlc.withdraw(g.id);
                _payOut(g, g.state == HashedTimelock.State.Claimed ? g.recipient : g.sender);
            }
        }
    }

    // ------------------------------------------------------------------ books

    /// @dev Three times in four a lock whose funds are still here (the first from a random one on),
    /// else any lock, paid ones too.
    function _pick(uint256 seed) private view returns (Ghost storage) {
        uint256 n = _locks.length;
        uint256 i = seed % n;
        if (seed % 4 != 0) {
            for (uint256 k = 0; k < n; ++k) {
                if (!_locks[(i + k) % n].paid) return _locks[(i + k) % n];
            }
        }
        return _locks[i];
    }

    /// @dev Three times in four a claimed or refunded lock not paid yet (if any), else any lock.
    function _pickOwed(uint256 seed) private view returns (Ghost storage) {
        uint256 n = _locks.length;
        uint256 i = seed % n;
        if (seed % 4 != 0) {
            for (uint256 k = 0; k < n; ++k) {
                Ghost storage g = _locks[(i + k) % n];
                if (!g.paid && g.state != HashedTimelock.State.Locked) return g;
            }
        }
        return _locks[i];
    }

    function _end(Ghost storage g, HashedTimelock.State outcome) private {
        g.state = outcome;
        ++g.endings;
    }

    function _payOut(Ghost storage g, address to) private {
        _check(!g.paid, "a lock was paid twice");
        g.paid = true;
        held -= g.amount;
        if (to == g.recipient) paidToRecipients += g.amount;
        else refundedToSenders += g.amount;
        expected[to] += g.amount;
    }
}

/// @dev The hashed time-lock's invariants, after every call of {HtlcHandler}.
contract HashedTimelockInvariants is InvariantBase, TokenFixture {
    DepositToken internal token;
    HashedTimelock internal htlc;
    HtlcHandler internal handler;

    function setUp() public {
        vm.warp(1_800_000_000);
        token = deployToken("USD", "USD", type(uint128).max);
        htlc = new HashedTimelock();
        uint64 kyc = uint64(block.timestamp + 3650 days);
        onboard(token, address(htlc), kyc);
        onboard(token, address(0x5EE), kyc);
        for (uint256 i = 0; i < 4; ++i) {
            address a = address(uint160(0x1000 + i)); // the handler's actor(i)
            onboard(token, a, kyc);
            mintTo(token, a, 1_000_000_00, bytes32(i + 1));
            vm.prank(a);
            token.approve(address(htlc), type(uint256).max);
        }
        handler = new HtlcHandler(token, htlc); // its books start from the minted balances
        bytes4[] memory s = new bytes4[](7);
        s[0] = HtlcHandler.lock.selector;
        s[1] = HtlcHandler.claim.selector;
        s[2] = HtlcHandler.refund.selector;
        s[3] = HtlcHandler.withdraw.selector;
        s[4] = HtlcHandler.seize.selector;
        s[5] = HtlcHandler.freeze.selector;
        s[6] = HtlcHandler.warp.selector;
        targetHandler(address(handler), s);
    }

    /// The contract holds exactly the unpaid locks' amounts: balance == outstanding == ghost.
    function invariant_heldEqualsOpenLocks() public view {
        uint256 open;
        for (uint256 i = 0; i < handler.lockCount(); ++i) {
            HtlcHandler.Ghost memory g = handler.ghost(i);
            if (!g.paid) open += g.amount;
        }
        assert(open == handler.held());
        assert(token.balanceOf(address(htlc)) == open);
        assert(htlc.outstanding(address(token)) == open);
    }

    /// Every unit locked is paid to the recipient, refunded to the sender, seized, or still held.
    function invariant_conservation() public view {
        assert(
            handler.totalLocked()
                == handler.paidToRecipients() + handler.refundedToSenders() + handler.seized() + handler.held()
        );
        for (uint256 i = 0; i < 4; ++i) {
            address a = handler.actor(i);
            assert(token.balanceOf(a) == handler.expected(a));
        }
        assert(token.balanceOf(address(0x5EE)) == handler.expected(address(0x5EE)));
    }

    /// Claim xor refund (xor seizure), once per lock: the contract's record is the ghost's.
    function invariant_claimXorRefund() public view {
        for (uint256 i = 0; i < handler.lockCount(); ++i) {
            HtlcHandler.Ghost memory g = handler.ghost(i);
            HashedTimelock.Lock memory l = htlc.getLock(g.id);
            assert(g.endings <= 1);
            assert(l.state == g.state);
            assert(l.paid == g.paid);
            assert(l.amount == g.amount && l.sender == g.sender && l.recipient == g.recipient);
        }
    }

    /// No action saw the contract do what it must not (or refuse what it must do).
    function invariant_noViolation() public view {
        if (handler.violations() != 0) revert(handler.firstViolation());
    }

    /// After each run: once the freezes are lifted and the deadlines passed, every lock can be settled
    /// and paid out, and the contract is left holding nothing (no funds stuck), every unit where the
    /// books say.
    function afterInvariant() public {
        handler.drain();
        assert(handler.held() == 0);
        assert(token.balanceOf(address(htlc)) == 0 && htlc.outstanding(address(token)) == 0);
        invariant_conservation();
        invariant_claimXorRefund();
        invariant_noViolation();
    }
}
