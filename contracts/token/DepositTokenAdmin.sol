// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {AccessControlUpgradeable} from "@openzeppelin/contracts-upgradeable/access/AccessControlUpgradeable.sol";
import {BankIssuanceUpgradeable} from "./extensions/BankIssuanceUpgradeable.sol";
import {IssuerIdentityUpgradeable} from "./extensions/IssuerIdentityUpgradeable.sol";
import {Iso4217} from "../utils/Iso4217.sol";
import {IERC7802} from "../interfaces/IERC7802.sol";

/**
 * @title DepositTokenAdmin
 * @notice The rarely called administration paths of {DepositToken}, kept out of the token's runtime
 * code so that the token stays well below EIP-170's 24,576 bytes: legal orders (frozen amounts,
 * forced transfers, seizures, lost-key recovery), batch allowlisting, minter rate limits, the rescue
 * of foreign tokens, the issuer's identity and the ISO 4217 minor-units table.
 *
 * @dev Each token implementation deploys its own module in its constructor and keeps the address
 * in an immutable, so nothing is linked at deployment and an upgrade brings its module along. The
 * token's function of the same name checks the caller's role and delegatecalls here with its own
 * calldata: the code runs in the token's (the proxy's) storage, through the same ERC-7201
 * namespaces and internal functions as the token's own paths ({BankIssuanceUpgradeable},
 * {ComplianceERC20Upgradeable}), and emits the token's events from the token's address. The
 * functions here refuse direct calls ({NotDelegated}); the ERC-20 functions this contract inherits
 * only ever see its own empty storage.
 */
contract DepositTokenAdmin is BankIssuanceUpgradeable, IssuerIdentityUpgradeable, AccessControlUpgradeable {
    // the token's role (DepositToken.MINTER_ROLE), granted and revoked here for {configureMinter}
    bytes32 private constant MINTER_ROLE = keccak256("MINTER_ROLE");

    using SafeERC20 for IERC20;

    address private immutable _self = address(this);

    modifier onlyDelegated() {
        if (address(this) == _self) revert NotDelegated();
        _;
    }

    /// @notice Part of {DepositToken-initialize}, which delegates here with its own calldata: records
    /// the ISO 4217 currency (three upper-case letters) and the issuer's identity; returns the
    /// currency's minor units. No other token function leads here. Refuses a token that has a currency:
    /// every version's `initialize` set one, so a proxy initialized before (such as a 1.0.0 token
    /// upgraded without its step {DepositToken-initializeAuthorizations}, still at initializer version
    /// 1, which `reinitializer(2)` alone would accept) cannot be initialized again, by anyone.
    function initialize(InitParams calldata p) external onlyDelegated returns (uint8) {
        if (_hasCurrency()) revert InvalidInitialization();
        uint8 units = Iso4217.minorUnits(Iso4217.parse(p.currency));
        _setCurrency(p.currency);
        _setIssuer(p.issuerName, p.issuerLei, p.issuerBic);
        return units;
    }

    /// @notice See {DepositToken-setIssuer}.
    function setIssuer(string calldata name_, string calldata lei, string calldata bic) external onlyDelegated {
        _setIssuer(name_, lei, bic);
    }

    // ------------------------------------------------------------------ compliance

    /// @notice See {DepositToken-allowlistBatch}.
    function allowlistBatch(address[] calldata accounts, uint64[] calldata kycExpiries) external onlyDelegated {
        if (accounts.length != kycExpiries.length) revert ArrayLengthMismatch(accounts.length, kycExpiries.length);
        for (uint256 i = 0; i < accounts.length; ++i) {
            if (kycExpiries[i] == 0) revert AllowlistExpiryZero(accounts[i]);
            _setAllowlist(accounts[i], kycExpiries[i]);
        }
    }

    /// @notice See {DepositToken-removeFromAllowlistBatch}.
    function removeFromAllowlistBatch(address[] calldata accounts) external onlyDelegated {
        for (uint256 i = 0; i < accounts.length; ++i) {
            _setAllowlist(accounts[i], 0);
        }
    }

    // ------------------------------------------------------------------ legal orders

    /// @notice See {DepositToken-setFrozenTokens}.
    function setFrozenTokens(address account, uint256 amount) external onlyDelegated returns (bool) {
        _setFrozenTokens(account, amount);
        return true;
    }

    /// @notice See {DepositToken-forcedTransfer}.
    function forcedTransfer(address from, address to, uint256 amount) external onlyDelegated returns (bool) {
        _forcedTransfer(from, to, amount);
        return true;
    }

    /// @notice See {DepositToken-seize}.
    function seize(address from, address to, uint256 amount, bytes32 legalOrderRef) external onlyDelegated {
        if (legalOrderRef == bytes32(0)) revert InvalidLegalOrderRef();
        _forcedTransfer(from, to, amount);
        emit Seized(from, to, amount, legalOrderRef);
    }

    /// @notice See {DepositToken-recoverAccount}.
    function recoverAccount(address lost, address replacement) external onlyDelegated {
        _recoverAccount(lost, replacement);
    }

    // ------------------------------------------------------------------ minters and rescue

    /// @notice See {DepositToken-crosschainMint}: within the minter's allowance and rate limit, to an
    /// account that may receive, not while paused; no deposit reference (ERC-7802 has none).
    function crosschainMint(address to, uint256 amount) external onlyDelegated {
        if (amount == 0) revert InvalidAmount();
        _spendMinterAllowance(_msgSender(), amount);
        _mint(to, amount);
        emit IERC7802.CrosschainMint(to, amount, _msgSender());
    }

    /// @notice See {DepositToken-crosschainBurn}: `from`'s own tokens, with `from`'s ERC-20 allowance to the
    /// bridge unless the bridge burns its own; `from`'s rules apply as to any transfer it sends.
    function crosschainBurn(address from, uint256 amount) external onlyDelegated {
        if (amount == 0) revert InvalidAmount();
        if (from != _msgSender()) _spendAllowance(from, _msgSender(), amount);
        _burn(from, amount, false);
        emit IERC7802.CrosschainBurn(from, amount, _msgSender());
    }

    /// @notice See {DepositToken-configureMinter}. (The minter role is not the default admin role,
    /// so the token's default-admin rules do not apply to it: plain AccessControl is the same here.)
    function configureMinter(address minter, uint256 allowance) external onlyDelegated {
        _grantRole(MINTER_ROLE, minter);
        _configureMinter(minter, allowance);
    }

    /// @notice See {DepositToken-removeMinter}: revokes the role and zeroes the allowance.
    function removeMinter(address minter) external onlyDelegated {
        if (!_revokeRole(MINTER_ROLE, minter)) revert NotAMinter(minter);
        _removeMinter(minter);
    }

    /// @notice See {DepositToken-setMinterRateLimit}.
    function setMinterRateLimit(address minter, uint256 capacity, uint256 period) external onlyDelegated {
        _setMinterRateLimit(minter, capacity, period);
    }

    /// @notice See {DepositToken-rescueERC20}.
    function rescueERC20(IERC20 token, address to, uint256 amount) external onlyDelegated {
        if (address(token) == address(this)) revert CannotRescueOwnToken();
        emit TokensRescued(address(token), to, amount);
        token.safeTransfer(to, amount);
    }

    /// @notice ERC-165: the module itself implements nothing callers should discover.
    function supportsInterface(bytes4) public pure override(AccessControlUpgradeable, IERC165) returns (bool) {
        return false;
    }
}
