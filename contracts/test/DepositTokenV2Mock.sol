// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {DepositToken} from "../token/DepositToken.sol";

/// @notice Test only: a next implementation used to show that an upgrade keeps all state.
contract DepositTokenV2Mock is DepositToken {
    /// @notice The version of this implementation.
    function version() external pure override returns (string memory) {
        return "2.0.0-test";
    }
}
