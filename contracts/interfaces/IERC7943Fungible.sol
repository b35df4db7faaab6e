// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/// @title ERC-7943 (uRWA) interface for ERC-20 based tokens
/// @notice Compliance checks, frozen amounts and forced transfers for real-world-asset tokens.
/// @dev ERC-165 interface id: 0x3edbb4c4.
interface IERC7943Fungible is IERC165 {
    /// @notice Tokens were taken from `from` and given to `to` by an authorised party.
    event ForcedTransfer(address indexed from, address indexed to, uint256 amount);

    /// @notice The frozen amount of `account` is now `amount`.
    event Frozen(address indexed account, uint256 amount);

    /// @notice `account` may not send tokens.
    error ERC7943CannotSend(address account);

    /// @notice `account` may not receive tokens.
    error ERC7943CannotReceive(address account);

    /// @notice The transfer is not allowed by the token's rules.
    error ERC7943CannotTransfer(address from, address to, uint256 amount);

    /// @notice `amount` is within the balance of `account` but above its unfrozen part `unfrozen`.
    error ERC7943InsufficientUnfrozenBalance(address account, uint256 amount, uint256 unfrozen);

    /// @notice Moves `amount` from `from` to `to` regardless of `from`'s restrictions.
    /// @return result True on success; reverts otherwise.
    function forcedTransfer(address from, address to, uint256 amount) external returns (bool result);

    /// @notice Sets the frozen amount of `account` (may exceed its balance).
    /// @return result True on success; reverts otherwise.
    function setFrozenTokens(address account, uint256 amount) external returns (bool result);

    /// @notice Whether `account` is currently allowed to send tokens.
    function canSend(address account) external view returns (bool allowed);

    /// @notice Whether `account` is currently allowed to receive tokens.
    function canReceive(address account) external view returns (bool allowed);

    /// @notice The amount of `account`'s tokens that is frozen (may exceed its balance).
    function getFrozenTokens(address account) external view returns (uint256 amount);

    /// @notice Whether a transfer of `amount` from `from` to `to` is allowed now by the token's rules.
    function canTransfer(address from, address to, uint256 amount) external view returns (bool allowed);
}
