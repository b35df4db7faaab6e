// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC7943Fungible} from "./IERC7943Fungible.sol";

/**
 * @title IComplianceERC20
 * @notice The deposit token's ERC-20 with an allowlist (KYC review date), whole-account freezes and
 * ERC-7943 frozen amounts ({ComplianceERC20Upgradeable}): its views, events and errors.
 */
interface IComplianceERC20 is IERC20Metadata, IERC20Errors, IERC7943Fungible {
    /// @notice The allowlist entry of `account` now expires at `kycExpiry` (0: removed).
    event AllowlistUpdated(address indexed account, uint64 kycExpiry);

    /// @notice `account` was frozen as a whole: it can neither send nor receive.
    event AccountFrozen(address indexed account);

    /// @notice `account` was unfrozen.
    event AccountUnfrozen(address indexed account);

    /// @notice The balance and restrictions of `lost` were moved to `replacement` (lost-key recovery);
    /// `lost` no longer has an allowlist entry.
    event AccountRecovered(address indexed lost, address indexed replacement, uint256 balance);

    /// @notice The zero address cannot be allowlisted, frozen or recovered to.
    error InvalidAccount(address account);

    /// @notice An allowlist expiry must lie in the future.
    error AllowlistExpiryInPast(address account, uint64 kycExpiry);

    /// @notice Allowlisting needs an expiry: zero is refused (removal is {removeFromAllowlist}).
    error AllowlistExpiryZero(address account);

    /// @notice The spender of a {transferFrom} must itself be allowlisted and not frozen.
    error SpenderNotAllowed(address spender);

    /// @notice The account is already frozen.
    error AccountAlreadyFrozen(address account);

    /// @notice The account is not frozen.
    error AccountNotFrozen(address account);

    /// @notice Recovery needs a source with an entry or balance, and a different replacement that is
    /// allowlisted (unexpired) and holds nothing: no balance, freeze or frozen amount.
    error RecoveryNotPossible(address lost, address replacement);

    /// @notice Minting `amount` would take the total supply beyond 128 bits.
    error SupplyCapExceeded(uint256 amount);

    /// @notice Two arrays given together must have the same length.
    error ArrayLengthMismatch(uint256 left, uint256 right);

    /// @notice The part of `account`'s balance that is not frozen.
    function unfrozenBalanceOf(address account) external view returns (uint256);

    /// @notice Whether `account` is on the allowlist with an entry that has not expired.
    function isAllowlisted(address account) external view returns (bool);

    /// @notice The allowlist expiry (KYC review date, unix seconds) of `account`; 0 if not listed.
    function allowlistExpiry(address account) external view returns (uint64);

    /// @notice Whether `account` is frozen as a whole.
    function isFrozen(address account) external view returns (bool);
}
