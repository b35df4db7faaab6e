// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IBankIssuance
 * @notice The issuing bank's side of the deposit token ({BankIssuanceUpgradeable}): minters with
 * allowances and rate limits, once-only deposit, payout and burn references; its views, events and
 * errors.
 */
interface IBankIssuance {
    /// @notice `minter` may now mint up to `allowance` more.
    event MinterConfigured(address indexed minter, uint256 allowance);

    /// @notice `minter` may mint at most `capacity` within any `period` seconds, besides its allowance
    /// (what it may mint refills linearly over the period, up to `capacity`); capacity 0 lifts the limit.
    event MinterRateLimitSet(address indexed minter, uint256 capacity, uint256 period);

    /// @notice `minter` was removed; its allowance is zero.
    event MinterRemoved(address indexed minter);

    /// @notice `minter` minted `amount` to `to` against the bank's deposit `depositRef`.
    event Minted(address indexed minter, address indexed to, uint256 amount, bytes32 indexed depositRef);

    /// @notice `account` redeemed `amount`; the bank pays it out under `payoutRef`.
    event Redeemed(address indexed account, uint256 amount, bytes32 indexed payoutRef);

    /// @notice The bank burned `amount` it held at `account`, recorded under `burnRef`.
    event Burned(address indexed account, uint256 amount, bytes32 indexed burnRef);

    /// @notice The deposit reference was already used for a mint.
    error DepositReferenceUsed(bytes32 depositRef);

    /// @notice `account` already used the payout reference for a redemption.
    error PayoutReferenceUsed(address account, bytes32 payoutRef);

    /// @notice The burn reference was already used.
    error BurnReferenceUsed(bytes32 burnRef);

    /// @notice Deposit, payout and burn references must be non-zero.
    error InvalidReference();

    /// @notice Amounts must be non-zero.
    error InvalidAmount();

    /// @notice The minter's remaining allowance is below the amount.
    error MinterAllowanceExceeded(address minter, uint256 allowance, uint256 amount);

    /// @notice A rate limit needs a capacity below 2**128 and a period of 1 to 2**64 - 1 seconds
    /// (capacity 0, no limit, needs period 0).
    error InvalidRateLimit(uint256 capacity, uint256 period);

    /// @notice The minter's rate limit leaves `available` to mint now, below `amount`.
    error MinterRateLimitExceeded(address minter, uint256 available, uint256 amount);

    /// @notice How much `minter` may still mint.
    function minterAllowance(address minter) external view returns (uint256);

    /// @notice The rate limit of `minter`: at most `capacity` per `period` seconds, of which
    /// `available` may be minted now (all zero: no rate limit, only the allowance applies).
    function minterRateLimitOf(address minter) external view returns (uint256 capacity, uint256 period, uint256 available);

    /// @notice Whether `depositRef` has been used for a mint.
    function isDepositRefUsed(bytes32 depositRef) external view returns (bool);

    /// @notice Whether `account` has used `payoutRef` for a redemption (payout references are per holder).
    function isPayoutRefUsed(address account, bytes32 payoutRef) external view returns (bool);

    /// @notice Whether `burnRef` has been used for a bank burn.
    function isBurnRefUsed(bytes32 burnRef) external view returns (bool);
}
