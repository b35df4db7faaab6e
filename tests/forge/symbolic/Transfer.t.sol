// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SymbolicToken} from "./SymbolicToken.sol";

/**
 * @dev Property 2: `transfer` and `transferFrom` on the real token behind its proxy, from any state
 * of the parties (symbolic packed words, frozen amounts, allowance, pause flag, time and total
 * supply; see {SymbolicToken}) and any amount:
 * - they succeed if and only if the token is not paused, the receiver is not address zero, sender,
 *   receiver (and for transferFrom the spender) are active (allowlisted, unexpired, not frozen), the
 *   amount is within the sender's unfrozen balance (balance minus frozen amount) and, for
 *   transferFrom, within the spender's allowance;
 * - on success exactly the two balances move by the amount, every other bit of both words, the frozen
 *   amounts, the total supply and a third account (its word, frozen amount and its allowance to the
 *   spender) stay as they were; the spender's allowance drops by the amount unless unlimited.
 * The parties are four distinct fixed addresses (ALICE sends to BOB, CAROL spends, DAVE looks on); every
 * value is symbolic. Not covered here (bounded out): sender = receiver, spender = owner or receiver,
 * receiver zero: the checks with those cases took minutes (see tests/forge/README.md).
 */
contract TransferTest is SymbolicToken {
    function setUp() public {
        deploy();
    }

    struct Before {
        uint256 from;
        uint256 to;
        uint256 other;
        uint256 fromFrozen;
        uint256 toFrozen;
        uint256 otherFrozen;
        uint256 otherAllowance;
        uint256 supply;
    }

    /// @dev Symbolic words for the distinct addresses among from, to, spender and other.
    function parties(address from, address to, address spender, address other) internal {
        symbolicSupply();
        symbolicAccount(from, "from");
        if (to != from) symbolicAccount(to, "to");
        if (spender != from && spender != to) symbolicAccount(spender, "spender");
        symbolicAccount(other, "other");
        store(allowanceSlot(other, spender), svm.createUint256("other.allowance"));
    }

    function snapshot(address from, address to, address spender, address other) internal view returns (Before memory b) {
        b = Before(
            word(from), word(to), word(other), load(frozenSlot(from)), load(frozenSlot(to)), load(frozenSlot(other)),
            load(allowanceSlot(other, spender)), token.totalSupply()
        );
    }

    function checkMoved(Before memory b, address from, address to, address spender, address other, uint256 amount)
        internal
        view
    {
        if (from == to) {
            assert(word(from) == b.from);
        } else {
            assert(word(from) == b.from - amount); // the balance bits only: amount <= balance
            assert(word(to) == b.to + amount); // the balance bits only: balance + amount <= supply < 2**128
            // (the whole word minus / plus the amount: with amount <= balance and balance + amount
            // < 2**128, only the balance bits differ; PackedAccountLibraryTest proves that arithmetic)
        }
        assert(load(frozenSlot(from)) == b.fromFrozen);
        assert(load(frozenSlot(to)) == b.toFrozen);
        assert(word(other) == b.other);
        assert(load(frozenSlot(other)) == b.otherFrozen);
        assert(load(allowanceSlot(other, spender)) == b.otherAllowance);
        assert(token.totalSupply() == b.supply);
    }

    address internal constant ALICE = address(0x1001);
    address internal constant BOB = address(0x1002);
    address internal constant CAROL = address(0x1003);
    address internal constant DAVE = address(0x1004);

    function check_distinctParties_transfer_succeedsIffRulesHold_andMovesExactlyTheAmount(uint256 amount) public {
        address from = ALICE;
        address to = BOB;
        parties(from, to, from, DAVE);
        bool paused = symbolicPaused();
        symbolicTime();
        Before memory b = snapshot(from, to, from, DAVE);
        bool rulesHold = both(both(!paused, to != address(0)), both(both(active(b.from), active(b.to)), amount <= unfrozen(from)));

        vm.prank(from);
        (bool ok, bytes memory result) = address(token).call(abi.encodeCall(IERC20.transfer, (to, amount)));

        assert(ok == rulesHold); // both directions
        if (ok) {
            assert(abi.decode(result, (bool)));
            checkMoved(b, from, to, from, DAVE, amount);
        }
    }

    function check_distinctParties_transferFrom_succeedsIffRulesHold_andMovesExactlyTheAmount(uint256 amount) public {
        address to = BOB;
        address spender = CAROL;
        parties(ALICE, to, spender, DAVE);
        uint256 allowance = svm.createUint256("allowance");
        store(allowanceSlot(ALICE, spender), allowance);
        bool rulesHold = both(!symbolicPaused(), amount <= allowance);
        symbolicTime();
        Before memory b = snapshot(ALICE, to, spender, DAVE);
        rulesHold = both(both(rulesHold, to != address(0)), both(active(b.from), active(b.to)));
        rulesHold = both(rulesHold, both(amount <= unfrozen(ALICE), active(word(spender))));

        vm.prank(spender);
        (bool ok, bytes memory result) = address(token).call(abi.encodeCall(IERC20.transferFrom, (ALICE, to, amount)));

        assert(ok == rulesHold); // both directions
        if (ok) {
            assert(abi.decode(result, (bool)));
            checkMoved(b, ALICE, to, spender, DAVE, amount);
            assert(token.allowance(ALICE, spender) == (allowance == type(uint256).max ? allowance : allowance - amount));
        }
    }
}
