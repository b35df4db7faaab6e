// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {AccessControlDefaultAdminRulesUpgradeable} from
    "@openzeppelin/contracts-upgradeable/access/extensions/AccessControlDefaultAdminRulesUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {IERC7943Fungible} from "../interfaces/IERC7943Fungible.sol";
import {IERC7802} from "../interfaces/IERC7802.sol";
import {IDepositToken} from "../interfaces/IDepositToken.sol";
import {IssuerIdentityUpgradeable} from "./extensions/IssuerIdentityUpgradeable.sol";
import {DepositTokenAdmin} from "./DepositTokenAdmin.sol";
import {BankIssuanceUpgradeable} from "./extensions/BankIssuanceUpgradeable.sol";
import {ERC20PermitUpgradeable} from "./extensions/ERC20PermitUpgradeable.sol";
import {ERC3009Upgradeable} from "./extensions/ERC3009Upgradeable.sol";

/**
 * @title DepositToken
 * @notice A commercial bank deposit as a token: one token is one minor unit of `currency()` owed by
 * the issuing bank (`issuer()`), held only by the bank's onboarded clients.
 *
 * ERC-20 + ERC-7943 (fungible) + EIP-2612 (permit) + EIP-3009 (transfer with authorization; both
 * accept ERC-1271 signatures of contract wallets, and every transfer they make follows the
 * allowlist, freeze and pause rules). The bank mints against deposits it received (each deposit
 * reference once), holders redeem (the bank pays out from the {Redeemed} event), and the bank
 * allowlists holders (with a KYC review date), freezes accounts or amounts, seizes under legal
 * orders, recovers lost keys and pauses. Deployed behind an ERC-1967 proxy (UUPS).
 *
 * Roles, each granted only to whom the deployment names:
 * - `DEFAULT_ADMIN_ROLE`: grants and revokes roles (two-step transfer with a delay), rescues
 *   foreign tokens, updates the issuer's identity;
 * - `MINTER_ADMIN_ROLE`: adds and removes minters and sets their allowances;
 * - `MINTER_ROLE`: mints against deposit references; burns tokens it holds;
 * - `COMPLIANCE_ROLE`: allowlist entries and whole-account freezes;
 * - `LEGAL_ROLE`: frozen amounts (liens), forced transfers (seizures), lost-key recovery;
 * - `PAUSER_ROLE`: pauses and unpauses transfers, mints and redemptions;
 * - `UPGRADER_ROLE`: upgrades the implementation.
 *
 * While paused, compliance and legal orders (freezes, liens, seizures, recovery) and the bank's
 * burns still work.
 *
 * Code size: the rarely called administration paths (legal orders, recovery, batch allowlisting,
 * minter rate limits, rescue, the ISO 4217 table) run in a {DepositTokenAdmin} module that each
 * implementation deploys in its constructor; the functions here check the role and delegatecall it
 * (see {DepositTokenAdmin}). The transfer paths and every view stay in this contract.
 *
 * Interfaces: {IDepositToken} is this contract as others call it; its events and errors are declared
 * in the per-module interfaces it builds on ({IComplianceERC20}, {IBankIssuance}, {IDepositTokenAdmin},
 * {IERC20PermitBytes}, {IERC3009Bytes}), which the modules implement.
 */
