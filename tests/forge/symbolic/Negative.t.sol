// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {PackedAccount} from "../../../contracts/utils/PackedAccount.sol";
import {SymbolicToken} from "./SymbolicToken.sol";

/**
 * @dev Deliberately wrong properties that halmos must refute (tests/contracts/test_halmos.py expects a
 * counterexample for each): the proofs' set-up can fail, it does not pass whatever is asserted.
 */
contract NegativeTest is SymbolicToken {
    using PackedAccount for uint256;

    function setUp() public {
        deploy();
    }

    /// @dev Wrong: withKycExpiry changes the expiry bits (above bit 128).
    function check_refuted_withKycExpiry_keepsTheWholeWord(uint256 w, uint64 expiry) public pure {
        assert(w.withKycExpiry(expiry) >> 129 == w >> 129);
    }

    /// @dev Wrong: the rule of {TransferTest} without the frozen amount (a lien does block a transfer).
    function check_refuted_transfer_ignoresTheFrozenAmount(uint256 amount) public {
        address from = address(0x1001);
        address to = address(0x1002);
        symbolicSupply();
        uint256 wf = symbolicAccount(from, "from");
        uint256 wt = symbolicAccount(to, "to");
        bool paused = symbolicPaused();
        symbolicTime();
        bool rules = both(both(!paused, active(wf)), both(active(wt), amount <= wf & BALANCE_MASK));
        vm.prank(from);
        (bool ok,) = address(token).call(abi.encodeCall(IERC20.transfer, (to, amount)));
        assert(ok == rules);
    }
}
