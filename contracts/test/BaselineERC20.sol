// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test and benchmark only: a plain OpenZeppelin ERC-20 (no proxy, no compliance) with
/// open minting. The gas baseline, and a "foreign token" for rescue tests.
contract BaselineERC20 is ERC20 {
    constructor() ERC20("Baseline", "BASE") {}

    /// @notice Mints `amount` to `to`; anyone may call (test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