contract DepositToken is
    IDepositToken,
    BankIssuanceUpgradeable,
    ERC20PermitUpgradeable,
    ERC3009Upgradeable,
    AccessControlDefaultAdminRulesUpgradeable,
    UUPSUpgradeable,
    IssuerIdentityUpgradeable
{
    bytes32 public constant MINTER_ADMIN_ROLE = keccak256("MINTER_ADMIN_ROLE");
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    bytes32 public constant COMPLIANCE_ROLE = keccak256("COMPLIANCE_ROLE");
    bytes32 public constant LEGAL_ROLE = keccak256("LEGAL_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    bytes32 public constant UPGRADER_ROLE = keccak256("UPGRADER_ROLE");

    /// @notice Pass as `InitParams.decimals` to use the currency's ISO 4217 minor units.
    uint8 public constant USE_CURRENCY_DECIMALS = type(uint8).max;

    /// @dev This implementation's {DepositTokenAdmin}, run by delegatecall (no storage of its own).
    address private immutable _admin;

    /// @custom:oz-upgrades-unsafe-allow constructor state-variable-immutable
    constructor() {
        _disableInitializers();
        _admin = address(new DepositTokenAdmin());
    }

    /// @notice Sets up the token behind its proxy; callable once.
    /// @dev Initializer versions: 1 was a token deployed as 1.0.0; 2 is 1.1.0, whether deployed as such
    /// (here) or upgraded from 1.0.0 by {initializeAuthorizations}. A token deployed as 1.1.0 therefore
    /// starts at version 2 and has no use for that upgrade step. The next migration takes `reinitializer(3)`.
    /// @param p Names, currency, issuer identity, admin delay and the holders of each role.
    function initialize(InitParams calldata p) external reinitializer(2) {
        // currency (validated), its ISO 4217 minor units and the issuer's identity: in the admin module
        uint8 decimals_ = abi.decode(
            _delegate(msg.data), // DepositTokenAdmin.initialize: the same parameters
            (uint8)
        );
        if (p.decimals != USE_CURRENCY_DECIMALS) decimals_ = p.decimals;
        __ComplianceERC20_init(p.name, p.symbol, decimals_);
        __EIP712_init(p.name, "1");
        __AccessControlDefaultAdminRules_init(p.adminTransferDelay, p.admin);
        __Pausable_init();

        _setRoleAdmin(MINTER_ROLE, MINTER_ADMIN_ROLE);
        _grantIfSet(MINTER_ADMIN_ROLE, p.minterAdmin);
        _grantIfSet(COMPLIANCE_ROLE, p.compliance);
        _grantIfSet(LEGAL_ROLE, p.legal);
        _grantIfSet(PAUSER_ROLE, p.pauser);
        _grantIfSet(UPGRADER_ROLE, p.upgrader);
    }

    /// @notice Upgrade step for a token deployed as 1.0.0 (before permits and transfer
    /// authorizations): sets up the EIP-712 domain they are signed under (the token's name, version
    /// "1"). Call it through `upgradeToAndCall`; it runs once, and only on a token at initializer version 1
    /// (deployed as 1.0.0): a token deployed as 1.1.0 is at version 2 already. Upgrader only.
    function initializeAuthorizations() external reinitializer(2) onlyRole(UPGRADER_ROLE) {
        __EIP712_init(name(), "1");
    }

    // ------------------------------------------------------------------ identity

    /// @notice The version of this implementation.
    function version() external pure virtual returns (string memory) {
        return "1.1.0";
    }

    /// @notice Updates the issuing bank's identity (e.g. after a merger). Admin only.
    function setIssuer(string calldata name_, string calldata lei, string calldata bic)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        (name_, lei, bic); // run by the module, from the calldata
        _delegateToAdmin();
    }

    // ------------------------------------------------------------------ minting and burning

    /// @notice Makes `minter` a minter that may mint up to `allowance` (overwrites its allowance).
    function configureMinter(address minter, uint256 allowance) external onlyRole(MINTER_ADMIN_ROLE) {
        (minter, allowance); // run by the module, from the calldata
        _delegateToAdmin();
    }

    /// @notice Limits `minter` to `capacity` per `period` seconds besides its allowance, refilling
    /// linearly (full now); capacity 0 and period 0 lift the limit. A compromised minter key can then
    /// mint at most `capacity` before the minter admin removes it, whatever its allowance.
    function setMinterRateLimit(address minter, uint256 capacity, uint256 period)
        external
        onlyRole(MINTER_ADMIN_ROLE)
    {
        (minter, capacity, period); // run by the module, from the calldata
        _delegateToAdmin();
    }

    /// @notice Removes `minter`: revokes its role and zeroes its allowance.
    function removeMinter(address minter) external onlyRole(MINTER_ADMIN_ROLE) {
        minter; // run by the module, from the calldata
        _delegateToAdmin();
    }

    /// @notice Mints `amount` (minor units) to `to` against the bank's deposit reference `depositRef`.
    /// @dev Reverts if the reference was used before, beyond the caller's allowance, if `to` may not
    /// receive, or while paused.
    function mint(address to, uint256 amount, bytes32 depositRef) external onlyRole(MINTER_ROLE) {
        _mintAgainstDeposit(_msgSender(), to, amount, depositRef);
    }

    /// @notice Burns `amount` of the caller's own tokens (the bank's holdings), recorded under
    /// `burnRef` (non-zero, usable once).
    function burn(uint256 amount, bytes32 burnRef) external onlyRole(MINTER_ROLE) {
        _bankBurn(_msgSender(), amount, burnRef);
    }

    /// @notice ERC-7802: mints `amount` to `to` for a transfer from another chain, by a bridge the bank made
    /// a minter (its allowance and rate limit spent as by {mint}); `to` must be able to receive, and not
    /// while paused. No deposit reference: the bank's own messenger mints with {mint} and the message id.
    function crosschainMint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        (to, amount); // run by the module, from the calldata
        _delegateToAdmin();
    }

    /// @notice ERC-7802: burns `amount` of `from`'s tokens for a transfer to another chain, by a bridge the
    /// bank made a minter, with `from`'s ERC-20 allowance to it (unless it burns its own): a bridge burns
    /// nobody's tokens without their consent. `from` must be able to send, and not while paused.
    function crosschainBurn(address from, uint256 amount) external onlyRole(MINTER_ROLE) {
        (from, amount); // run by the module, from the calldata
        _delegateToAdmin();
    }

    /// @notice Redeems `amount` of the caller's tokens: burns them and emits {Redeemed}, from which
    /// the bank pays out under `payoutRef` (non-zero, usable once per holder).
    function redeem(uint256 amount, bytes32 payoutRef) external {
        _redeem(_msgSender(), amount, payoutRef);
    }

    // ------------------------------------------------------------------ allowlist and freezes

    /// @notice Allowlists `account` until `kycExpiry` (unix seconds, in the future), or renews it.
    function allowlist(address account, uint64 kycExpiry) external onlyRole(COMPLIANCE_ROLE) {
        if (kycExpiry == 0) revert AllowlistExpiryZero(account);
        _setAllowlist(account, kycExpiry);
    }

    /// @notice Allowlists each `accounts[i]` until `kycExpiries[i]`.
    function allowlistBatch(address[] calldata accounts, uint64[] calldata kycExpiries)
        external
        onlyRole(COMPLIANCE_ROLE)
    {
        (accounts, kycExpiries); // run by the module, from the calldata
        _delegateToAdmin();
    }

    /// @notice Removes `account` from the allowlist (offboarding). Its balance stays, immobile.
    function removeFromAllowlist(address account) external onlyRole(COMPLIANCE_ROLE) {
        _setAllowlist(account, 0);
    }

    /// @notice Removes each of `accounts` from the allowlist.
    function removeFromAllowlistBatch(address[] calldata accounts) external onlyRole(COMPLIANCE_ROLE) {
        accounts; // run by the module, from the calldata
        _delegateToAdmin();
    }

    /// @notice Freezes `account` as a whole (sanctions): it can neither send nor receive.
    function freezeAccount(address account) external onlyRole(COMPLIANCE_ROLE) {
        _setAccountFrozen(account, true);
    }

    /// @notice Lifts the whole-account freeze of `account`.
    function unfreezeAccount(address account) external onlyRole(COMPLIANCE_ROLE) {
        _setAccountFrozen(account, false);
    }

    // ------------------------------------------------------------------ legal orders

    /// @notice Sets the frozen amount (lien) of `account`; it may exceed the balance. ERC-7943.
    function setFrozenTokens(address account, uint256 amount) external onlyRole(LEGAL_ROLE) returns (bool) {
        (account, amount); // run by the module, from the calldata
        _delegateToAdmin();
    }

    /// @notice Moves `amount` from `from` to `to` whatever `from`'s restrictions; `to` must be able
    /// to receive. Frozen tokens taken are released first. ERC-7943.
    function forcedTransfer(address from, address to, uint256 amount) external onlyRole(LEGAL_ROLE) returns (bool) {
        (from, to, amount); // run by the module, from the calldata
        _delegateToAdmin();
    }

    /// @notice {forcedTransfer} under the legal order `legalOrderRef`, recorded in a {Seized} event.
    function seize(address from, address to, uint256 amount, bytes32 legalOrderRef) external onlyRole(LEGAL_ROLE) {
        (from, to, amount, legalOrderRef); // run by the module, from the calldata
        _delegateToAdmin();
    }

    /// @notice Lost-key recovery: moves the balance and restrictions (freeze, frozen amount) of `lost`
    /// to `replacement`, a fresh address of the same client that compliance has already allowlisted,
    /// and removes `lost` from the allowlist. Legal executes what compliance onboarded: two parties.
    function recoverAccount(address lost, address replacement) external onlyRole(LEGAL_ROLE) {
        (lost, replacement); // run by the module, from the calldata
        _delegateToAdmin();
    }

    // ------------------------------------------------------------------ pause, rescue, upgrade

    /// @notice Stops transfers, mints and redemptions.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Resumes transfers, mints and redemptions.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /// @notice Returns foreign ERC-20 tokens sent to this contract by mistake. Admin only.
    function rescueERC20(IERC20 token, address to, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        (token, to, amount); // run by the module, from the calldata
        _delegateToAdmin();
    }

    /// @notice ERC-165: ERC-20, ERC-7943 (fungible), ERC-7802 and AccessControl.
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(AccessControlDefaultAdminRulesUpgradeable, IERC165)
        returns (bool)
    {
        return interfaceId == type(IERC7943Fungible).interfaceId || interfaceId == type(IERC20).interfaceId
            || interfaceId == type(IERC7802).interfaceId || super.supportsInterface(interfaceId);
    }

    /// @notice The next permit nonce of `owner`.
    /// @dev {IERC20Permit-nonces} reaches this contract through {IDepositToken} as well as through
    /// {ERC20PermitUpgradeable}, so the compiler asks for it to be named here; the same function.
    function nonces(address owner) public view override(ERC20PermitUpgradeable, IERC20Permit) returns (uint256) {
        return super.nonces(owner);
    }

    // ------------------------------------------------------------------ internal

    function _authorizeUpgrade(address) internal override onlyRole(UPGRADER_ROLE) {}

    /// @dev However the minter role is lost (removeMinter, revokeRole, renounceRole), its allowance
    /// goes with it, so that granting the role again never revives an old allowance.
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (revoked && role == MINTER_ROLE) _removeMinter(account);
    }

    /// @dev Runs the call's own calldata in {DepositTokenAdmin} (in this contract's storage) and
    /// returns or reverts with what it returned; does not return to the caller's code.
    function _delegateToAdmin() private {
        address admin = _admin;
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), admin, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    /// @dev Delegatecalls {DepositTokenAdmin} with `data`; returns its return data, bubbles its revert.
    function _delegate(bytes memory data) private returns (bytes memory result) {
        bool ok;
        (ok, result) = _admin.delegatecall(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }

    function _grantIfSet(bytes32 role, address account) private {
        if (account != address(0)) _grantRole(role, account);
    }
}
