// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {DepositToken} from "../../../contracts/token/DepositToken.sol";
import {TokenFixture} from "../utils/TokenFixture.sol";
import {InvariantBase, HandlerBase} from "../utils/InvariantBase.sol";

/**
 * @dev Property 2 where the parties coincide, which the halmos transfer proofs leave out (they fix
 * distinct parties: with symbolic addresses they took 3 to 13 minutes): the real DepositToken behind
 * its proxy, four holders, and `transfer` / `transferFrom` between any of them, the same one included
 * (sender = receiver, spender = owner, spender = receiver, all three one account), amid approvals,
 * freezes, frozen amounts, allowlist removals and renewals, expiries and pauses. Each call is checked
 * against the specification: it succeeds if and only if not paused, the sender, the receiver (and the
 * spender) are active and the amount is within the sender's unfrozen balance (and the allowance), and
 * then it moves exactly the amount (nothing at all when sender = receiver), lowers a limited allowance
 * by it, and changes no expiry, freeze flag or frozen amount. The books (balances, allowances) are kept
 * by the handler and compared with the token's after every call.
 */
contract TransferHandler is HandlerBase, TokenFixture {
    uint256 internal constant ACTORS = 4;

    DepositToken public immutable token;
    mapping(address account => uint256) public expected; // each holder's balance, by the books
    mapping(address owner => mapping(address spender => uint256)) public expectedAllowance;

    constructor(DepositToken token_) {
        token = token_;
        for (uint256 i = 0; i < ACTORS; ++i) expected[actor(i)] = token.balanceOf(actor(i));
    }

    function actor(uint256 i) public pure returns (address) {
        return address(uint160(0x1000 + i));
    }

    /// @dev A call refused as the specification says: the handler reverts with it, so that the runner's
    /// metrics count refusals (reverts) apart from successful moves (calls - reverts).
    error Refused();

    // ------------------------------------------------------------------ the calls under test

    /// @dev Between two different holders.
    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amount) external {
        uint256 i = fromSeed % ACTORS;
        _transfer(actor(i), actor((i + 1 + toSeed % (ACTORS - 1)) % ACTORS), amount);
    }

    /// @dev To oneself: succeeds under the same rules, and moves nothing.
    function transferToSelf(uint256 seed, uint256 amount) external {
        _transfer(actor(seed % ACTORS), actor(seed % ACTORS), amount);
    }

    /// @dev Spender, owner and receiver all different.
    function transferFrom(uint256 spenderSeed, uint256 fromSeed, uint256 toSeed, uint256 amount) external {
        uint256 s = spenderSeed % ACTORS;
        uint256 f = (s + 1 + fromSeed % (ACTORS - 1)) % ACTORS;
        uint256 t = (s + 1 + toSeed % (ACTORS - 1)) % ACTORS;
        if (t == f) t = (t + 1) % ACTORS == s ? (t + 2) % ACTORS : (t + 1) % ACTORS;
        _transferFrom(actor(s), actor(f), actor(t), amount);
    }

    /// @dev `shape` picks which parties coincide: spender = owner, spender = receiver, owner = receiver,
    /// or all three one account.
    function transferFromCoinciding(uint256 spenderSeed, uint256 shape, uint256 otherSeed, uint256 amount) external {
        address spender = actor(spenderSeed % ACTORS);
        address other = actor(otherSeed % ACTORS);
        shape %= 4;
        (address from, address to) = shape == 0 ? (spender, other) : shape == 1 ? (other, spender)
            : shape == 2 ? (other, other) : (spender, spender);
        _transferFrom(spender, from, to, amount);
    }

    function _transfer(address from, address to, uint256 amount) internal {
        amount = _bound(amount, 0, token.balanceOf(from) + 2);
        bool allowed = _moves(from, to, amount);
        State memory before = _state(from, to);
        vm.prank(from);
        try token.transfer(to, amount) returns (bool ok) {
            _check(ok && allowed, "transfer: succeeded against the rules");
            _book(from, to, amount, before);
        } catch {
            _check(!allowed, "transfer: refused within the rules");
            if (!allowed) revert Refused();
        }
    }

    function _transferFrom(address spender, address from, address to, uint256 amount) internal {
        amount = _bound(amount, 0, token.balanceOf(from) + 2);
        uint256 allowance = token.allowance(from, spender);
        _check(allowance == expectedAllowance[from][spender], "allowance differs from the books");
        bool allowed = token.canSend(spender) && amount <= allowance && _moves(from, to, amount);
        State memory before = _state(from, to);
        vm.prank(spender);
        try token.transferFrom(from, to, amount) returns (bool ok) {
            _check(ok && allowed, "transferFrom: succeeded against the rules");
            _book(from, to, amount, before);
            if (allowance != type(uint256).max) expectedAllowance[from][spender] = allowance - amount;
            _check(token.allowance(from, spender) == expectedAllowance[from][spender], "allowance not lowered");
        } catch {
            _check(!allowed, "transferFrom: refused within the rules");
            _check(token.allowance(from, spender) == allowance, "a refused transferFrom changed the allowance");
            if (!allowed) revert Refused();
        }
    }

    // ------------------------------------------------------------------ what varies the rules

    function approve(uint256 ownerSeed, uint256 spenderSeed, uint256 amount) external {
        approveFor(ownerSeed, spenderSeed, amount % 3 == 0 ? type(uint256).max : _bound(amount, 0, 2_000_00));
    }

    function approveFor(uint256 ownerSeed, uint256 spenderSeed, uint256 amount) public {
        (address owner, address spender) = (actor(ownerSeed % ACTORS), actor(spenderSeed % ACTORS));
        vm.prank(owner);
        token.approve(spender, amount);
        expectedAllowance[owner][spender] = amount;
            }

    /// @dev Compliance and legal orders: freeze or unfreeze, remove from or renew on the allowlist, a
    /// frozen amount (up to above the balance), or all restrictions lifted.
    function restrict(uint256 actorSeed, uint256 kind, uint256 amount) external {
        address account = actor(actorSeed % ACTORS);
        kind %= 4;
        bool frozen = token.isFrozen(account);
        bool listed = token.isAllowlisted(account);
        uint64 renewal = uint64(block.timestamp + _bound(amount, 1, 30 days));
        if (kind == 0) {
            vm.prank(COMPLIANCE);
            if (frozen) token.unfreezeAccount(account);
            else token.freezeAccount(account);
        } else if (kind == 1) {
            vm.prank(COMPLIANCE);
            if (listed) token.removeFromAllowlist(account);
            else token.allowlist(account, renewal);
        } else if (kind == 2) {
            uint256 frozenAmount = _bound(amount, 0, token.balanceOf(account) + 1_000_00);
            vm.prank(LEGAL);
            token.setFrozenTokens(account, frozenAmount);
        } else {
            vm.prank(LEGAL);
            token.setFrozenTokens(account, 0);
            if (frozen) {
                vm.prank(COMPLIANCE);
                token.unfreezeAccount(account);
            }
            vm.prank(COMPLIANCE);
            token.allowlist(account, renewal);
        }
    }

    /// @dev Paused one time in four.
    function setPause(uint256 seed) external {
        bool pause = seed % 4 == 0;
        if (pause == token.paused()) return;
        vm.prank(PAUSER);
        if (pause) token.pause();
        else token.unpause();
    }

    /// @dev Time passes: short allowlist entries expire.
    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + _bound(seconds_, 1, 10 days));
    }

    // ------------------------------------------------------------------ the specification and the books

    struct State {
        uint256 supply;
        uint64 fromExpiry;
        uint64 toExpiry;
        bool fromFrozen;
        bool toFrozen;
        uint256 fromFrozenAmount;
        uint256 toFrozenAmount;
    }

    /// @dev Whether the balance path must move `amount` from `from` to `to` now (property 2's rule).
    function _moves(address from, address to, uint256 amount) internal view returns (bool) {
        return !token.paused() && token.canSend(from) && token.canReceive(to)
            && amount <= token.unfrozenBalanceOf(from);
    }

    function _state(address from, address to) internal view returns (State memory s) {
        s.supply = token.totalSupply();
        (s.fromExpiry, s.toExpiry) = (token.allowlistExpiry(from), token.allowlistExpiry(to));
        (s.fromFrozen, s.toFrozen) = (token.isFrozen(from), token.isFrozen(to));
        (s.fromFrozenAmount, s.toFrozenAmount) = (token.getFrozenTokens(from), token.getFrozenTokens(to));
    }

    /// @dev After a successful move: the books move `amount` (nothing when from == to), the token agrees,
    /// and nothing else of either account or the supply changed.
    function _book(address from, address to, uint256 amount, State memory b) internal {
        expected[from] -= amount;
        expected[to] += amount;
        _check(token.balanceOf(from) == expected[from], "sender's balance differs from the books");
        _check(token.balanceOf(to) == expected[to], "receiver's balance differs from the books");
        State memory a = _state(from, to);
        _check(keccak256(abi.encode(a)) == keccak256(abi.encode(b)), "a transfer changed more than balances");
    }
}

