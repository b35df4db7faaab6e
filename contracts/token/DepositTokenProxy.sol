// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

/**
 * @title DepositTokenProxy
 * @notice The address integrators use: an unmodified OpenZeppelin ERC-1967 proxy in front of a
 * {DepositToken} implementation (UUPS: upgrades go through the implementation's `upgradeToAndCall`).
 */
contract DepositTokenProxy is ERC1967Proxy {
    /// @param implementation The {DepositToken} implementation.
    /// @param initData The ABI-encoded `initialize` call.
    constructor(address implementation, bytes memory initData) ERC1967Proxy(implementation, initData) {}
}
