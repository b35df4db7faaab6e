// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC7802} from "./IERC7802.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";
import {IERC5313} from "@openzeppelin/contracts/interfaces/IERC5313.sol";
import {IAccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/IAccessControlDefaultAdminRules.sol";
import {IComplianceERC20} from "./IComplianceERC20.sol";
import {IBankIssuance} from "./IBankIssuance.sol";
import {IERC20PermitBytes} from "./IERC20PermitBytes.sol";
import {IERC3009Bytes} from "./IERC3009Bytes.sol";
import {IDepositTokenAdmin} from "./IDepositTokenAdmin.sol";

/**
 * @title IDepositToken
 * @notice The deposit token as integrators and other contracts (the settlement contracts) call it:
 * ERC-20 with allowlist and freezes ({IComplianceERC20}, ERC-7943), issuance ({IBankIssuance}),
 * EIP-2612 and EIP-3009 with `bytes` signatures ({IERC20PermitBytes}, {IERC3009Bytes}), roles
 * ({IAccessControlDefaultAdminRules}; {IERC5313}'s `owner()` is the default admin), the issuer's
 * administration ({IDepositTokenAdmin}) and the token's own entry points below. The token's events
 * and errors are declared in these interfaces, as OpenZeppelin keeps errors in interfaces, so every
 * caller that imports this one can decode them.
 *
 * Not declared here (OpenZeppelin's, without an interface to build on): `DEFAULT_ADMIN_ROLE()`,
 * `paused()` and its events and errors, `upgradeToAndCall`, `proxiableUUID`,
 * `UPGRADE_INTERFACE_VERSION`, the one-time initializers (`initialize`, `initializeAuthorizations`),
 * and the errors of OpenZeppelin's libraries (ERC-1967, UUPS, nonces, SafeCast, Address).
 */
interface IDepositToken is
    IAccessControlDefaultAdminRules,
    IERC5313,
    IComplianceERC20,
    IBankIssuance,
    IERC5267,
    IERC20PermitBytes,
    IERC3009Bytes,
    IDepositTokenAdmin,
    IERC7802
{
    /// @notice The role that adds and removes minters and sets their allowances and rate limits.
    function MINTER_ADMIN_ROLE() external view returns (bytes32);

    /// @notice The role that mints against deposit references and burns the bank's holdings.
    function MINTER_ROLE() external view returns (bytes32);

    /// @notice The role that keeps the allowlist and freezes whole accounts.
    function COMPLIANCE_ROLE() external view returns (bytes32);

    /// @notice The role that sets frozen amounts, seizes and recovers lost keys.
    function LEGAL_ROLE() external view returns (bytes32);

    /// @notice The role that pauses and unpauses.
    function PAUSER_ROLE() external view returns (bytes32);

    /// @notice The role that upgrades the implementation.
    function UPGRADER_ROLE() external view returns (bytes32);

    /// @notice `InitParams.decimals` that means the currency's ISO 4217 minor units.
    function USE_CURRENCY_DECIMALS() external view returns (uint8);

    /// @notice The version of the implementation.
    function version() external view returns (string memory);

    /// @notice Updates the issuing bank's identity. Admin only.
    function setIssuer(string calldata name_, string calldata lei, string calldata bic) external;

    /// @notice Makes `minter` a minter that may mint up to `allowance` (overwrites its allowance).
    function configureMinter(address minter, uint256 allowance) external;

    /// @notice Limits `minter` to `capacity` per `period` seconds besides its allowance (0, 0: no limit).
    function setMinterRateLimit(address minter, uint256 capacity, uint256 period) external;

    /// @notice Removes `minter`: revokes its role and zeroes its allowance.
    function removeMinter(address minter) external;

    /// @notice Mints `amount` (minor units) to `to` against the bank's deposit reference `depositRef`.
    function mint(address to, uint256 amount, bytes32 depositRef) external;

    /// @notice Burns `amount` of the caller's own tokens, recorded under `burnRef` (non-zero, usable once).
    function burn(uint256 amount, bytes32 burnRef) external;

    /// @notice Redeems `amount` of the caller's tokens; the bank pays out under `payoutRef`.
    function redeem(uint256 amount, bytes32 payoutRef) external;

    /// @notice Allowlists `account` until `kycExpiry` (unix seconds, in the future), or renews it.
    function allowlist(address account, uint64 kycExpiry) external;

    /// @notice Allowlists each `accounts[i]` until `kycExpiries[i]`.
    function allowlistBatch(address[] calldata accounts, uint64[] calldata kycExpiries) external;

    /// @notice Removes `account` from the allowlist (offboarding). Its balance stays, immobile.
    function removeFromAllowlist(address account) external;

    /// @notice Removes each of `accounts` from the allowlist.
    function removeFromAllowlistBatch(address[] calldata accounts) external;

    /// @notice Freezes `account` as a whole (sanctions): it can neither send nor receive.
    function freezeAccount(address account) external;

    /// @notice Lifts the whole-account freeze of `account`.
    function unfreezeAccount(address account) external;

    /// @notice {forcedTransfer} under the legal order `legalOrderRef`, recorded in a {Seized} event.
    function seize(address from, address to, uint256 amount, bytes32 legalOrderRef) external;

    /// @notice Lost-key recovery: moves the balance and restrictions of `lost` to `replacement`.
    function recoverAccount(address lost, address replacement) external;

    /// @notice Stops transfers, mints and redemptions.
    function pause() external;

    /// @notice Resumes transfers, mints and redemptions.
    function unpause() external;

    /// @notice Returns foreign ERC-20 tokens sent to this contract by mistake. Admin only.
    function rescueERC20(IERC20 token, address to, uint256 amount) external;
}