contract TokenTransfersInvariants is InvariantBase, TokenFixture {
    DepositToken internal token;
    TransferHandler internal handler;

    function setUp() public {
        vm.warp(1_800_000_000);
        token = deployToken("USD", "USD", type(uint128).max);
        for (uint256 i = 0; i < 4; ++i) {
            address a = address(uint160(0x1000 + i)); // the handler's actor(i)
            onboard(token, a, uint64(block.timestamp + 3650 days));
            mintTo(token, a, 1_000_00 * (i + 1), bytes32(i + 1));
        }
        handler = new TransferHandler(token); // its books start from the minted balances
        for (uint256 i = 0; i < 4; ++i) {
            for (uint256 j = 0; j < 4; ++j) {
                // every pair approved, oneself included: some unlimited, some limited
                handler.approveFor(i, j, (i + j) % 2 == 0 ? type(uint256).max : 2_500_00);
            }
        }
        bytes4[] memory s = new bytes4[](8);
        s[0] = TransferHandler.transfer.selector;
        s[1] = TransferHandler.transferToSelf.selector;
        s[2] = TransferHandler.transferFrom.selector;
        s[3] = TransferHandler.transferFromCoinciding.selector;
        s[4] = TransferHandler.approve.selector;
        s[5] = TransferHandler.restrict.selector;
        s[6] = TransferHandler.setPause.selector;
        s[7] = TransferHandler.warp.selector;
        targetHandler(address(handler), s);
    }

    /// Every holder's balance is the books', and the balances add up to the supply (nothing minted or burnt).
    function invariant_balancesAreTheBooks() public view {
        uint256 sum;
        for (uint256 i = 0; i < 4; ++i) {
            address a = handler.actor(i);
            assert(token.balanceOf(a) == handler.expected(a));
            sum += token.balanceOf(a);
        }
        assert(sum == token.totalSupply());
        assert(sum == 10_000_00); // 1,000 + 2,000 + 3,000 + 4,000 minted in setUp
    }

    /// Every call succeeded exactly when the specification says, and moved exactly what it says.
    function invariant_noViolation() public view {
        assert(handler.violations() == 0);
    }
}
