// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Cheats} from "./Cheats.sol";

/**
 * @dev What forge's invariant runner asks of a test contract, without forge-std (not available
 * offline): it calls {targetContracts} and {targetSelectors} by signature and fuzzes only those, so a
 * handler-based test names its handler and the handler's actions. Each `invariant_*` function is
 * checked after every call; one that reverts (an `assert`, a custom error) fails the test with the
 * call sequence. Signatures as in forge-std's StdInvariant.
 */
abstract contract InvariantBase is Cheats {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    FuzzSelector[] private _targetedSelectors;

    /// @dev Fuzzes `selectors` of `handler`, and nothing else.
    function targetHandler(address handler, bytes4[] memory selectors) internal {
        _targetedContracts.push(handler);
        _targetedSelectors.push(FuzzSelector(handler, selectors));
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }
}

/**
 * @dev A handler's shared parts: bounded inputs, and a record of violations that a handler detects
 * in the middle of an action (a second settlement that succeeded, a leg that moved alone). A handler
 * must not revert to report them: the runner counts a handler's revert as a discarded call
 * (`fail_on_revert = false`), so the test's `invariant_noViolation` reads {violations} instead.
 */
abstract contract HandlerBase is Cheats {
    uint256 public violations;
    string public firstViolation;
    mapping(bytes32 action => uint256) public done; // successful calls per action, for the report

    /// @dev `x` brought into [lo, hi] (hi >= lo, hi - lo < 2^256 - 1).
    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + x % (hi - lo + 1);
    }

    function _violation(string memory what) internal {
        if (violations == 0) firstViolation = what;
        ++violations;
    }

    function _check(bool ok, string memory what) internal {
        if (!ok) _violation(what);
    }

    function _count(bytes32 action) internal {
        ++done[action];
    }
}
